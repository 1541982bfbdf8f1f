"""Ingest with cross-article resolution against a growing store.

    .venv/bin/python benchmarks/resolve.py [--sizes 1000,10000,100000] [--json]

For each size N, a fresh SQLite store is filled with N generated incidents
(random fictional victims, real actor names, countries, dates over three years,
each with its mention and a source article), then the project's multi-outlet
set and example articles are ingested with resolution on, pinned to one core.
Reported: articles/s and ms per article for that ingest, and the rate relative
to the smallest size (the issue asks for no more than a 30% fall from 1k to
100k). Candidate lookup is indexed (victim names and aliases, FTS5 over victim
words, actor and victim country inside a date window), so the cost per
article should not grow with N.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACTORS = [("LockBit", "misp:lockbit"), ("Akira", "attack:G1024"), ("APT28", "attack:G0007"), ("Lazarus Group", "attack:G0032"),
          ("Sandworm Team", "attack:G0034"), ("NoName057(16)", "misp:noname"), ("Killnet", "misp:killnet"), ("Turla", "attack:G0010")]
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "SE", "PL", "UA", "ES", "IT", "CA", "AU", "JP", "KR", "BR", "IN"]
SECTORS = ["healthcare", "government", "finance", "education", "manufacturing", "energy", "retail", "transport"]
SYL = ["val", "mor", "ken", "dra", "lis", "tor", "bel", "quin", "sar", "ven", "hal", "rid", "ost", "pel", "cor", "nav"]
KINDS = ["Health", "Logistics", "Bank", "University", "City Council", "Energy", "Foods", "Systems", "Labs"]


def fill(store, n: int, seed: int = 7) -> None:
    from incidex.records import Actor, Article, Attribution, DateValue, Incident, Victim

    rng = random.Random(seed)
    base = Article(id="bench-source", body="A generated source article for the resolution benchmark.",
                   source="bench.example", published="2024-01-01")
    store.add_article(base)
    start = date(2022, 1, 1)
    with store.transaction():
        for i in range(n):
            name = "".join(rng.choice(SYL) for _ in range(3)).capitalize() + " " + rng.choice(KINDS)
            actor, kb = rng.choice(ACTORS)
            d = start + timedelta(days=rng.randrange(1095))
            inc = Incident(id=f"gen-{i}", summary=f"{actor}: ransomware attack on {name} ({d.isoformat()})",
                           attack_types=[rng.choice(["ransomware", "data-breach", "ddos", "espionage"])],
                           attackers=[Actor(name=actor, kind="group", kb_id=kb)], attribution=Attribution("claimed"),
                           victims=[Victim(name=name, country=rng.choice(COUNTRIES), sector=rng.choice(SECTORS))],
                           date=DateValue(d.isoformat(), "day"), outcome="successful")
            store.add_incident(inc, base.id, "primary")
            store.add_mention(f"{base.id}:{i}", inc.id, base.id, "primary", inc)


def run_size(n: int) -> dict:
    from incidex.api import ingest
    from incidex.store import open_store

    inputs = [str(ROOT / "examples" / "multi_outlet" / "articles"), str(ROOT / "examples" / "articles")]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / f"bench-{n}.db"))
        t0 = time.perf_counter()
        fill(store, n)
        fill_s = time.perf_counter() - t0
        from incidex.extraction.pipeline import default_extractor

        ex = default_extractor()
        ex.extract_article(store.get_article("bench-source"))  # warm-up
        t0 = time.perf_counter()
        report = ingest(inputs, store, extractor=ex)
        dt = time.perf_counter() - t0
        incidents = store.count_incidents()
        store.close()
    return {"stored_incidents": n, "articles": report.read, "seconds": round(dt, 2),
            "articles_per_s": round(report.read / dt, 2), "ms_per_article": round(1000 * dt / report.read, 1),
            "merged": report.merged, "incidents_after": incidents, "fill_seconds": round(fill_s, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child is not None:
        try:
            os.sched_setaffinity(0, {0})
        except (AttributeError, OSError):
            pass
        print(json.dumps(run_size(a.child)))
        return 0
    import subprocess

    rows = []
    for n in [int(x) for x in a.sizes.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True)
        if out.returncode:
            print(out.stderr, file=sys.stderr)
            return 1
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = rows[0]["articles_per_s"]
    for r in rows:
        r["relative_rate"] = round(r["articles_per_s"] / base, 3)
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'stored':>8} {'articles':>8} {'art/s':>7} {'ms/art':>7} {'relative':>8} {'merged':>6} {'fill s':>7}")
    for r in rows:
        print(f"{r['stored_incidents']:>8} {r['articles']:>8} {r['articles_per_s']:>7} {r['ms_per_article']:>7} "
              f"{r['relative_rate']:>8} {r['merged']:>6} {r['fill_seconds']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
