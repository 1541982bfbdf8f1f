"""Train the attacker/victim phrase classifier (incidex.extraction.roles) on CASIE train.

    python scripts/train_roles.py [--casie ../shared/data/casie] [--model src/incidex/data/models/casie]
                                  [--C 0.5] [--thresholds 0.3,0.4,0.5,0.6]

Needs the role tagger trained first (scripts/train_casie.py) and scikit-learn
(`pip install -e '.[train]'`); run time needs neither (weights ship as JSON).
Each sentence of each article is parsed by en_core_web_sm and tagged by the
role tagger, exactly as ``Extractor`` does at run time; each noun phrase of a
sentence with a trigger becomes one example, labelled Attacker or Victim when
it overlaps a CASIE argument of that role, else none. The decision threshold
is chosen on dev (Attacker+Victim overlap F1); the test split is never read.
Writes ``roles.json`` into the model directory and prints dev scores.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def examples(docs: list[dict], tagged) -> tuple[list[dict], list[str], list[tuple]]:
    """Features, labels and (doc index, char span) per candidate."""
    from incidex.extraction.roles import ROLES, candidates, features

    X, y, where = [], [], []
    for n, (d, sents) in enumerate(zip(docs, tagged)):
        gold = defaultdict(set)
        for e in d.get("events", []):
            for a in e.get("arguments", []):
                if a["role"] in ROLES:
                    gold[a["role"]].add(tuple(a["span"]))
        for sent in sents:
            for c in candidates(sent.doc, sent.trigger_tokens):
                span = sent.doc[c.start:c.end]
                s, e = sent.offset + span.start_char, sent.offset + span.end_char
                label = "none"
                best = 0
                for role in ROLES:
                    for gs, ge in gold[role]:
                        ov = min(e, ge) - max(s, gs)
                        if ov > best:
                            best, label = ov, role
                X.append(features(sent.doc, c, sent.probs, sent.trigger_label(c.trigger)))
                y.append(label)
                where.append((n, s, e))
    return X, y, where


def score(docs, where, predicted: list[str]) -> dict:
    from incidex.evaluation.casie import _Counts, gold_arguments

    pred = defaultdict(lambda: defaultdict(set))
    for (n, s, e), label in zip(where, predicted):
        if label != "none":
            pred[n][label].add((s, e))
    c = _Counts()
    for n, d in enumerate(docs):
        gold = gold_arguments(d)
        for role in ("Attacker", "Victim"):
            c.add(role, pred[n][role], gold.get(role, set()))
    return c.prf("Attacker", "Victim")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--casie", type=Path, default=ROOT.parent / "shared" / "data" / "casie")
    ap.add_argument("--model", type=Path, default=ROOT / "src" / "incidex" / "data" / "models" / "casie")
    ap.add_argument("--C", type=float, default=0.3, help="inverse L2 strength of the logistic regression")
    ap.add_argument("--trigger-floor", type=float, default=0.1,
                    help="parse sentences whose likeliest trigger token reaches this probability")
    ap.add_argument("--thresholds", default="0.15,0.2,0.25,0.3,0.35,0.4,0.5")
    args = ap.parse_args(argv)

    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    import spacy

    from incidex.evaluation.casie import load_casie
    from incidex.extraction.mentions import tag_sentences
    from incidex.extraction.pipeline import _nlp
    from incidex.extraction.sentences import split_sentences

    parser, tagger = _nlp(), spacy.load(args.model)
    splits = {}
    for split in ("train", "dev"):
        docs = load_casie(args.casie / f"{split}.jsonl")
        tagged = [tag_sentences(parser, tagger, split_sentences(d["text"]), trigger_floor=args.trigger_floor) for d in docs]
        splits[split] = (docs, *examples(docs, tagged))
        print(f"{split}: {len(splits[split][1])} candidates", flush=True)

    docs, X, y, where = splits["train"]
    vec = DictVectorizer()
    clf = LogisticRegression(C=args.C, max_iter=2000)
    clf.fit(vec.fit_transform(X), y)
    ddocs, dX, dy, dwhere = splits["dev"]
    proba = clf.predict_proba(vec.transform(dX))
    classes = list(clf.classes_)
    best = None
    for th in (float(t) for t in args.thresholds.split(",")):
        labels = []
        for p in proba:
            k = max((k for k, c in enumerate(classes) if c != "none"), key=lambda k: p[k])
            labels.append(classes[k] if p[k] >= th else "none")
        s = score(ddocs, dwhere, labels)
        print(f"threshold {th:.2f}: Attacker+Victim overlap P {s['precision']:.3f} R {s['recall']:.3f} "
              f"F1 {s['f1']:.3f}", flush=True)
        if best is None or s["f1"] > best[1]["f1"]:
            best = (th, s)
    names = vec.get_feature_names_out()
    weights = {}
    for j, name in enumerate(names):
        w = [float(clf.coef_[k][j]) for k in range(len(classes))]
        if any(abs(x) > 1e-4 for x in w):
            weights[name] = [round(x, 5) for x in w]
    out = {"classes": classes, "bias": [round(float(b), 5) for b in clf.intercept_], "weights": weights,
           "threshold": best[0], "trigger_floor": args.trigger_floor, "C": args.C, "trained_on": "CASIE train", "dev": best[1]}
    (args.model / "roles.json").write_text(json.dumps(out, separators=(",", ":")), encoding="utf-8")
    print(f"chosen threshold {best[0]} (dev F1 {best[1]['f1']:.3f}); {len(weights)} features -> "
          f"{args.model / 'roles.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
