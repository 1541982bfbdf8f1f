"""Run every fuzz target for a bounded budget; exit non-zero on a crash or a hang.

    python fuzz/run.py                       # each target its fixed run count, seed 1 (what CI runs)
    python fuzz/run.py --seconds 600 --seed 0 feed   # one target, 600 s, new ground each time
    python fuzz/run.py --json fuzz-stats.json

Each target runs in its own process (fuzz.py under libFuzzer) starting from its
seed corpus (fuzz/corpus/<target>, left unchanged: new inputs go to a temporary
directory). An input slower than ``--timeout`` seconds counts as a hang. A
crashing or hanging input is saved under ``--artifacts`` (default
fuzz/artifacts/) for a regression test. The closing line says how many targets
passed and failed.

By default the run is reproducible: seed 1, a fixed number of executions
per target (RUNS, about a minute each on the 2-core machines), str hashing
fixed (PYTHONHASHSEED=0), address randomization off (``setarch -R``: object
hashes are addresses) and no corpus reloads (``-reload=0``: libFuzzer
otherwise re-reads its directory on a timer). Two such runs from the same
checkout path execute the same inputs in the same order (another path
moves object addresses, and the inputs differ a little: docs/reliability.md),
so a red CI run means the change broke something, not that the dice found
something new. A slower machine that reaches the ``--seconds`` cap first
explores a prefix of them. Hunting for new crashes is ``--seed 0`` (random) with ``--seconds``;
what it finds goes to tests/data/fuzz with its fix.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = ["text", "html", "jsonl", "feed", "extract"]
# executions per target in the reproducible run: about 60 s each on the development machine
RUNS = {"text": 100_000, "html": 10_000, "jsonl": 5_000, "feed": 10_000, "extract": 1_000}


@functools.lru_cache(maxsize=1)
def _no_aslr() -> tuple[str, ...]:
    """``setarch -R`` where the kernel lets a process turn address randomization off, else nothing."""
    try:
        ok = subprocess.run(["setarch", "-R", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    if not ok:
        print("fuzz: setarch -R is not available here; runs are reproducible only in part", flush=True)
    return ("setarch", "-R") if ok else ()


def run_target(name: str, seconds: int, timeout: int, artifacts: Path, rss_mb: int, seed: int = 1,
               runs: int | None = None) -> dict:
    artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as work:
        cmd = [sys.executable, str(HERE / "fuzz.py"), name, work, str(HERE / "corpus" / name),
               f"-max_total_time={seconds}", f"-timeout={timeout}", f"-rss_limit_mb={rss_mb}",
               f"-seed={seed}", "-print_final_stats=1", f"-artifact_prefix={artifacts}/{name}-"]
        if runs:
            cmd.append(f"-runs={runs}")
        env = dict(os.environ)
        if seed:
            # str hashes change set and dict orders, and with them coverage and libFuzzer's path;
            # so do object addresses (default hashes), which ASLR moves on every run; a timed
            # reload of the corpus directory changes the path too
            env["PYTHONHASHSEED"] = "0"
            cmd.append("-reload=0")
            cmd[:0] = _no_aslr()  # checked once per run of this script
        t0 = time.time()
        # the hard cap covers loading the models and a hang that libFuzzer's own timer misses
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout + 300, env=env)
            out, code = proc.stderr + proc.stdout, proc.returncode
        except subprocess.TimeoutExpired as exc:
            out, code = (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or ""), -9
        elapsed = time.time() - t0
    stat = dict(re.findall(r"stat::(\w+):\s*(\d+)", out))
    execs = int(stat.get("number_of_executed_units", 0))
    if not execs:
        m = re.findall(r"#(\d+)\s+(?:pulse|NEW|REDUCE|DONE|INITED)", out)
        execs = int(m[-1]) if m else 0
    kind = None
    if code != 0:
        kind = "hang" if ("timeout" in out.lower() and "ERROR: libFuzzer: timeout" in out) or code == -9 else "crash"
    artifact = re.findall(r"Test unit written to (\S+)", out)
    return {"target": name, "seconds": round(elapsed, 1), "executions": execs,
            "exec_per_s": round(execs / max(elapsed, 1e-9), 1), "cov": int(stat.get("new_units_added", 0)),  # equal across reproducible runs on one path
            "failure": kind, "artifact": artifact[-1] if artifact else None, "exit": code,
            "log_tail": "\n".join(out.strip().splitlines()[-40:]) if code != 0 else ""}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("targets", nargs="*", metavar="TARGET", help=f"some of {', '.join(TARGETS)} (default: all)")
    ap.add_argument("--seconds", type=int, default=None,
                    help="fuzzing time per target; without --runs, run for this long (default: "
                         "each target's fixed run count, capped at 300 s)")
    ap.add_argument("--runs", type=int, default=None,
                    help=f"executions per target (default with no --seconds: {RUNS})")
    ap.add_argument("--timeout", type=int, default=30, help="seconds one input may take before it is a hang")
    ap.add_argument("--rss-mb", type=int, default=6144, help="memory one target may use")
    ap.add_argument("--seed", type=int, default=1, help="libFuzzer's seed (0: random, for hunting new crashes)")
    ap.add_argument("--artifacts", type=Path, default=HERE / "artifacts")
    ap.add_argument("--json", type=Path, help="write the statistics here")
    args = ap.parse_args()
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        ap.error(f"unknown target(s) {', '.join(sorted(unknown))}; choose from {', '.join(TARGETS)}")
    results = []
    for name in args.targets or TARGETS:
        runs = args.runs or (RUNS[name] if args.seconds is None else None)
        r = run_target(name, args.seconds or 300, args.timeout, args.artifacts, args.rss_mb, args.seed, runs)
        results.append(r)
        status = "ok" if r["failure"] is None else f"FAILED ({r['failure']}: {r['artifact']})"
        print(f"fuzz {name:8} {r['executions']:>9} executions in {r['seconds']:>6} s "
              f"({r['exec_per_s']} /s), {r['cov']} new corpus units {status}", flush=True)
        if r["failure"]:
            print(r["log_tail"], flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    failed = sum(r["failure"] is not None for r in results)
    print(f"fuzz: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
