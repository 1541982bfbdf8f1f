"""Killing `incidex ingest` half-way loses nothing committed and corrupts nothing.

The whole pipeline runs in a subprocess (`python -m incidex ingest`) over ~40
small invented articles; it is SIGKILLed once the database holds a few
articles. The database (SQLite, then PostgreSQL) must then be consistent
(SQLite: its integrity checks too), every incident
link must point at a stored article and incident, a re-run must finish the job
and a third run must add nothing. All texts are generated here from
project-written sentences about fictional companies and groups.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_process import kill_once_rows, scalar, table_count

N_FILES = 40
KILL_AFTER = 5           # committed articles before the kill
WAIT_SECONDS = 45        # bound for the first articles to appear (model loading included)

_FIRMS = ["Ostrava Cold Chain", "Pellmark Dairy", "Tiverly Glassworks", "Corrin Bay Ferries", "Haskel Pumps",
          "Varrow Textiles", "Lindel Credit Union", "Brisco Timber", "Ammerton Clinic", "Rusk Valley Water",
          "Quarrel Point Logistics", "Feldmoor Brewing", "Saxby Paper Mills", "Orrin Dental Group",
          "Keswell Ceramics", "Durnford Insurance", "Yarrowby Seeds", "Elstow Labs", "Gantry Row Hotels",
          "Marlpit Foundry"]
_GANGS = ["Tin Harrier", "Blue Cormorant", "Wicker Fox", "Slate Adder", "Mossback", "Vesper Kite"]
_TOWNS = ["Aldbury", "Penhallow", "Greyford", "Stoke Ravel", "Dunmere", "Kilbrack", "Hexton", "Wrayburn"]
_SYSTEMS = ["order system", "email servers", "payroll platform", "booking site", "file servers", "warehouse software"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _story(i: int) -> str:
    rng = random.Random(1000 + i)
    firm, gang, town = _FIRMS[i % len(_FIRMS)], rng.choice(_GANGS), rng.choice(_TOWNS)
    system, day = rng.choice(_SYSTEMS), rng.choice(_DAYS)
    staff, files, days = rng.randint(40, 4000), rng.randint(5, 900), rng.randint(2, 12)
    lines = [
        f"Title: {firm} hit by ransomware (report {i})",
        f"Date: 2024-{1 + i % 12:02d}-{1 + i % 27:02d}",
        "",
        f"{firm}, which employs {staff} people in {town}, said a ransomware attack on {day} encrypted its "
        f"{system} and forced staff back to paper for {days} days.",
        f"The {gang} gang listed the firm on its leak site and claimed to hold {files} gigabytes of its files.",
        f"Report number {i} notes that police in {town} opened a case and that the company did not pay.",
    ]
    return "\n".join(lines) + "\n"


def _ingest(inputs: Path, db: Path | str, env: dict[str, str]) -> tuple[int, dict]:
    res = subprocess.run([sys.executable, "-m", "incidex", "ingest", "--db", str(db), "--format", "json", str(inputs)],
                         capture_output=True, text=True, env=env, timeout=120)
    lines = [x for x in res.stdout.splitlines() if x.strip()]
    assert lines, f"no summary printed (exit {res.returncode}): {res.stderr[-2000:]}"
    return res.returncode, json.loads(lines[-1])


@pytest.mark.slow
def test_sigkill_during_ingest_then_rerun(tmp_path, db_url, backend):
    src = tmp_path / "articles"
    src.mkdir()
    texts = [_story(i) for i in range(N_FILES)]
    assert len(set(texts)) == N_FILES
    for i, text in enumerate(texts):
        (src / f"{i:03d}.txt").write_text(text, encoding="utf-8")
    db = Path(db_url) if backend == "sqlite" else db_url
    env = {k: v for k, v in os.environ.items() if k != "INCIDEX_DB"}

    cmd = [sys.executable, "-m", "incidex", "ingest", "--db", str(db), "--format", "json", str(src)]
    still_running, seen, code, stderr = kill_once_rows(cmd, env, db, "articles", KILL_AFTER, WAIT_SECONDS)
    assert still_running, f"ingest ended before it could be killed (exit {code}): {stderr[-2000:]!r}"
    assert seen is not None and seen >= KILL_AFTER, f"no {KILL_AFTER} articles within {WAIT_SECONDS}s: {stderr[-2000:]!r}"
    assert code == -signal.SIGKILL

    # -- what the killed run left behind is consistent
    if backend == "sqlite":
        con = sqlite3.connect(db)
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []
            con.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
        finally:
            con.close()
    n_killed = table_count(db, "articles")
    assert KILL_AFTER <= n_killed < N_FILES
    dangling_articles = scalar(db, "SELECT count(*) FROM incident_articles ia LEFT JOIN articles a "
                                   "ON a.id = ia.article_id WHERE a.id IS NULL")
    dangling_incidents = scalar(db, "SELECT count(*) FROM incident_articles ia LEFT JOIN incidents i "
                                    "ON i.id = ia.incident_id WHERE i.id IS NULL")
    unlinked_incidents = scalar(db, "SELECT count(*) FROM incidents i WHERE NOT EXISTS "
                                    "(SELECT 1 FROM incident_articles ia WHERE ia.incident_id = i.id)")
    assert (dangling_articles, dangling_incidents, unlinked_incidents) == (0, 0, 0)
    # every committed article is whole: its bands (and its search entry) were committed with it
    assert scalar(db, "SELECT count(*) FROM articles a WHERE NOT EXISTS "
                      "(SELECT 1 FROM article_bands b WHERE b.article_id = a.id)") == 0

    # -- a re-run finishes the job without redoing what was committed
    code, summary = _ingest(src, db, env)
    assert code == 0, summary
    assert summary["read"] == N_FILES and summary["failed"] == 0
    assert summary["unchanged"] == n_killed
    assert summary["new"] + summary["duplicate"] == N_FILES - n_killed
    assert table_count(db, "articles") == N_FILES

    # -- and a third run adds nothing
    code, summary = _ingest(src, db, env)
    assert code == 0
    assert summary["new"] == 0 and summary["duplicate"] == 0 and summary["unchanged"] == N_FILES
    assert table_count(db, "articles") == N_FILES
