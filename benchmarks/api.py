"""REST API latency over a large SQLite store: list, filter and search requests.

    .venv/bin/python benchmarks/api.py [-n 100000] [--requests 200] [--db PATH] [--json]

Builds (or reuses, with ``--db``) a store of N generated incidents: random
fictional victims (name, country, sector), real actor names with kb ids,
attack types, dates over three years, a summary and eight evidence spans each,
every incident read from its own generated article (about 600 characters), so
records, sources and full-text search have realistic sizes. Rows are written
in bulk through the store's tables (the FTS triggers run as in production);
the ingest path itself is measured by ``benchmarks/ingest.py``.

The server is the real one: ``incidex.serve.app.create_app`` under uvicorn on
127.0.0.1, in a child process pinned to one core. One keep-alive HTTP client
sends the requests one after another (after a warm-up), with parameters drawn
at random from these kinds:

* ``list``:   ``/api/v1/incidents`` pages (default page of 50, offsets 0-5000);
* ``filter``: country, type, sector, actor, outcome, date range, a victim, and
  two-filter combinations;
* ``search``: ``q`` = a victim-name word, an actor, an attack word, a phrase,
  and q plus a filter;
* ``facets``: several values of a filter (``type=a&type=b``) and negations
  (``not_country=X``), alone and combined.

Reported per kind: requests, p50, p95 and max latency in ms (the target is
p95 <= 50 ms for each), the p50 and p95 of the server's CPU time per request
(``x-cpu-ms``, added by a benchmark-only middleware: it does not grow when
other jobs share the core, wall time does), plus the statistics endpoint cold (first call after a
change) and warm (cached). Then the first requests (``--cold`` of each, default 20): UI list pages
(``/`` with its five facets), each a filter the server has not seen, and the same pages again
(warm); ``/api/v1/stats``, ``/stats``, ``/timeline`` and ``/graph`` each right after an incident
was rewritten through the store (another type and country), so no cache holds them. The server
starts as ``incidex serve`` does: ``Store.warm_counts()`` (the facet index) before the first
request. With ``--runs N`` the whole measurement is repeated
(same requests, a fresh server) and each kind keeps its best run: on a machine
shared with other jobs the slower runs measure the neighbours.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from resolve import ACTORS, COUNTRIES, KINDS, SECTORS, SYL  # noqa: E402  (shared generators)

TYPES = ["ransomware", "data-breach", "ddos", "espionage", "phishing", "wiper", "defacement", "supply-chain"]
SENTENCES = [
    "{victim} said on {day} that attackers had disrupted its systems and that an investigation was under way.",
    "The {actor} group claimed responsibility for the {type} attack on its leak site.",
    "Officials in {country} said services were restored within days and that no ransom was paid.",
    "Researchers said the intrusion began with a phishing email sent to an employee of {victim}.",
    "The incident is the latest in a series of attacks on the {sector} sector this year.",
]


def fill(db: str, n: int, seed: int = 11) -> float:
    """Write N incidents (and their articles) in bulk; returns seconds."""
    import sqlalchemy as sa

    from incidex.records import Actor, Attribution, DateValue, Evidence, Incident, Victim
    from incidex.store import codec, open_store
    from incidex.store.tables import (
        articles, incident_actors, incident_articles, incident_attack_types, incident_victims, incidents,
    )

    rng = random.Random(seed)
    store = open_store(db)
    engine = store.engine
    start = date(2022, 1, 1)
    now = codec.now_utc().replace(tzinfo=None)
    t0 = time.perf_counter()
    batch = 2000
    for lo in range(0, n, batch):
        rows = {t: [] for t in ("a", "i", "l", "act", "v", "t")}
        for k in range(lo, min(n, lo + batch)):
            victim = "".join(rng.choice(SYL) for _ in range(3)).capitalize() + " " + rng.choice(KINDS)
            actor, kb = rng.choice(ACTORS)
            country, sector = rng.choice(COUNTRIES), rng.choice(SECTORS)
            types = sorted({rng.choice(TYPES) for _ in range(rng.choice((1, 1, 1, 2)))})
            d = start + timedelta(days=rng.randrange(1095))
            precision = rng.choice(("day", "day", "day", "month"))
            value = d.isoformat() if precision == "day" else d.isoformat()[:7]
            body = " ".join(s.format(victim=victim, actor=actor, type=types[0], country=country, sector=sector,
                                     day=d.strftime("%A")) for s in SENTENCES)
            aid, iid = f"art-{k:07d}", f"inc-{k:07d}"
            spans = []
            pos = 0
            for s_i, sent in enumerate(body.split(". ")):
                field = ["victims[0]", "attackers[0]", "place", "techniques", "attack_types"][s_i % 5]
                spans.append(Evidence(field, pos, pos + len(sent), sent, aid))
                pos += len(sent) + 2
            spans += [Evidence("victims[0].mention", 0, len(victim), victim, aid)] * 3
            inc = Incident(id=iid, summary=f"{actor}: {'/'.join(types)} attack on {victim} ({value})",
                           attack_types=types, attackers=[Actor(name=actor, mention=actor, kind="group", kb_id=kb)],
                           attribution=Attribution("claimed", [actor]),
                           victims=[Victim(name=victim, country=country, sector=sector, mention=victim)],
                           date=DateValue(value, precision), outcome=rng.choice(("successful", "successful", "attempted")),
                           evidence=spans[:8], confidence=0.8)
            d_from, d_to = codec.date_range(inc.date)
            rows["a"].append({"id": aid, "url": f"https://news{k % 40}.example/{aid}", "source": f"news{k % 40}.example",
                              "title": inc.summary, "published": d.isoformat(), "body": body, "raw_kind": "text",
                              "published_at": now, "stored_at": now, "removed": []})
            rows["i"].append({"id": iid, "doc": inc.to_dict(), "summary": inc.summary, "date_value": value,
                              "date_precision": precision, "date_from": d_from, "date_to": d_to, "outcome": inc.outcome,
                              "attribution_status": "claimed", "attack_types": types, "confidence": 0.8,
                              "background": False, "created_at": now, "updated_at": now})
            rows["l"].append({"incident_id": iid, "article_id": aid, "role": "primary"})
            rows["act"].append({"incident_id": iid, "name": actor, "name_key": codec.name_key(actor), "kind": "group",
                                "kb_id": kb, "state_link": None})
            rows["v"].append({"incident_id": iid, "name": victim, "name_key": codec.name_key(victim),
                              "country": country, "country_key": codec.name_key(country), "sector": sector})
            rows["t"] += [{"incident_id": iid, "attack_type": t} for t in types]
        with engine.begin() as conn:
            for table, key in ((articles, "a"), (incidents, "i"), (incident_articles, "l"), (incident_actors, "act"),
                               (incident_victims, "v"), (incident_attack_types, "t")):
                conn.execute(table.insert(), rows[key])
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    store.close()
    return time.perf_counter() - t0


REQUEST_KINDS = ("list", "filter", "search", "facets")


def requests_for(kind: str, rng: random.Random, words: list[str]) -> str:
    if kind == "list":
        return f"/api/v1/incidents?offset={rng.choice([0, 0, 50, 100, 500, 1000, 5000])}"
    if kind == "filter":
        actor = rng.choice(ACTORS)
        y = rng.choice([2022, 2023, 2024])
        return rng.choice([
            f"/api/v1/incidents?country={rng.choice(COUNTRIES)}",
            f"/api/v1/incidents?type={rng.choice(TYPES)}",
            f"/api/v1/incidents?sector={rng.choice(SECTORS)}",
            f"/api/v1/incidents?actor={actor[1]}",
            f"/api/v1/incidents?actor={actor[0].replace(' ', '+')}",
            "/api/v1/incidents?outcome=attempted",
            f"/api/v1/incidents?since={y}-0{rng.randint(1, 9)}&until={y}-{rng.randint(10, 12)}",
            f"/api/v1/incidents?country={rng.choice(COUNTRIES)}&type={rng.choice(TYPES)}",
            f"/api/v1/incidents?sector={rng.choice(SECTORS)}&since={y}",
            f"/api/v1/incidents?victim={rng.choice(words)}+{rng.choice(KINDS).replace(' ', '+')}",
        ])
    if kind == "facets":
        t1, t2 = rng.sample(TYPES, 2)
        (c1, c2), (a1, a2) = rng.sample(COUNTRIES, 2), rng.sample(ACTORS, 2)
        s1, s2 = rng.sample(SECTORS, 2)
        return rng.choice([
            f"/api/v1/incidents?type={t1}&type={t2}",
            f"/api/v1/incidents?country={c1}&country={c2}",
            f"/api/v1/incidents?not_type={t1}",
            f"/api/v1/incidents?not_country={c1}",
            f"/api/v1/incidents?type={t1}&type={t2}&not_country={c1}",
            f"/api/v1/incidents?sector={s1}&sector={s2}&not_outcome=attempted",
            f"/api/v1/incidents?actor={a1[1]}&actor={a2[1]}&not_type={t1}",
            f"/api/v1/incidents?country={c1}&country={c2}&type={t1}&not_sector={s1}",
        ])
    return rng.choice([
        f"/api/v1/incidents?q={rng.choice(words)}",
        f"/api/v1/incidents?q={rng.choice(ACTORS)[0].split()[0]}",
        f"/api/v1/incidents?q={rng.choice(TYPES)}",
        f"/api/v1/incidents?q=%22{rng.choice(KINDS).split()[0]}%22+{rng.choice(TYPES)}",
        f"/api/v1/incidents?q={rng.choice(words)}&country={rng.choice(COUNTRIES)}",
        f"/api/v1/search?q={rng.choice(words)}",
    ])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CpuTiming:
    """ASGI middleware (benchmark only): the process CPU time a request took, in an ``x-cpu-ms`` header.

    Requests come one at a time, so the process's CPU time over a request is
    that request's: unlike wall time it does not grow when other jobs share
    the core.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        start = time.process_time()

        async def timed(message):
            if message["type"] == "http.response.start":
                cpu = (time.process_time() - start) * 1000
                message["headers"] = list(message.get("headers", [])) + [(b"x-cpu-ms", f"{cpu:.2f}".encode())]
            await send(message)

        await self.app(scope, receive, timed)


def serve_child(db: str, port: int) -> None:
    """The server as ``incidex serve`` runs it: the store's counts warmed before the first request."""
    import uvicorn

    from incidex.serve.app import create_app
    from incidex.store import open_store

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    store = open_store(db)
    warm = getattr(store, "warm_counts", None)  # absent before the facet index (to measure the old code)
    if warm is not None:
        t0 = time.perf_counter()
        warm()
        print(f"warm_counts: {time.perf_counter() - t0:.2f} s", file=sys.stderr, flush=True)
    uvicorn.run(CpuTiming(create_app(store=store)), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


COLD_KINDS = ("ui_cold", "ui_warm", "stats_cold", "stats_warm", "stats_ui_cold", "timeline_cold", "graph_cold")


def index_size(db: str) -> dict | None:
    """The facet index of the store, built in this process: incidents, bytes, seconds (None before it)."""
    from incidex.store import open_store

    store = open_store(db)
    try:
        return store.warm_counts() if hasattr(store, "warm_counts") else None
    finally:
        store.close()


def ui_filters(rng: random.Random, n: int) -> list[str]:
    """N different facet filters of the UI list page (two types and a negated country, countries,
    sectors with a negated type, ...): each is new to the server's caches, so each page is cold."""
    seen: set[str] = set()
    while len(seen) < n:
        t1, t2 = rng.sample(TYPES, 2)
        (c1, c2), (s1, s2) = rng.sample(COUNTRIES, 2), rng.sample(SECTORS, 2)
        seen.add(rng.choice([
            f"/?type={t1}&type={t2}&not_country={c1}",
            f"/?country={c1}&country={c2}&not_type={t1}",
            f"/?sector={s1}&sector={s2}&not_outcome=attempted",
            f"/?type={t1}&country={c1}",
            f"/?not_type={t1}&not_sector={s1}",
            f"/?country={c1}&sector={s1}&type={t1}&type={t2}",
        ]))
    return sorted(seen)


def change_one(store, k: int, rng: random.Random) -> None:
    """Rewrite incident ``inc-k`` through the store with another type and victim country (what a
    merge does to an incident): the statistics and facet caches are stale after it."""
    from dataclasses import replace

    inc = store.get_incident(f"inc-{k:07d}")
    victims = [replace(v, country=rng.choice(COUNTRIES)) for v in inc.victims]
    store.put_incident(replace(inc, attack_types=[rng.choice(TYPES)], victims=victims), new=False)


def timed(client, url: str) -> float:
    t0 = time.perf_counter()
    r = client.get(url)
    if r.status_code != 200:
        raise SystemExit(f"{url}: HTTP {r.status_code} {r.text[:200]}")
    return (time.perf_counter() - t0) * 1000


def summary(times: list[float]) -> dict:
    times = sorted(times)
    return {"requests": len(times), "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1), "max_ms": round(times[-1], 1)}


def measure_cold(client, db: str, n: int, seed: int) -> dict:
    """First requests for new filters and first requests after a change, then the same again (warm).

    ``ui_cold``: N UI list pages (``/`` with facets), each a filter the server has not seen;
    ``ui_warm``: the same pages again. ``stats_cold``: ``/api/v1/stats`` right after an incident
    changed (N times), ``stats_ui_cold`` the ``/stats`` page likewise, ``timeline_cold`` and
    ``graph_cold`` a ``/timeline`` and ``/graph`` of a type after a change.
    """
    from incidex.store import open_store

    rng = random.Random(f"{seed}-cold")
    pages = ui_filters(rng, n)
    out = {"ui_cold": summary([timed(client, u) for u in pages]),
           "ui_warm": summary([timed(client, u) for u in pages])}
    store = open_store(db)
    try:
        cold: dict[str, list[float]] = {"stats_cold": [], "stats_warm": [], "stats_ui_cold": [],
                                        "timeline_cold": [], "graph_cold": []}
        for j in range(n):
            for name, url in (("stats_cold", "/api/v1/stats"), ("stats_ui_cold", "/stats"),
                              ("timeline_cold", f"/timeline?type={TYPES[j % len(TYPES)]}"),
                              ("graph_cold", f"/graph?type={TYPES[j % len(TYPES)]}")):
                change_one(store, rng.randrange(1000), rng)
                cold[name].append(timed(client, url))
                if name == "stats_cold":
                    cold["stats_warm"].append(timed(client, url))
    finally:
        store.close()
    out.update({k: summary(v) for k, v in cold.items()})
    return out


def measure(db: str, n_requests: int, n_cold: int = 20, seed: int = 5) -> dict:
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve-child", db, "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60, trust_env=False) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("server did not start")
                time.sleep(0.2)
            rng = random.Random(seed)
            words = [("".join(rng.choice(SYL) for _ in range(3))).capitalize() for _ in range(200)]
            for kind in REQUEST_KINDS:  # warm-up: page cache, statement cache
                for _ in range(20):
                    client.get(requests_for(kind, rng, words))
            for url in ("/", "/?outcome=attempted", "/?country=DE&outcome=successful"):  # templates, labels
                client.get(url)  # filters that no cold page below uses
            out: dict = {}
            for kind in REQUEST_KINDS:
                times, cpu, worst = [], [], ("", 0.0)
                rng = random.Random(f"{seed}-{kind}")  # every run sends the same requests
                for _ in range(n_requests):
                    url = requests_for(kind, rng, words)
                    t0 = time.perf_counter()
                    r = client.get(url)
                    dt = (time.perf_counter() - t0) * 1000
                    if r.status_code != 200:
                        raise SystemExit(f"{url}: HTTP {r.status_code} {r.text[:200]}")
                    times.append(dt)
                    cpu.append(float(r.headers.get("x-cpu-ms", "nan")))
                    if dt > worst[1]:
                        worst = (url, dt)
                times.sort()
                cpu.sort()
                out[kind] = {"requests": len(times), "p50_ms": round(statistics.median(times), 1),
                             "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1), "max_ms": round(times[-1], 1),
                             "cpu_p50_ms": round(statistics.median(cpu), 1),
                             "cpu_p95_ms": round(cpu[int(0.95 * (len(cpu) - 1))], 1), "slowest": worst[0]}
            t0 = time.perf_counter()
            client.get("/api/v1/stats")
            cold = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            client.get("/api/v1/stats")
            warm = (time.perf_counter() - t0) * 1000
            out["stats"] = {"cold_ms": round(cold, 1), "warm_ms": round(warm, 1)}
            out.update(measure_cold(client, db, n_cold, seed))
            for name, url in (("ui_list_page_ms", "/?country=DE"),
                              ("ui_multi_page_ms", f"/?type={TYPES[0]}&type={TYPES[1]}&not_country=DE"),
                              ("ui_timeline_ms", f"/timeline?type={TYPES[0]}"),
                              ("ui_graph_ms", f"/graph?type={TYPES[0]}"), ("ui_graph_again_ms", f"/graph?type={TYPES[0]}")):
                t0 = time.perf_counter()
                r = client.get(url)
                if r.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {r.status_code}")
                out[name] = round((time.perf_counter() - t0) * 1000, 1)
            return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=100_000, help="incidents in the store")
    ap.add_argument("--requests", type=int, default=200, help="timed requests per kind")
    ap.add_argument("--db", help="reuse (or create) this database file instead of a temporary one")
    ap.add_argument("--runs", type=int, default=1, help="measure this many times (a fresh server each) and keep, "
                    "per kind, the run with the lowest p95: on a shared machine the others measured the neighbours")
    ap.add_argument("--cold", type=int, default=20, help="cold UI pages (each a new filter) and changes "
                    "before /stats, /timeline and /graph")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve-child", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve_child:
        serve_child(a.serve_child, a.port)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        db = a.db or str(Path(tmp) / "api-bench.db")
        fill_s = None
        if not Path(db).exists():
            fill_s = round(fill(db, a.n), 1)
        runs = [measure(db, a.requests, a.cold) for _ in range(max(1, a.runs))]
        res = {"incidents": a.n, "fill_seconds": fill_s, **runs[0]}
        for kind in (*REQUEST_KINDS, *COLD_KINDS):
            res[kind] = min((r[kind] for r in runs), key=lambda r: r["p95_ms"])
            res[kind]["p95_ms_each_run"] = [r[kind]["p95_ms"] for r in runs]
        res["load_average"] = [round(x, 2) for x in os.getloadavg()]
        res["facet_index"] = index_size(db)
    if a.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{res['incidents']} incidents (fill {res['fill_seconds']} s)")
    print(f"{'kind':<8} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p50':>8} {'cpu p95':>8}  "
          f"{'p95 each run':<20} slowest")
    for kind in REQUEST_KINDS:
        r = res[kind]
        each = ", ".join(str(x) for x in r["p95_ms_each_run"])
        print(f"{kind:<8} {r['requests']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['max_ms']:>8} {r['cpu_p50_ms']:>8} "
              f"{r['cpu_p95_ms']:>8}  {each:<20} {r['slowest']}")
    print(f"load average at the end: {res['load_average']}")
    for name in COLD_KINDS:
        r = res[name]
        print(f"{name:<14} {r['requests']:>4} requests: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, max {r['max_ms']} ms"
              f" (p95 each run: {', '.join(str(x) for x in r['p95_ms_each_run'])})")
    print(f"facet index: {res['facet_index']}")
    print(f"stats: cold {res['stats']['cold_ms']} ms, warm {res['stats']['warm_ms']} ms; "
          f"UI list page (country filter, facets) {res['ui_list_page_ms']} ms")
    print(f"UI: two types and a negated country {res['ui_multi_page_ms']} ms, timeline {res['ui_timeline_ms']} ms, "
          f"graph {res['ui_graph_ms']} ms (again: {res['ui_graph_again_ms']} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
