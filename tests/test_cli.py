"""The command line, end to end: options, exit codes, JSON output, database selection.

Most tests drive the Typer app in-process with ``CliRunner`` (the extractor is
loaded once); one runs ``python -m incidex`` as a subprocess to check the entry
point. Every article here is invented for these tests (made-up companies,
ministries and groups).
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from incidex.cli import app

RANSOM_STORY = """\
Title: Ransomware shuts down ordering at Quenby Frozen Foods
Date: 2024-04-18
URL: https://news.quenby-herald.test/2024/04/quenby-frozen-foods-ransomware
Source: quenby-herald.test

Quenby Frozen Foods, a food processor based in Leeds, England, said on Wednesday that a ransomware attack \
had encrypted servers at its two factories and halted order processing.

The ransomware gang Marrow Tide claimed the attack on its leak site and said it had stolen 300 gigabytes \
of supplier contracts and payroll files.

The company said it had taken its network offline, informed the Information Commissioner's Office and hired \
an outside firm to investigate the intrusion.

Deliveries to supermarkets would resume next week, a spokesperson said, adding that the company had not paid \
a ransom.
"""

DDOS_STORY = """\
Title: Websites of a regional ministry knocked offline
Date: 2024-05-02
Source: baltic-wire.test

The public websites of Latvia's Ministry of Transport were unreachable for several hours on Tuesday after a \
distributed denial-of-service attack flooded them with traffic, the ministry said.

A pro-Russian hacktivist group calling itself Grey Sleet Collective claimed responsibility on its Telegram \
channel.

No internal systems or data were affected, a ministry spokesperson said, and the sites were restored by evening.
"""

BINARY = bytes(range(256)) * 8  # control bytes and NULs: refused as binary


@pytest.fixture()
def runner(monkeypatch, tmp_path) -> CliRunner:
    """A runner whose default database would land in tmp_path, never in the repository."""
    monkeypatch.delenv("INCIDEX_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def json_out(result) -> object:
    return json.loads(result.stdout)


@pytest.fixture()
def stories(tmp_path) -> Path:
    d = tmp_path / "stories"
    d.mkdir()
    (d / "quenby.txt").write_text(RANSOM_STORY, encoding="utf-8")
    (d / "ministry.txt").write_text(DDOS_STORY, encoding="utf-8")
    return d


@pytest.fixture()
def ingested(runner, stories, tmp_path) -> str:
    """A database holding the two stories; returns its path."""
    db = str(tmp_path / "cli.db")
    res = invoke(runner, "ingest", "--db", db, "--format", "json", str(stories))
    assert res.exit_code == 0, res.output
    assert json_out(res)["new"] == 2
    return db


# -- help ---------------------------------------------------------------------------------

def _commands(group, prefix: tuple[str, ...] = ()):
    """(path, command) of every leaf command; duck-typed (Typer may vendor its own click)."""
    for name, cmd in sorted(group.commands.items()):
        if getattr(cmd, "commands", None) is not None:
            yield from _commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_every_expected_command_exists():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"ingest", "clean", "extract", "articles", "incidents", "show", "failures", "export",
            "eval casie"} <= names


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_lists_every_option(runner, path, cmd):
    res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert "Usage" in text
    options = [p for p in cmd.params if p.param_type_name == "option" and not getattr(p, "hidden", False)]
    assert options, f"{path} has no options"
    for opt in options:
        for flag in [*opt.opts, *opt.secondary_opts]:
            assert flag in text, f"`incidex {' '.join(path)} --help` does not mention {flag}"


def test_module_entry_point_help_lists_commands():
    res = subprocess.run([sys.executable, "-m", "incidex", "--help"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert res.returncode == 0, res.stderr
    for name in ("ingest", "clean", "extract", "articles", "incidents", "show", "failures", "export", "eval"):
        assert name in res.stdout


# -- ingest -------------------------------------------------------------------------------

@pytest.fixture()
def mixed_dir(tmp_path) -> Path:
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "a_story.txt").write_text(RANSOM_STORY, encoding="utf-8")
    (d / "b_empty.txt").write_bytes(b"")
    (d / "c_blob.dat").write_bytes(BINARY)
    return d


def test_ingest_reports_read_new_and_failed_counts(runner, mixed_dir, tmp_path):
    db = str(tmp_path / "mixed.db")
    res = invoke(runner, "ingest", "--db", db, "--format", "json", str(mixed_dir))
    assert res.exit_code == 0, res.output
    summary = json_out(res)
    assert (summary["read"], summary["new"], summary["failed"]) == (1, 1, 2)
    failed = {Path(f["origin"]).name: f["reason"] for f in summary["failures"]}
    assert set(failed) == {"b_empty.txt", "c_blob.dat"}
    assert "empty" in failed["b_empty.txt"]
    assert "binary" in failed["c_blob.dat"]

    # the failures are kept for `incidex failures`
    res = invoke(runner, "failures", "--db", db, "--format", "json")
    assert res.exit_code == 0
    assert {Path(r["origin"]).name for r in json_out(res)} == {"b_empty.txt", "c_blob.dat"}


def test_ingest_table_summary(runner, mixed_dir, tmp_path):
    res = invoke(runner, "ingest", "--db", str(tmp_path / "t.db"), str(mixed_dir))
    assert res.exit_code == 0
    assert "ingest summary" in res.stdout
    assert "c_blob.dat" in res.stderr  # each failure is named with its reason


def test_ingest_strict_exits_1_on_any_failure(runner, mixed_dir, tmp_path):
    res = invoke(runner, "ingest", "--strict", "--db", str(tmp_path / "s.db"), "--format", "json", str(mixed_dir))
    assert res.exit_code == 1
    summary = json_out(res)
    assert summary["new"] == 1 and summary["failed"] == 2  # the good article is still stored


def test_ingest_exits_1_when_nothing_could_be_read(runner, tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "empty.txt").write_bytes(b"")
    (d / "blob.dat").write_bytes(BINARY)
    res = invoke(runner, "ingest", "--db", str(tmp_path / "n.db"), "--format", "json", str(d))
    assert res.exit_code == 1
    summary = json_out(res)
    assert summary["read"] == 0 and summary["failed"] == 2

    res = invoke(runner, "ingest", "--db", str(tmp_path / "n.db"), str(tmp_path / "does-not-exist.txt"))
    assert res.exit_code == 1
    assert "no such file" in res.stderr


def test_reingest_adds_nothing(runner, ingested, stories):
    res = invoke(runner, "ingest", "--db", ingested, "--format", "json", str(stories))
    assert res.exit_code == 0
    summary = json_out(res)
    assert (summary["read"], summary["new"], summary["unchanged"]) == (2, 0, 2)


# -- browsing -------------------------------------------------------------------------------

def test_articles_json_and_query(runner, ingested):
    res = invoke(runner, "articles", "--db", ingested, "--format", "json")
    assert res.exit_code == 0
    rows = json_out(res)
    assert isinstance(rows, list) and len(rows) == 2
    titles = {r["title"] for r in rows}
    assert titles == {"Ransomware shuts down ordering at Quenby Frozen Foods",
                      "Websites of a regional ministry knocked offline"}
    for r in rows:
        assert {"id", "body", "url", "source", "published"} <= set(r)

    res = invoke(runner, "articles", "--db", ingested, "--format", "json", "--query", "ransomware supermarkets")
    assert res.exit_code == 0
    assert [r["title"] for r in json_out(res)] == ["Ransomware shuts down ordering at Quenby Frozen Foods"]

    res = invoke(runner, "articles", "--db", ingested, "--format", "json", "--query", "nothing-like-this-word")
    assert res.exit_code == 0
    assert json_out(res) == []


def test_incidents_json(runner, ingested):
    res = invoke(runner, "incidents", "--db", ingested, "--format", "json")
    assert res.exit_code == 0
    rows = json_out(res)
    assert rows, "the two stories report incidents"
    for inc in rows:
        assert {"id", "attack_types", "victims", "attackers", "evidence", "sources"} <= set(inc)
        assert inc["sources"] and all(s["article_id"] for s in inc["sources"])
    ransom = [i for i in rows if "ransomware" in i["attack_types"]]
    assert ransom
    assert any(v["name"] == "Quenby Frozen Foods" for i in ransom for v in i["victims"])

    res = invoke(runner, "incidents", "--db", ingested, "--format", "json", "--type", "ransomware")
    assert res.exit_code == 0
    assert {i["id"] for i in json_out(res)} == {i["id"] for i in ransom}


def test_show_existing_and_missing_incident(runner, ingested):
    rows = json_out(invoke(runner, "incidents", "--db", ingested, "--format", "json"))
    iid = rows[0]["id"]

    res = invoke(runner, "show", iid, "--db", ingested)
    assert res.exit_code == 0
    assert iid in res.stdout
    assert "sources" in res.stdout and "evidence" in res.stdout

    res = invoke(runner, "show", iid, "--db", ingested, "--format", "json")
    assert res.exit_code == 0
    shown = json_out(res)
    assert shown["id"] == iid and shown["sources"]

    res = invoke(runner, "show", "no-such-incident", "--db", ingested)
    assert res.exit_code == 1
    assert "no incident 'no-such-incident'" in res.stderr
    assert "incidex incidents" in res.stderr  # says how to find valid ids
    assert res.stdout == ""


# -- clean / extract --------------------------------------------------------------------------

def test_clean_json_gives_the_article_fields(runner, stories):
    res = invoke(runner, "clean", "--format", "json", str(stories / "quenby.txt"))
    assert res.exit_code == 0
    art = json_out(res)
    assert {"id", "body", "url", "source", "title", "author", "published", "language", "external_id",
            "origin", "raw_kind", "fetched_at", "removed", "body_chars"} <= set(art)
    assert "raw" not in art and "signature" not in art
    assert art["title"] == "Ransomware shuts down ordering at Quenby Frozen Foods"
    assert art["url"] == "https://news.quenby-herald.test/2024/04/quenby-frozen-foods-ransomware"
    assert art["published"].startswith("2024-04-18")
    assert art["language"] == "en"
    assert art["body"].startswith("Quenby Frozen Foods, a food processor")
    assert "Title:" not in art["body"]
    assert art["body_chars"] == len(art["body"])

    res = invoke(runner, "clean", "--format", "json", "--raw", str(stories / "quenby.txt"))
    assert "Title: Ransomware" in json_out(res)["raw"]


def test_clean_of_an_unreadable_file_exits_1(runner, tmp_path):
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    res = invoke(runner, "clean", str(p))
    assert res.exit_code == 1
    assert "empty" in res.stderr


def test_extract_json_lines_validate_against_the_schema(runner, stories, shared):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((shared / "schema" / "incident.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)

    res = invoke(runner, "extract", "--format", "json", str(stories / "quenby.txt"), str(stories / "ministry.txt"))
    assert res.exit_code == 0, res.output
    lines = [x for x in res.stdout.splitlines() if x.strip()]
    assert len(lines) == 2
    docs = [json.loads(x) for x in lines]
    for doc in docs:
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert {d["article"]["title"] for d in docs} == {"Ransomware shuts down ordering at Quenby Frozen Foods",
                                                     "Websites of a regional ministry knocked offline"}
    assert all(d["incidents"] for d in docs)


def test_extract_stores_nothing(runner, stories, tmp_path):
    res = invoke(runner, "extract", "--format", "json", str(stories / "quenby.txt"))
    assert res.exit_code == 0
    assert not (tmp_path / "incidex.db").exists()


# -- database selection -------------------------------------------------------------------------

def _article_count(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()


def test_db_option_and_environment_are_honoured(runner, stories, tmp_path):
    story = str(stories / "quenby.txt")
    opt_db, env_db, url_db = tmp_path / "opt.db", tmp_path / "env.db", tmp_path / "url.db"

    assert invoke(runner, "ingest", "--db", str(opt_db), story).exit_code == 0
    assert invoke(runner, "ingest", story, env={"INCIDEX_DB": str(env_db)}).exit_code == 0
    assert invoke(runner, "ingest", "--db", f"sqlite:///{url_db}", story).exit_code == 0
    assert _article_count(opt_db) == _article_count(env_db) == _article_count(url_db) == 1
    assert not (tmp_path / "incidex.db").exists()  # the default was never used

    # --db wins over INCIDEX_DB
    other = tmp_path / "other.db"
    res = invoke(runner, "ingest", "--db", str(other), "--format", "json", str(stories / "ministry.txt"),
                 env={"INCIDEX_DB": str(env_db)})
    assert res.exit_code == 0
    assert _article_count(other) == 1 and _article_count(env_db) == 1

    # reading commands follow the same rule
    res = invoke(runner, "articles", "--format", "json", env={"INCIDEX_DB": str(env_db)})
    assert [r["title"] for r in json_out(res)] == ["Ransomware shuts down ordering at Quenby Frozen Foods"]
    res = invoke(runner, "articles", "--db", str(other), "--format", "json", env={"INCIDEX_DB": str(env_db)})
    assert [r["title"] for r in json_out(res)] == ["Websites of a regional ministry knocked offline"]


def test_default_database_is_in_the_working_directory(runner, stories, tmp_path):
    res = invoke(runner, "ingest", str(stories / "quenby.txt"))
    assert res.exit_code == 0
    assert _article_count(tmp_path / "incidex.db") == 1


def test_unusable_database_url_exits_2(runner, tmp_path):
    res = invoke(runner, "articles", "--db", "mysql://example.invalid/db")
    assert res.exit_code == 2
    assert "error" in res.stderr
