"""`incidex watch` and `incidex status` end to end, and a watcher killed mid-pass.

The feeds are served by a local HTTP server on 127.0.0.1 that the settings
allow explicitly (``allow_private_addresses = ["127.0.0.1"]``). The crash
test SIGKILLs a real `incidex watch` subprocess while it stores a feed of 30
invented stories, restarts it, and compares the result with a clean run:
nothing lost, nothing stored twice.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_ingest import local_server  # noqa: F401
from fixtures_process import kill_once_rows, table_count, wait_for_rows
from fixtures_watch import FeedRoute, rss
from typer.testing import CliRunner

from incidex.cli import app
from incidex.settings import load_settings
from incidex.store import open_store
from incidex.watch import Watcher, load_feeds

N_STORIES = 30
KILL_AFTER = 8      # entries committed before the kill
WAIT_SECONDS = 60   # bound for the first entries to appear (model loading included)


def settings_file(tmp_path: Path, chunk_size: int = 32) -> Path:
    p = tmp_path / "settings.toml"
    p.write_text(f"""
[ingest]
allow_private_addresses = ["127.0.0.1"]
timeout_seconds = 5
chunk_size = {chunk_size}

[watch]
politeness_seconds = 0
""", encoding="utf-8")
    return p


def feeds_file(tmp_path: Path, *feeds: tuple[str, str]) -> Path:
    p = tmp_path / "feeds.yaml"
    p.write_text("feeds:\n" + "".join(f"  - name: {name}\n    url: {url}\n    interval: 10m\n" for name, url in feeds),
                 encoding="utf-8")
    return p


@pytest.fixture()
def cli(tmp_path, monkeypatch):
    """Invoke the CLI in-process with settings that allow 127.0.0.1."""
    monkeypatch.setenv("INCIDEX_SETTINGS", str(settings_file(tmp_path)))
    monkeypatch.delenv("INCIDEX_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    load_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "250"})
    load_settings.cache_clear()


def json_lines(text: str) -> list:
    return [json.loads(x) for x in text.splitlines() if x.strip().startswith(("{", "["))]


def test_watch_once_then_status(cli, local_server, tmp_path, extractor):
    route = FeedRoute(rss(local_server.base, [1, 2]))
    good = local_server.dynamic("/feed.xml", route)
    bad = local_server.add("/broken.xml", b"oops", "text/plain", status=500)
    feeds = feeds_file(tmp_path, ("Invented Wire", good), ("Broken Desk", bad))
    db = str(tmp_path / "w.db")

    res = cli("watch", "--once", "--feeds", str(feeds), "--db", db, "--format", "json")
    assert res.exit_code == 0, res.output  # one feed failed: not --strict, so still 0
    polls = json_lines(res.stdout)
    assert [(p["name"], p["status"], p["new"]) for p in polls] == [("Invented Wire", "ok", 2),
                                                                  ("Broken Desk", "error", 0)]
    assert polls[1]["error"].startswith("HTTP 500") and polls[1]["next_poll_at"]

    res = cli("status", "--db", db, "--format", "json")
    rows = {r["name"]: r for r in json_lines(res.stdout)[0]}
    wire, broken = rows["Invented Wire"], rows["Broken Desk"]
    assert wire["items_seen"] == 2 and wire["incidents_found"] >= 2 and wire["last_success_at"]
    assert wire["last_error"] is None
    assert broken["last_success_at"] is None and broken["last_error"].startswith("HTTP 500")
    assert broken["consecutive_errors"] == 1 and broken["items_seen"] == 0

    # a second pass: 304 for the good feed; --strict makes the broken one an exit 1
    res = cli("watch", "--once", "--strict", "--feeds", str(feeds), "--db", db)
    assert res.exit_code == 1
    assert "not-modified" in res.stdout and "HTTP 500" in res.stdout

    res = cli("status", "--db", db)
    assert res.exit_code == 0
    assert "Invented Wire" in res.stdout and "Broken Desk" in res.stdout and "HTTP 500" in res.stdout
    assert "(2 in a row)" in res.stdout


def test_status_of_a_feeds_file_lists_feeds_never_polled(cli, tmp_path):
    feeds = feeds_file(tmp_path, ("Never Polled", "https://never.invented.test/feed.xml"))
    res = cli("status", "--feeds", str(feeds), "--db", str(tmp_path / "s.db"), "--format", "json")
    (row,) = json_lines(res.stdout)[0]
    assert row["name"] == "Never Polled" and row["last_success_at"] is None and row["items_seen"] == 0
    res = cli("status", "--db", str(tmp_path / "s.db"))
    assert "no feeds watched yet" in res.stdout


def test_watch_exits_1_when_every_feed_failed(cli, local_server, tmp_path):
    url = local_server.redirect("/feed.xml", "http://169.254.169.254/latest/meta-data/")
    res = cli("watch", "--once", "--feeds", str(feeds_file(tmp_path, ("Jump", url))), "--db", str(tmp_path / "x.db"))
    assert res.exit_code == 1 and "link-local address 169.254.169.254" in res.stdout


def test_bad_feeds_file_exits_2(cli, tmp_path):
    p = tmp_path / "feeds.yaml"
    p.write_text("feeds:\n  - url: gopher://old.invented.test/\n", encoding="utf-8")
    res = cli("watch", "--once", "--feeds", str(p), "--db", str(tmp_path / "x.db"))
    assert res.exit_code == 2 and "not an http(s) URL" in res.output


# -- real processes: SIGKILL mid-pass, and a graceful SIGTERM ----------------------------------

def _env(tmp_path: Path, chunk_size: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("INCIDEX_DB", "INCIDEX_ALLOW_PRIVATE_ADDRESSES")}
    env["INCIDEX_SETTINGS"] = str(settings_file(tmp_path, chunk_size))
    return env


def _watch_cmd(feeds: Path, db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "incidex", "watch", "--feeds", str(feeds), "--db", str(db), "--format", "json",
            *extra]


def _snapshot(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        q = lambda sql: sorted(con.execute(sql).fetchall())  # noqa: E731
        return {
            "articles": q("SELECT id, url FROM articles"),
            "entries": q("SELECT entry_key, outcome, article_id, attempts FROM watch_entries"),
            "incident_links": q("SELECT article_id, count(*) FROM incident_articles GROUP BY article_id"),
            "incidents": con.execute("SELECT count(*) FROM incidents").fetchone()[0],
            "feed": con.execute("SELECT etag, consecutive_errors FROM watch_feeds").fetchall(),
        }
    finally:
        con.close()


def _run_to_end(cmd: list[str], env: dict[str, str]) -> dict:
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    (poll,) = json_lines(res.stdout)
    return poll


@pytest.mark.slow
def test_sigkill_mid_pass_then_restart_loses_and_repeats_nothing(local_server, tmp_path, extractor):
    url = local_server.dynamic("/feed.xml", FeedRoute(rss(local_server.base, list(range(100, 100 + N_STORIES)))))
    feeds = feeds_file(tmp_path, ("Invented Wire", url))
    env = _env(tmp_path, chunk_size=4)
    db = tmp_path / "killed.db"

    still_running, _, code, stderr = kill_once_rows(_watch_cmd(feeds, db, "--once"), env, db, "watch_entries",
                                                    KILL_AFTER, WAIT_SECONDS)
    assert still_running, f"watch ended before it could be killed (exit {code}): {stderr[-2000:]!r}"
    assert code == -signal.SIGKILL

    killed = _snapshot(db)
    committed = len(killed["entries"])
    assert KILL_AFTER <= committed < N_STORIES
    assert len(killed["articles"]) == committed  # every stored article has its entry row, and the reverse
    assert killed["feed"] in ([], [(None, 0)])  # the feed's ETag is saved only once every entry is handled

    # the restart fetches the feed in full again and handles exactly the entries that were not committed
    poll = _run_to_end(_watch_cmd(feeds, db, "--once"), env)
    assert poll["status"] == "ok" and poll["entries"] == N_STORIES
    assert poll["new"] == N_STORIES - committed and poll["unchanged"] == 0 and poll["failed"] == 0

    # ... and ends where a run that was never interrupted ends (the same watcher, in-process)
    clean_db = tmp_path / "clean.db"
    settings = load_settings(env["INCIDEX_SETTINGS"])
    with open_store(clean_db) as store:
        (clean_poll,) = Watcher(store, load_feeds(feeds, settings), settings=settings, extractor=extractor).run_once()
    assert clean_poll.new == N_STORIES
    resumed, clean = _snapshot(db), _snapshot(clean_db)
    assert len(resumed["articles"]) == len(set(resumed["articles"])) == N_STORIES
    assert resumed == clean

    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()

    # a third pass: 304, nothing added
    poll = _run_to_end(_watch_cmd(feeds, db, "--once"), env)
    assert poll["status"] == "not-modified" and _snapshot(db) == clean


@pytest.mark.slow
def test_sigterm_stops_gracefully_and_a_restart_finishes(local_server, tmp_path, extractor):
    url = local_server.dynamic("/feed.xml", FeedRoute(rss(local_server.base, list(range(200, 200 + N_STORIES)))))
    feeds = feeds_file(tmp_path, ("Invented Wire", url))
    env = _env(tmp_path, chunk_size=4)
    db = tmp_path / "term.db"

    proc = subprocess.Popen(_watch_cmd(feeds, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    try:
        wait_for_rows(proc, db, "watch_entries", 4, WAIT_SECONDS)
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-2000:]
    assert "stopping" in stderr
    (poll,) = json_lines(stdout)
    handled = table_count(db, "watch_entries")
    assert handled == table_count(db, "articles")
    # stopped after the chunk in hand (or, had the pass already ended, while waiting for the next poll)
    assert poll["status"] == ("stopped" if handled < N_STORIES else "ok")

    settings = load_settings(env["INCIDEX_SETTINGS"])  # the restart, in-process (the SIGKILL test runs the CLI)
    with open_store(db) as store:
        (rest,) = Watcher(store, load_feeds(feeds, settings), settings=settings, extractor=extractor).run_once()
    assert rest.new == N_STORIES - handled and rest.unchanged == 0
    assert table_count(db, "articles") == table_count(db, "watch_entries") == N_STORIES
