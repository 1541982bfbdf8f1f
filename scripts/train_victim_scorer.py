"""Train the victim scorer (incidex/data/models/victim-scorer.json) on CASIE train.

    python scripts/train_victim_scorer.py [--casie ../shared/data/casie] [--seed 13]

Runs incidex's own extraction (rules + the incident encoder, which must be built first:
scripts/train_incident_encoder.py) over every train article with the scorer switched to
"record": every victim candidate either proposer finds is kept and its features written down.
A candidate is labelled a victim when it overlaps a Victim argument of an Attack event that
CASIE marks as Actual (a headline candidate: when its words name such an argument of the body).
A logistic regression (scikit-learn, balanced classes) is fit on those rows; its weights go to
JSON, which extraction reads without scikit-learn. Five-fold cross-validation on train (folds by
article) chooses the threshold, as the F1-best cut of the out-of-fold probabilities. dev is
never read.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))

from incidex.extraction.victim_scorer import FEATURES, scorer_path  # noqa: E402


class Recorder:
    """Stands in for the scorer during extraction: keeps every candidate, records its features."""

    threshold = 0.0

    def __init__(self):
        self.rows: list[tuple] = []

    def score(self, c, x):
        self.rows.append((c.start, c.end, c.name, x))
        return 1.0


def victim_spans(article: dict) -> list[tuple[int, int, str]]:
    return [(a["span"][0], a["span"][1], a["text"]) for e in article["events"]
            if e["type"] == "Attack" and e["realis"] == "Actual"
            for a in e["arguments"] if a["role"] == "Victim"]


def label(start: int, end: int, name: str, shift: int, spans) -> int:
    if start >= shift:  # body offsets
        s0, e0 = start - shift, end - shift
        return int(any(a < e0 and b > s0 for a, b, _ in spans))
    words = {w.lower() for w in name.split() if len(w) > 2}
    return int(bool(words) and any(words & {w.lower() for w in t.split()} for _, _, t in spans))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--casie", type=Path, default=SHARED / "data" / "casie")
    ap.add_argument("--out", type=Path, default=scorer_path())
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--fold-encoders", default="",
                    help="comma-separated encoders trained with --fold K/N (K = position): article i is read by "
                         "encoder i mod N, which did not train on it, so the scorer learns how far to trust the "
                         "encoder on unseen text (without them the encoder's near-perfect answers on its own "
                         "training articles teach the scorer to trust it blindly)")
    ap.add_argument("--drop", default="", help="comma-separated features left out (weight 0)")
    a = ap.parse_args(argv)

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from incidex.extraction.headline import headline_shift
    from incidex.extraction.pipeline import Extractor
    from incidex.records import Article

    ex = Extractor(use_model=False, use_encoder=True)
    from incidex.extraction.encoder import IncidentEncoder

    # an empty position (",/tmp/enc_f1") leaves that fold's articles out
    folds = [IncidentEncoder(Path(p)) if p else None for p in a.fold_encoders.split(",")] if a.fold_encoders else []
    arts = [json.loads(line) for line in (a.casie / "train.jsonl").open()]
    X, y, groups = [], [], []
    t0 = time.time()
    for k, d in enumerate(arts):
        art = Article(id=d["id"], body=d["text"], title=d.get("title"), published=d["date"].replace("_", "-"),
                      language="en")
        if folds and folds[k % len(folds)] is None:
            continue
        rec = Recorder()
        ex.victim_scorer = rec
        if folds:
            ex.encoder = folds[k % len(folds)]
        ex.extract_each([art])
        shift = headline_shift(art)
        spans = victim_spans(d)
        for s, e, name, x in rec.rows:
            X.append(x)
            y.append(label(s, e, name, shift, spans))
            groups.append(k)
        if (k + 1) % 50 == 0:
            el = time.time() - t0
            print(f"{k + 1}/{len(arts)} articles, {len(y)} candidates, ETA {el / (k + 1) * (len(arts) - k - 1):.0f} s",
                  flush=True)
    X, y = np.array(X), np.array(y)
    for name in filter(None, a.drop.split(",")):
        X[:, FEATURES.index(name)] = 0.0
    print(f"{len(y)} candidates, {int(y.sum())} victims", flush=True)

    oof = np.zeros(len(y))
    for tr, te in GroupKFold(n_splits=5).split(X, y, groups):
        m = LogisticRegression(C=a.C, class_weight="balanced", max_iter=2000, random_state=a.seed).fit(X[tr], y[tr])
        oof[te] = m.predict_proba(X[te])[:, 1]
    best = max(((t, _f1(oof >= t, y)) for t in np.arange(0.2, 0.9, 0.025)), key=lambda p: p[1])
    model = LogisticRegression(C=a.C, class_weight="balanced", max_iter=2000, random_state=a.seed).fit(X, y)
    out = {"features": list(FEATURES), "coef": [round(float(c), 6) for c in model.coef_[0]],
           "intercept": round(float(model.intercept_[0]), 6), "threshold": round(float(best[0]), 3),
           "cv_f1": round(float(best[1]), 3), "candidates": int(len(y)), "victims": int(y.sum()),
           "trained_on": "CASIE train.jsonl (697 articles); labels: Victim arguments of Actual Attack events",
           "encoder_features": (f"cross-fitted: encoders {a.fold_encoders!r} read only articles they did not train on"
                                 if folds else "from the shipped encoder"), "articles": len(set(groups))}
    a.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "coef"}, indent=1))
    for name, c in sorted(zip(FEATURES, out["coef"]), key=lambda p: -abs(p[1])):
        print(f"  {name:<22} {c:+.3f}")
    return 0


def _f1(pred, y) -> float:
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


if __name__ == "__main__":
    sys.exit(main())
