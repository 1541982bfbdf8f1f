"""Fuzz the running server against its own OpenAPI document with schemathesis; exit non-zero on any failure.

    python scripts/fuzz_api.py                      # what CI runs: seed 1, 25 examples per operation
    python scripts/fuzz_api.py --examples 200 --seed 7 --keep /tmp/fuzz   # a longer hunt, report kept
    python scripts/fuzz_api.py --db postgresql://user@127.0.0.1/empty_db  # the same over PostgreSQL

It ingests a few ``examples/articles`` into a new SQLite store, starts
``incidex serve`` on 127.0.0.1 (a free port) over it, and runs ``schemathesis run``
with every check (server errors, status codes, content types, headers and
bodies against the document, valid data accepted, invalid data refused,
``Allow`` on 405s, authentication...) on every operation of
``/api/v1/openapi.json``: the REST API and TAXII. Generation is deterministic
with a fixed seed, so a red CI run means the change broke something, not that
the dice found something new; hunting for new failures is ``--seed`` with more
``--examples``, and what it finds gets a test (tests/test_api_edges.py) with its fix.

Path ids (collection, incident, article, actor, STIX object) are drawn from the
store in most cases (``schemathesis.toml`` written in the run's folder), so the
filters and paging behind them are fuzzed too. No API key is given: write
operations are checked for their 401 (so no generated URL is ever fetched).
The closing line says how many test cases ran and how many failed; the exit
code is 0 only when schemathesis ran cases and found no failure.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = sorted((ROOT / "examples" / "articles").glob("*.txt"))
HOOKS = Path(__file__).resolve().with_name("fuzz_api_hooks.py")  # the refusals that are right
STARTUP_SECONDS = 120


def make_store(db: Path | str, count: int) -> None:
    """A small store: the first ``count`` example articles ingested as ``incidex ingest`` does."""
    import incidex
    from incidex.store import open_store

    store = open_store(db)
    try:
        report = incidex.ingest([str(p) for p in ARTICLES[:count]], store)
    finally:
        store.close()
    if not report.new:
        raise SystemExit(f"fuzz_api: no article could be ingested: {report.to_dict()}")
    print(f"fuzz_api: store with {report.new} articles and {report.incidents} incidents", flush=True)


def known_ids(db: Path | str) -> dict[str, list[str]]:
    """Ids the store holds, by path parameter name: fuzzing with them reaches past the 404s into the
    filters and paging of one collection, incident, article or actor."""
    from incidex.export.taxii import ALIAS, COLLECTION_ID, ObjectIndex
    from incidex.store import open_store

    store = open_store(db)
    try:
        return {"collection_id": [COLLECTION_ID, ALIAS],
                "incident_id": [d["id"] for d in store.list_incident_docs(limit=10)],
                "article_id": [a.id for a in store.list_articles(limit=10)],
                "actor_id": [a["id"] for a in store.list_actors(limit=10)],
                "object_id": [e.id for e in ObjectIndex(store).entries()[:20]]}
    finally:
        store.close()


def write_config(path: Path, ids: dict[str, list[str]], share: float = 0.8) -> None:
    """A schemathesis.toml that draws each id parameter from ``ids`` in ``share`` of the cases
    (the rest are generated, so unknown ids and their 404s are still tried)."""
    lines = []
    for name, values in ids.items():
        if values:
            lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = {share} }}' for name, values in ids.items()
              if values]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    """This process's environment, with no proxy for 127.0.0.1 and the checkout's sources first."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    env["SCHEMATHESIS_HOOKS"] = str(HOOKS)
    return env


@contextmanager
def serving(db: Path | str, log: Path) -> Iterator[str]:
    """``incidex serve`` over ``db`` on 127.0.0.1: yields its base URL once /health answers, stops it after."""
    port = free_port()
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "incidex", "serve", "--db", str(db), "--host", "127.0.0.1",
                                   "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=_env())
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(server, base, log)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(server: subprocess.Popen, base: str, log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"fuzz_api: the server exited ({server.returncode}):\n{log.read_text(errors='replace')}")
        try:
            with opener.open(f"{base}/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"fuzz_api: the server did not answer /health within {STARTUP_SECONDS} s")


def schemathesis_command(base: str, args: argparse.Namespace, report_dir: Path) -> list[str]:
    """``schemathesis run`` with every check and every phase, generation fixed by ``args.seed``."""
    return [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/api/v1/openapi.json",
            "--checks", "all", "--seed", str(args.seed), "--max-examples", str(args.examples),
            "--workers", str(args.workers),
            "--request-timeout", "60", "--no-color", "--report", "junit", "--report-dir", str(report_dir)]


_CASES = re.compile(r"Test cases:\s*(\d+) generated(?:, (\d+) found (\d+) unique failures?)?")


def counts(output: str) -> tuple[int, int]:
    """(test cases run, unique failures) from schemathesis' summary."""
    m = _CASES.search(output)
    if not m:
        return 0, 0
    return int(m.group(1)), int(m.group(3) or 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=25, help="test cases per operation and phase (default 25)")
    ap.add_argument("--seed", type=int, default=1, help="schemathesis' seed (default 1)")
    ap.add_argument("--articles", type=int, default=4, help="example articles in the store (default 4)")
    ap.add_argument("--workers", type=int, default=1, help="schemathesis workers (default 1)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds for the whole schemathesis run (default 900)")
    ap.add_argument("--keep", type=Path, help="keep the store, server log and JUnit report in this folder")
    ap.add_argument("--db", help="an empty store to fill and serve instead of a new SQLite file (e.g. a "
                                 "PostgreSQL URL, where a NUL in any text is refused)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="incidex-fuzz-api-"))
    try:
        db: Path | str = args.db or work / "fuzz.db"
        make_store(db, args.articles)
        write_config(work / "schemathesis.toml", known_ids(db))  # read from the run's folder
        with serving(db, work / "server.log") as base:
            cmd = schemathesis_command(base, args, work / "report")
            print("fuzz_api:", " ".join(cmd[1:]), flush=True)
            try:
                run = subprocess.run(cmd, env=_env(), cwd=work, capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"fuzz_api: schemathesis did not finish within {args.timeout} s", flush=True)
                return 1
        print(run.stdout, run.stderr, sep="\n", flush=True)
        cases, failures = counts(run.stdout)
        failed = run.returncode != 0 or failures > 0 or cases == 0
        print(f"fuzz_api: {cases} test cases, {failures} failures (schemathesis exit code {run.returncode})")
        return 1 if failed else 0
    finally:
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
