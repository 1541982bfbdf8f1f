"""Property-based tests of the REST API from its own OpenAPI document (schemathesis).

Schemathesis generates requests for every operation in ``/api/v1/openapi.json``
(valid and invalid parameters and bodies) and sends them through the ASGI app
over a copy of the export test store. Every response must not be a server
error and must match what the document declares (status codes, content types,
response bodies). Write endpoints are called without a key (401 from the
documented error model), so no generated URL is ever fetched.
"""
from __future__ import annotations

import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from fixtures_export import copy_store, export_db  # noqa: F401  (fixture)
from incidex.serve.app import create_app
from schemathesis.specs.openapi.checks import positive_data_acceptance


@pytest.fixture(scope="module")
def api_schema(export_db, tmp_path_factory):
    db = copy_store(export_db, tmp_path_factory.mktemp("schema") / "schema.db")
    app = create_app(db)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    app.state.store.close()


def _inverted_range(query) -> bool:
    from incidex.validate import inverted_range

    return bool(query) and inverted_range(query.get("since"), query.get("until"))


def test_api_conforms_to_its_openapi_document(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/incidents", "/api/v1/articles", "/api/v1/stats",
                                                 "/api/v1/export", "/api/v1/extract"}
    for op in operations:
        # extraction runs the NLP pipeline on every generated text: fewer examples there
        examples = 12 if op.path == "/api/v1/extract" else 40

        # whether a text holds an article is not something a schema can say: a valid body whose
        # text has none is a 422 there; every other operation must accept every valid request
        excluded = [positive_data_acceptance] if op.method.upper() == "POST" else []

        @given(case=op.as_strategy())
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # since after until is a 422 (incidex.validate) that no JSON schema can express
            inverted = _inverted_range(case.query)
            case.validate_response(case.call(), excluded_checks=excluded + ([positive_data_acceptance]
                                                                             if inverted else []))

        check()
