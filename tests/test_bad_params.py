"""Bad parameters, CLI and API: one clear message naming the field, the same in both.

``TABLE`` is the table of docs/api.md ("Bad parameters"): each row is run
against ``incidex incidents`` (exit code 2, one line on stderr, no traceback)
and ``GET /api/v1/incidents`` (422 with the message as ``detail``), and the
docs must show the same message.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from incidex import validate
from incidex.cli import app
from incidex.serve.app import create_app

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"

# (parameters, message): CLI --NAME VALUE and API ?NAME=VALUE
TABLE = [
    ({"country": "UK"}, "country: UK is not an ISO 3166 alpha-2 code; did you mean GB?"),
    ({"country": "GBR"}, "country: GBR is not an ISO 3166 alpha-2 code; did you mean GB?"),
    ({"country": "Germany"}, "country: Germany is not an ISO 3166 alpha-2 code; did you mean DE?"),
    ({"country": "XX"}, "country: XX is not an ISO 3166 alpha-2 code; use two letters such as GB, US or DE"),
    ({"type": "ransom"}, "type: ransom is not an attack type; did you mean ransomware?"),
    ({"type": "dos"}, "type: dos is not an attack type; did you mean ddos?"),
    ({"type": "zzzz"}, "type: zzzz is not an attack type; one of ransomware, wiper, ddos, data-breach, espionage, "
                       "phishing, defacement, supply-chain, hack-and-leak, account-takeover, malware, other"),
    ({"sector": "health"}, "sector: health is not a sector; did you mean healthcare?"),
    ({"outcome": "success"}, "outcome: success is not an outcome; did you mean successful?"),
    ({"since": "notadate"}, "since: notadate is not a date; use YYYY, YYYY-MM or YYYY-MM-DD"),
    ({"since": "2024-02-30"}, "since: 2024-02-30 is not a calendar date: February 2024 has 29 days"),
    ({"until": "2023-13"}, "until: 2023-13 has no month 13 (use YYYY, YYYY-MM or YYYY-MM-DD)"),
    ({"since": "2025", "until": "2024"}, "since: 2025 is after until 2024; swap them or widen the range"),
    ({"since": "2024-06-02", "until": "2024-06-01"},
     "since: 2024-06-02 is after until 2024-06-01; swap them or widen the range"),
]

#: POST bodies (API only): (endpoint, body bytes, message)
BODIES = [
    ("/api/v1/extract", b'{"text": "Hackers hit Acme.", "published": "yesterday"}',
     "published: 'yesterday' is not a date; use ISO 8601, e.g. 2024-05-02 or 2024-05-02T09:30:00Z"),
    ("/api/v1/extract", b'{"text": "Hackers hit Acme.",\n "title": "x" "y"}',
     "request body: not valid JSON at line 2, column 15: Expecting ',' delimiter"),
    ("/api/v1/extract", b'{"text": }', "request body: not valid JSON at line 1, column 10: Expecting value"),
]


def _id(row):
    return "&".join(f"{k}={v}" for k, v in row[0].items())


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(tmp_path_factory.mktemp("bad") / "s.db")) as c:
        yield c


@pytest.mark.parametrize("params,message", TABLE, ids=[_id(r) for r in TABLE])
def test_api_answers_the_message(client, params, message):
    r = client.get("/api/v1/incidents?" + urlencode(params))
    assert r.status_code == 422
    assert r.json()["detail"] == message


@pytest.mark.parametrize("params,message", TABLE, ids=[_id(r) for r in TABLE])
def test_cli_prints_the_message(tmp_path, params, message):
    args = ["incidents", "--db", str(tmp_path / "s.db")]
    for k, v in params.items():
        args += [f"--{k}", v]
    r = CliRunner().invoke(app, args, terminal_width=200)
    assert r.exit_code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == [f"error: {message}"]
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)


@pytest.mark.parametrize("endpoint,body,message", BODIES, ids=["published", "json-2-15", "json-1-10"])
def test_bad_bodies(client, endpoint, body, message):
    r = client.post(endpoint, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"] == message


def test_the_docs_show_the_same_table():
    text = DOCS.read_text("utf-8")
    for params, message in TABLE:
        assert message in text, message
    for _, _, message in BODIES:
        assert message in text, message


def test_good_values_are_normalised():
    assert validate.incident_filters({"country": "gb", "attack_type": "Ransomware", "since": "2024",
                                      "until": "2024"}) == {
        "country": "GB", "attack_type": "ransomware", "since": "2024", "until": "2024"}
    assert validate.facet("country", ["gb", "us"]) == ["GB", "US"]
    with pytest.raises(validate.BadValue, match="^country: UK .* did you mean GB"):
        validate.facet("country", ["gb", "UK"])
    assert validate.published("published", "Dec 5, 2024") == "2024-12-05"
