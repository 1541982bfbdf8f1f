#!/usr/bin/env python3
"""Build a feed-item proxy from CASIE dev: each article's headline plus the first 260 characters
of its body, cut mid-word with "…" as feed descriptions are, and the gold's primary incidents.

    python scripts/make_feed_proxy.py [--casie ../shared/data/casie] [--out /tmp/feed-proxy]
    incidex eval incidents /tmp/feed-proxy/feed_gold.json /tmp/feed-proxy/feed.jsonl

Why: the hidden sets include recent feed items (a headline and a description of a sentence or
two) and dev has none; this proxy checks that a rule chosen on full articles does not break the
short form (docs/evaluation.md). It is a proxy: real descriptions are summaries, not cut leads,
and background incidents are left out because a lead rarely tells them. Dev only, never train.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CUT = 260


def cut(text: str, n: int = CUT) -> str:
    """The first ``n`` characters and a few more, ending inside a word, then an ellipsis."""
    if len(text) <= n:
        return text
    head = text[:n]
    return head[:head.rfind(" ") + 4] + "…"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--casie", type=Path, default=ROOT.parent / "shared" / "data" / "casie")
    ap.add_argument("--out", type=Path, default=Path("/tmp/feed-proxy"))
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    with (a.casie / "dev.jsonl").open(encoding="utf-8") as src, (a.out / "feed.jsonl").open("w", encoding="utf-8") as dst:
        for line in src:
            if line.strip():
                d = json.loads(line)
                d["text"] = cut(d["text"])
                dst.write(json.dumps(d) + "\n")
    gold = json.loads((a.casie / "dev_incidents.gold.json").read_text(encoding="utf-8"))
    for art in gold:
        art["incidents"] = [i for i in art["incidents"] if i.get("role") == "primary"]
    (a.out / "feed_gold.json").write_text(json.dumps(gold), encoding="utf-8")
    print(f"{a.out}/feed.jsonl, {a.out}/feed_gold.json: {len(gold)} items, "
          f"{sum(len(x['incidents']) for x in gold)} primary incidents")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
