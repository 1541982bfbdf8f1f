"""Schemathesis hooks of scripts/fuzz_api.py: the refusals of schema-valid requests that are right.

Loaded through ``SCHEMATHESIS_HOOKS``. Every other failure of every check stands:

* ``since`` after ``until`` (two valid dates, an empty range) is a 422 that says so
  (``incidex.validate.date_range``): no JSON schema can compare two parameters;
* ``POST /api/v1/extract`` with a valid body whose text or HTML holds no article
  is a 422 with the reason ("cannot read the article: ..."): whether a text holds
  an article is not something a schema can say. Only such a 422 (``detail``
  without the ``errors`` of a validation error) is let through;
* a body's ``published`` that is no date is a 422 naming it: the readers take
  ISO 8601 and the other forms they know (RFC 2822, ``Dec 5, 2024``), a set no
  JSON schema describes, so the document says "ISO 8601" in words only;
* a TAXII ``next`` this server did not give is a 400 ("invalid 'next' value"):
  the token is opaque, its form is all a schema can say.
"""
from __future__ import annotations

from typing import Any

import schemathesis

from incidex.validate import inverted_range

REJECTED_VALID_DATA = "ST202"  # schemathesis' code for positive_data_acceptance failures


def _detail(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def expected_refusal(case: Any, response: Any) -> bool:
    """Whether the refusal of a schema-valid request is one of those above."""
    body = _detail(response)
    query = case.query or {}
    if response.status_code == 400 and case.path.startswith("/taxii2/"):
        return bool(query.get("next")) and body.get("description") == "invalid 'next' value"
    if response.status_code != 422:
        return False
    if inverted_range(query.get("since"), query.get("until")):
        return "is after until" in str(body.get("detail", ""))
    if case.method.upper() != "POST":
        return False
    errors = body.get("errors")
    if errors:
        return all(e.get("loc") == ["body", "published"] and "is not a date" in e.get("msg", "") for e in errors)
    return case.path == "/api/v1/extract" and str(body.get("detail", "")).startswith("cannot read the article")


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep a failure unless it is a positive-data rejection that ``expected_refusal`` explains."""
    return not (failure.code == REJECTED_VALID_DATA and expected_refusal(case, response))
