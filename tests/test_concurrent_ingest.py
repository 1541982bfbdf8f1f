"""Two ``incidex ingest`` processes writing one store at once store nothing twice.

Both read the batch test archive (tests/test_batch.py: the project's own test
articles, an exact copy, a syndicated copy and three outlets reporting one
incident), one in file order and one reversed, committing article by article
(``chunk_size = 1``) so their transactions interleave. Under the store's write
lock (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE) every duplicate
check and incident resolution sees what the other process committed, so the
result has each article once, each copy linked to one original, and the
three reports of one incident merged into one. Runs on PostgreSQL and SQLite.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from test_batch import records, snapshot, write_jsonl


def test_two_writers_ingest_concurrently_without_duplicates(db_url, tmp_path):
    forward = write_jsonl(tmp_path / "forward.jsonl", records())
    backward = tmp_path / "backward.jsonl"
    backward.write_text("\n".join(reversed(forward.read_text(encoding="utf-8").splitlines())) + "\n",
                        encoding="utf-8")
    settings = tmp_path / "settings.toml"
    settings.write_text("[ingest]\nchunk_size = 1\n", encoding="utf-8")
    env = {**os.environ, "INCIDEX_SETTINGS": str(settings)}
    procs = [subprocess.Popen([sys.executable, "-m", "incidex", "ingest", str(path), "--db", db_url, "--format", "json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for path in (forward, backward)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))

    print("reports:", [{k: r[k] for k in ("new", "duplicate", "unchanged")} for r in reports])
    snap = snapshot(db_url)
    bodies = [a[6] for a in snap["articles"]]
    assert len(bodies) == len(set(bodies)) == 11  # 9 articles + 2 syndicated copies, each once
    copies = [a for a in snap["articles"] if a[8] is not None]
    assert len(copies) == 2
    assert sum(r["new"] for r in reports) == 9 and sum(r["duplicate"] for r in reports) == 2
    assert sum(r["new"] + r["duplicate"] for r in reports) == 11
    mention_ids = [m[0] for m in snap["mentions"]]
    assert len(mention_ids) == len(set(mention_ids))
    assert len(snap["incidents"]) == len({i["id"] for i in snap["incidents"]})
    by_sources = sorted(len({link[1] for link in snap["links"] if link[0] == i["id"]}) for i in snap["incidents"])
    assert by_sources[-1] >= 3  # the three outlets' reports are one incident, whoever stored them
    names = [a[1] for a in snap["aliases"]]
    assert len(names) == len(set((a[1], a[2]) for a in snap["aliases"]))
