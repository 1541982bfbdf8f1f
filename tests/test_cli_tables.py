"""CLI output for people: tables that fit the terminal, `show` in prose, each evidence sentence once."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from incidex.cli import app
from incidex.prose import evidence_once, impact_sentences, response_text, victim_text
from incidex.records import DateValue, Evidence, Impact, Response, Victim
from incidex.termtable import Col, fit_table

ROOT = Path(__file__).resolve().parent.parent
WORDS = "successful ransomware data-breach hack-and-leak attempted".split()


def _render(table, width: int) -> list[str]:
    c = Console(width=width, record=True, file=open(os.devnull, "w"))
    c.print(table)
    return c.export_text().rstrip("\n").split("\n")


def test_fifty_rows_fit_80_columns_a_line_each():
    cols = (Col("id", min=64), Col("date", min=10), Col("types", min=10), Col("victims", min=14),
            Col("attackers", drop=1, min=10), Col("outcome", drop=2, min=10), Col("summary", drop=3, min=20))
    rows = [(f"{n:016x}-0", "2024-05-02", "ransomware, data-breach", f"Victim number {n} of a long list (GB)",
             "Some Gang", WORDS[n % 5], "A long summary of what happened " * 3) for n in range(50)]
    lines = _render(fit_table(cols, rows, 80), 80)
    assert 50 <= len(lines) <= 60
    assert max(len(ln) for ln in lines) <= 80
    assert all(f"{n:016x}-0" in lines[n + 2] for n in range(50))  # ids are never cut
    assert "not shown: outcome, summary" in lines[-1]
    for ln in lines[2:-1]:  # a cut cell ends in an ellipsis; no word is split over two lines
        for token in ln.split():
            assert token.rstrip("…,;()") == "" or any(token.rstrip("…,;()") in r for r in map(" ".join, rows))


def test_wide_keeps_every_column_whole():
    rows = [("x" * 10, "successful", "A summary that is rather long and is kept whole here")]
    lines = _render(fit_table(("id", "outcome", "summary"), rows, 40, wide=True), 200)
    assert rows[0][2] in lines[2] and "…" not in "".join(lines)


def test_prose():
    assert response_text(Response("arrest", against="Kestrel Moth")) == "arrest against Kestrel Moth"
    assert response_text(Response("sanctions", by="the Council", against="three officers",
                                  date=DateValue("2024-09", "month"))) == \
        "sanctions by the Council against three officers (2024-09)"
    assert victim_text(Victim("Port of Velmark")) == "Port of Velmark"
    assert victim_text(Victim("Port of Velmark", country="NO", sector="transport")) == "Port of Velmark (NO, transport)"
    assert impact_sentences(Impact(records_affected=12000, ransom_usd=4_500_000, services_disrupted=True,
                                   facts=["payroll files were taken"])) == [
        "12,000 records affected.", "Ransom of $4.5 million reported.", "Services were disrupted.",
        "Payroll files were taken."]
    s = "Tallow Reef hit Corvell Bakeries on Sunday."
    ev = [Evidence("attack_types", 0, len(s), s, "a1"), Evidence("victims[0]", 0, len(s), s, "a1"),
          Evidence("victims[0].mention", 16, 32, "Corvell Bakeries", "a1"), Evidence("date", 0, len(s), s, "a2")]
    once = evidence_once(ev)
    assert [(e.text, f) for e, f in once] == [(s, ["attack_types", "victims[0]", "date", "victims[0].mention"])]


@pytest.fixture(scope="module")
def multi_outlet_db(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("tables") / "m.db")
    r = CliRunner().invoke(app, ["ingest", str(ROOT / "examples" / "multi_outlet"), "--db", db])
    assert r.exit_code == 0, r.output
    return db


def _cli(*args: str, columns: int = 80) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "dumb"}
    r = subprocess.run([sys.executable, "-m", "incidex", *args], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_incidents_table_at_80_columns(multi_outlet_db):
    incidents = json.loads(_cli("incidents", "--db", multi_outlet_db, "--format", "json"))
    lines = _cli("incidents", "--db", multi_outlet_db).rstrip("\n").split("\n")
    assert len(lines) == len(incidents) + 3  # header, rule, a line per incident, the "not shown" caption
    assert max(len(ln) for ln in lines) <= 80
    assert all(inc["id"] in "\n".join(lines) for inc in incidents)
    wide = _cli("incidents", "--db", multi_outlet_db, "--wide")
    assert "attribution" in wide and "summary" in wide
    assert all(inc["summary"] in wide for inc in incidents)


def test_show_is_prose(multi_outlet_db):
    incidents = json.loads(_cli("incidents", "--db", multi_outlet_db, "--format", "json", "--limit", "100"))
    for inc in incidents:
        text = _cli("show", inc["id"], "--db", multi_outlet_db, columns=400)
        assert " ?" not in text and "['" not in text and "=" not in text.split("sources")[0]
        evidence = text.split("\nevidence\n", 1)[1].strip().split("\n")
        sentences = [ln.rsplit("  [", 1)[0].strip() for ln in evidence]
        assert len(sentences) == len(set(sentences)), inc["id"]


def test_an_empty_answer_says_which_name_matched_nothing(multi_outlet_db):
    r = CliRunner().invoke(app, ["incidents", "--db", multi_outlet_db, "--actor", "Akria"])
    assert r.exit_code == 0
    assert "note: actor: no stored incident has the actor 'Akria'; did you mean Akira?" in r.stderr
    assert "no incidents match these filters" in r.stderr
    r = CliRunner().invoke(app, ["incidents", "--db", multi_outlet_db, "--victim", "Valemont Helth"])
    assert "did you mean Valemont Health?" in r.stderr
    r = CliRunner().invoke(app, ["incidents", "--db", multi_outlet_db, "--actor", "Akira"])
    assert "note:" not in r.stderr and "Akira" in r.stdout


def test_api_empty_page_has_the_same_hint(multi_outlet_db):
    from fastapi.testclient import TestClient

    from incidex.serve.app import create_app

    with TestClient(create_app(multi_outlet_db)) as c:
        page = c.get("/api/v1/incidents?actor=Akria").json()
        assert page["items"] == [] and page["hints"] == [
            "actor: no stored incident has the actor 'Akria'; did you mean Akira?"]
        assert "hints" not in c.get("/api/v1/incidents?actor=Akira").json()
