"""What the feed watcher costs beyond extraction, against a local HTTP server on 127.0.0.1.

    .venv/bin/python benchmarks/watch.py [-n 300] [--feeds 100] [--json]

Scenarios (one process pinned to one core; a real SQLite store in a temporary
directory; politeness 0 so only our own work is timed):

* ``first pass``: one feed of N new entries (full text in the feed), with a
  no-op extractor: fetch, parse, entry keys and seen-lookup, clean, dedup,
  store and the entry rows, in chunks of ``[ingest] chunk_size``;
* ``first pass, full``: the same with the default extractor (N/3 entries;
  extraction and cross-article resolution dominate);
* ``repeat pass``: the same N-entry feed polled again from a server that
  sends no validators: fetched and parsed in full, every entry already seen;
* ``quiet pass``: F feeds that each answer 304 Not Modified.

Every story is generated here from project-written templates filled with
invented names and numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

_SYL = [["var", "quor", "bel", "tam", "ost", "kel", "mir", "dra", "fen", "lum", "sor", "hal", "brin", "cael", "dun"],
        ["en", "a", "o", "i", "ar", "el", "on", "is", "um", "et"],
        ["ford", "vale", "mouth", "ton", "wick", "stead", "brook", "haven", "ridge", "field", "port", "moor"]]
_KINDS = ["Logistics", "Water Authority", "Savings Bank", "Clinic", "Foods", "School Trust", "Freight", "Council",
          "Textiles", "Insurance", "Hotels", "Metals"]
_GANGS = ["Grey Lantern", "Iron Sparrow", "Mist Vole", "Cinder Hare", "Quiet Pike", "Amber Gull", "Salt Crane",
          "Rust Marten"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
_SENTENCES = [
    "{org} said a ransomware attack on {day} {month} {date} encrypted its {system} and disrupted operations "
    "for {n} days.",
    "The {gang} group claimed the intrusion on its leak site and said it had copied {gb} gigabytes of files.",
    "{org} told customers in {town} that it had notified regulators and hired an incident response firm.",
    "Investigators believe the attackers used stolen credentials for a remote access service, {org} said.",
    "Services in {town} were restored over the following week, and the company said it would not pay.",
]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(part) for part in _SYL).capitalize()


def story(i: int) -> tuple[str, str]:
    """An invented story: a distinct victim (random syllables), a gang, a town and a date."""
    rng = random.Random(i)
    org = f"{_name(rng)} {rng.choice(_KINDS)}"
    slots = {"org": org, "gang": rng.choice(_GANGS), "town": _name(rng), "month": rng.choice(_MONTHS),
             "date": rng.randint(1, 28), "day": rng.choice(["Monday", "Tuesday", "Friday"]),
             "system": rng.choice(["email", "billing", "ERP", "booking"]) + " servers",
             "n": rng.randint(2, 9), "gb": rng.randint(10, 900)}
    body = "".join(f"<p>{escape(s.format(**slots))}</p>" for s in _SENTENCES)
    return f"{org} hit by ransomware", body


def feed_xml(base: str, n: int, offset: int = 0) -> bytes:
    items = "".join(
        f"<item><title>{escape(t)}</title><link>{base}/a/{i}</link><guid>bench-{i}</guid>"
        f"<description><![CDATA[{b}]]></description></item>"
        for i in range(offset + n - 1, offset - 1, -1) for t, b in [story(i)])
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title><link>{base}/</link>'
            f"<description>d</description>{items}</channel></rss>").encode()


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[bytes, str | None]] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        body, etag = self.routes.get(self.path, (b"", None))
        if etag and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class NoopExtractor:
    """No incidents: only the watcher and ingest stage are timed."""

    def extract_article(self, article):
        from incidex.records import ExtractionResult

        return ExtractionResult(article, [])

    def extract_many(self, articles):
        return [self.extract_article(a) for a in articles]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=300, help="entries in the benchmark feed")
    ap.add_argument("--feeds", type=int, default=100, help="feeds in the quiet (304) pass")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from incidex.extraction.pipeline import default_extractor
    from incidex.settings import load_settings
    from incidex.store import open_store
    from incidex.watch import FeedConfig, Watcher

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    settings = json.loads(json.dumps(load_settings()))
    settings["ingest"]["allow_private_addresses"] = ["127.0.0.1"]
    settings["watch"]["politeness_seconds"] = 0
    n_full = max(1, args.n // 3)
    _Handler.routes = {"/big.xml": (feed_xml(base, args.n), None),
                       "/full.xml": (feed_xml(base, n_full, offset=100_000), None)}
    for k in range(args.feeds):
        _Handler.routes[f"/q{k}.xml"] = (feed_xml(base, 3, offset=200_000 + 3 * k), f'"q{k}"')
    big = FeedConfig(url=f"{base}/big.xml", name="big", interval=600)
    full = FeedConfig(url=f"{base}/full.xml", name="full", interval=600)
    quiet = [FeedConfig(url=f"{base}/q{k}.xml", name=f"q{k}", interval=600) for k in range(args.feeds)]
    extractor = default_extractor()
    extractor.extract_article(__import__("incidex").api.to_article(
        __import__("incidex.records", fromlist=["RawDocument"]).RawDocument("warm-up", story(0)[1])))

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        def timed(name, store, feeds, ex, units, unit):
            w = Watcher(store, feeds, settings=settings, extractor=ex)
            t0 = time.perf_counter()
            results = w.run_once()
            dt = time.perf_counter() - t0
            assert all(r.status in ("ok", "not-modified") for r in results), results
            rows.append({"scenario": name, "seconds": round(dt, 3), "units": units, "unit": unit,
                         "per_second": round(units / dt, 1), "ms_per_unit": round(1000 * dt / units, 2),
                         "new": sum(r.new for r in results)})

        with open_store(Path(tmp) / "a.db") as store:
            timed("first pass (no-op extractor)", store, [big], NoopExtractor(), args.n, "entries")
            timed("repeat pass (all seen, no validators)", store, [big], NoopExtractor(), args.n, "entries")
        with open_store(Path(tmp) / "b.db") as store:
            timed("first pass, full (default extractor)", store, [full], extractor, n_full, "entries")
        with open_store(Path(tmp) / "c.db") as store:
            Watcher(store, quiet, settings=settings, extractor=NoopExtractor()).run_once()  # learn the ETags
            timed("quiet pass (every feed 304)", store, quiet, NoopExtractor(), args.feeds, "feeds")
    httpd.shutdown()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'scenario':<40} {'units':>7} {'seconds':>8} {'per s':>8} {'ms each':>8}")
    for r in rows:
        print(f"{r['scenario']:<40} {r['units']:>4} {r['unit'][:3]} {r['seconds']:>8} {r['per_second']:>8} "
              f"{r['ms_per_unit']:>8}")


if __name__ == "__main__":
    sys.exit(main())
