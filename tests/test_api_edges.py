"""Edges of the REST API found by fuzzing it (issue 16): what a server must not answer with a 500.

* a NUL byte in a text parameter is a 422 naming the field (SQLite's full-text
  parser read it as an unterminated string; PostgreSQL refuses it in any text);
* a length limit counts the characters sent, before whitespace is stripped;
* a 405 lists in ``Allow`` every method the path answers, not only those of
  the first route on it;
* every status an operation can answer is in the OpenAPI document.
"""
from __future__ import annotations

import warnings

import pytest

from fixtures_export import copy_store, export_db  # noqa: F401  (fixture)
from incidex.serve.app import create_app
from incidex.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(export_db, tmp_path_factory):
    db = copy_store(export_db, tmp_path_factory.mktemp("edges") / "edges.db")
    with TestClient(create_app(db), raise_server_exceptions=False) as c:
        yield c


NUL_QUERIES = [
    ("/api/v1/incidents", "q"), ("/api/v1/incidents", "actor"), ("/api/v1/incidents", "victim"),
    ("/api/v1/search", "q"), ("/api/v1/articles", "q"), ("/api/v1/articles", "source"), ("/api/v1/stats", "q"),
    ("/api/v1/export", "q"), ("/api/v1/actors", "q"), ("/api/v1/victims", "q"),
]


@pytest.mark.parametrize("path,field", NUL_QUERIES, ids=[f"{p}?{f}" for p, f in NUL_QUERIES])
def test_a_nul_in_a_text_parameter_is_a_422_naming_it(client, path, field):
    r = client.get(f"{path}?{field}=x%00y")
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == f"{field}: contains a NUL character (%00) at position 2; remove it"


@pytest.mark.parametrize("path", ["/api/v1/incidents/x%00", "/api/v1/actors/x%00", "/api/v1/articles/x%00"])
def test_a_nul_in_a_path_id_is_a_422(client, path):
    r = client.get(path)
    assert r.status_code == 422 and "contains a NUL character" in r.json()["detail"]


def test_the_web_ui_refuses_a_nul_with_its_400_page(client):
    r = client.get("/?q=x%00")
    assert r.status_code == 400 and "NUL" in r.text


def test_the_store_reads_a_nul_in_a_query_as_a_space(export_db, tmp_path):
    """The library below the API, for callers that pass text straight through (both backends)."""
    store = open_store(copy_store(export_db, tmp_path / "nul.db"))
    try:
        plain = [d["id"] for d in store.list_incident_docs(query="ransomware attack")]
        assert plain and [d["id"] for d in store.list_incident_docs(query="ransomware\x00attack")] == plain
        assert store.list_articles(query="\x00") is not None
    finally:
        store.close()


@pytest.mark.parametrize("path,limit", [("/api/v1/incidents", 500), ("/api/v1/search", 500),
                                        ("/api/v1/articles", 500), ("/api/v1/actors", 200)])
def test_length_limits_count_the_raw_value(client, path, limit):
    padded = "ab" + "\f" * (limit + 100)  # two characters once stripped
    r = client.get(path, params={"q": padded})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == f"q: {limit + 102} characters; at most {limit}"
    assert client.get(path, params={"q": "ab" + "\f" * (limit - 2)}).status_code == 200


STORY = "The Brackenford Water Company said a ransomware attack encrypted its billing servers on Monday."


@pytest.mark.parametrize("body,message", [
    ({"text": STORY, "title": "ab" + "\f" * 1100}, "title: 1102 characters; at most 1000"),
    ({"text": STORY, "source": " " * 201}, "source: 201 characters; at most 200"),
    ({"text": " \n\t"}, "text: is empty or only whitespace; give some text"),
])
def test_body_fields_are_checked_as_sent_too(client, body, message):
    r = client.post("/api/v1/extract", json=body)
    assert r.status_code == 422 and r.json()["detail"] == message


def test_article_text_may_hold_a_nul_its_readers_drop(client):
    r = client.post("/api/v1/extract", json={"text": STORY + "\x00", "title": "Water\x00 utility"})
    assert r.status_code == 200 and r.json()["article"]["title"] == "Water utility"


@pytest.mark.parametrize("q", [" ", "\f\t\n", "\x1c"])
def test_a_required_text_of_whitespace_is_refused_as_such(client, q):
    """``/search`` needs a ``q``: one of whitespace only (as Python strips it) is a 422 that says so, as the
    OpenAPI document's pattern does, not a 422 about a length of 0 that the document allows."""
    r = client.get("/api/v1/search", params={"q": q})
    assert r.status_code == 422 and r.json()["detail"] == "q: is empty or only whitespace; give some text"
    assert client.get("/api/v1/search", params={"q": q + "x"}).status_code == 200


@pytest.mark.parametrize("method,path,allow", [
    ("PUT", "/api/v1/articles", "GET, POST"),
    ("DELETE", "/api/v1/articles", "GET, POST"),
    ("PATCH", "/api/v1/alerts", "GET, POST"),
    ("POST", "/api/v1/alerts/some-alert", "GET, DELETE"),
    ("DELETE", "/api/v1/incidents", "GET"),
    ("GET", "/api/v1/extract", "POST"),
    ("PUT", "/taxii2/incidex/collections/incidents/objects/", "GET, POST"),
    ("DELETE", f"/taxii2/incidex/collections/{'0' * 8}/objects/", "GET, POST"),
    ("POST", "/taxii2/incidex/collections/", "GET"),
])
def test_405_lists_every_method_of_the_path(client, method, path, allow):
    r = client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    body = r.json()
    assert allow in (body.get("detail") or body.get("description"))


def test_every_answerable_status_is_documented(client):
    """401 (reads closed), 413 (body too large) and 422 on every API operation; 404 where an id is read;
    400, 404 and 406 on every TAXII operation and 308 where the collection alias can be given."""
    doc = client.get("/api/v1/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            if path.startswith("/api/v1"):
                assert {"401", "413", "422"} <= codes, (method, path, codes)
                if "{" in path:
                    assert "404" in codes, (method, path)
            elif path == "/health":
                assert {"400", "413"} <= codes
            elif path.startswith("/taxii2"):
                assert {"400", "404", "406", "4XX"} <= codes and "422" not in codes, (method, path, codes)
                if "{collection_id}" in path:
                    assert "308" in codes, (method, path)


# ----------------------------------------------------------------- scripts/fuzz_api.py

def _script(name: str):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Response:
    def __init__(self, status_code: int, body: dict):
        self.status_code, self._body = status_code, body

    def json(self):
        return self._body


class _Case:
    def __init__(self, method: str, path: str, query: dict | None = None):
        self.method, self.path, self.query = method, path, query


def test_the_fuzzer_lets_through_only_the_right_refusals():
    hooks = _script("fuzz_api_hooks")
    inverted = _Case("GET", "/api/v1/incidents", {"since": "2000-01-01", "until": "1000"})
    assert hooks.expected_refusal(inverted, _Response(422, {"detail": "since: 2000-01-01 is after until 1000; swap "
                                                            "them or widen the range"}))
    no_article = _Case("POST", "/api/v1/extract")
    assert hooks.expected_refusal(no_article, _Response(422, {"detail": "cannot read the article: HTML page has no "
                                                              "article text"}))
    no_date = {"loc": ["body", "published"], "msg": "Value error, published: 'x' is not a date; use ISO 8601"}
    assert hooks.expected_refusal(no_article, _Response(422, {"detail": "published: 'x' is not a date",
                                                              "errors": [no_date]}))
    objects = "/taxii2/incidex/collections/{collection_id}/objects/"
    bad_next = {"title": "Bad Request", "http_status": "400", "description": "invalid 'next' value"}
    assert hooks.expected_refusal(_Case("GET", objects, {"next": "AAAA"}), _Response(400, bad_next))
    assert not hooks.expected_refusal(_Case("GET", objects, {"limit": 2}), _Response(400, bad_next))
    assert not hooks.expected_refusal(_Case("GET", objects, {"next": "AAAA"}),
                                      _Response(400, {**bad_next, "description": "invalid added_after"}))
    # everything else stands: another validation error, another operation, another status, a range in order
    other = {"loc": ["body", "title"], "msg": "String should have at most 1000 characters"}
    assert not hooks.expected_refusal(no_article, _Response(422, {"detail": "?", "errors": [no_date, other]}))
    assert not hooks.expected_refusal(_Case("POST", "/api/v1/articles"), _Response(422, {"detail": "cannot read the "
                                                                                         "article"}))
    assert not hooks.expected_refusal(inverted, _Response(500, {"detail": "is after until"}))
    assert not hooks.expected_refusal(_Case("GET", "/api/v1/incidents", {"since": "1000", "until": "2000"}),
                                      _Response(422, {"detail": "q: too long"}))


def test_the_fuzzer_reads_schemathesis_counts():
    fuzz = _script("fuzz_api")
    assert fuzz.counts("Test cases:\n  6579 generated, 6579 passed\n") == (6579, 0)
    assert fuzz.counts("Test cases:\n  3335 generated, 5 found 5 unique failures\n") == (3335, 5)
    assert fuzz.counts("Error: no such option") == (0, 0)


@pytest.mark.parametrize("path", ["/incidents/x%00", "/articles/x%00", "/actors/x%00", "/feeds/x%00.atom",
                                  "/actors?q=x%00", "/victims?q=x%00", "/stats?q=x%00", "/api/v1/alerts/x%00",
                                  "/taxii2/incidex/collections/x%00/objects/",
                                  f"/taxii2/incidex/collections/{'43a220c1-afd7-5ed2-87a4-b32fafcb76fb'}/objects/x%00/"])
def test_no_nul_anywhere_is_a_server_error(client, path):
    """The web UI, the feeds and TAXII too (PostgreSQL refuses a NUL in any text it is given)."""
    r = client.get(path)
    assert r.status_code < 500 and r.status_code in (400, 404, 422), (r.status_code, r.text[:200])
