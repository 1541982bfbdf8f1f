"""The incident encoder: a fine-tuned MiniLM-L6 run with onnxruntime, one pass per sentence.

It answers two questions rules answered badly on real news (docs/evaluation.md):

* does this sentence report an attack that happened (not a vulnerability, a patch, advice, or an
  attack described in general)? -> ``SentencePrediction.probs``;
* which words are the victim and the attacker of that attack? -> ``SentencePrediction.spans``.

Weights: ``incidex/data/models/incident-encoder`` (int8 ONNX, ~23 MB, trained by
``scripts/train_incident_encoder.py`` from CASIE train; MODEL_CARD.md there). The tokenizer is
Hugging Face ``tokenizers`` reading the shipped ``tokenizer.json``; nothing is downloaded.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

TOKEN_LABELS = ("O", "B-VIC", "I-VIC", "B-ATT", "I-ATT")
SENT_LABELS = ("attack_actual", "databreach", "phishing", "ransom", "vuln", "attack_other")
ROLE_NAMES = {"VIC": "victim", "ATT": "attacker"}


class EncoderMissing(RuntimeError):
    """The encoder's weights are not installed (run scripts/train_incident_encoder.py)."""


@dataclass
class SpanPrediction:
    role: str  # "victim" or "attacker"
    start: int  # offsets into the sentence text
    end: int
    text: str
    prob: float


@dataclass
class SentencePrediction:
    probs: dict[str, float] = field(default_factory=dict)
    spans: list[SpanPrediction] = field(default_factory=list)

    @property
    def actual(self) -> float:
        return self.probs.get("attack_actual", 0.0)


def model_dir(name: str = "incident-encoder") -> Path:
    return Path(str(resources.files("incidex") / "data" / "models" / name))


class IncidentEncoder:
    """Loaded once per process (``load_encoder``); ``predict`` takes many sentences at once."""

    def __init__(self, path: Path | None = None, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = path or Path(os.environ.get("INCIDEX_ENCODER_PATH") or model_dir())
        if not (path / "model.onnx").is_file():
            raise EncoderMissing(f"the incident encoder is not installed at {path}; build it with "
                                 "`python scripts/train_incident_encoder.py`")
        meta = json.loads((path / "meta.json").read_text())
        self.max_len = int(meta.get("max_len", 128))
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_len)
        self.tokenizer.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or int(os.environ.get("INCIDEX_ENCODER_THREADS", "1"))
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path / "model.onnx"), opts, providers=["CPUExecutionProvider"])

    def predict(self, texts: list[str], batch_size: int = 1) -> list[SentencePrediction]:
        """One reading per text. ``batch_size`` 1 (the default) makes each sentence's answer its
        own: int8 dynamic quantization scales activations over the whole batch, so in batches of
        32 an article's incidents could change with the articles it was extracted beside (dev
        slot F1 moved by 0.014). One at a time costs about 40% more encoder time (measured)."""
        import numpy as np

        if not texts:
            return []
        encs = self.tokenizer.encode_batch(list(texts))
        out: list[SentencePrediction | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            n = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), n), dtype=np.int64)
            mask = np.zeros((len(idx), n), dtype=np.int64)
            for r, i in enumerate(idx):
                k = len(encs[i].ids)
                ids[r, :k] = encs[i].ids
                mask[r, :k] = 1
            tok_logits, sent_logits = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            sent_p = 1.0 / (1.0 + np.exp(-sent_logits))
            tok_p = _softmax(tok_logits)
            for r, i in enumerate(idx):
                k = len(encs[i].ids)
                probs = {name: float(sent_p[r, j]) for j, name in enumerate(SENT_LABELS)}
                spans = _decode(tok_p[r, :k], encs[i].offsets, texts[i])
                out[i] = SentencePrediction(probs, spans)
        return out  # type: ignore[return-value]


def _softmax(x):
    import numpy as np

    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _decode(probs, offsets, text: str) -> list[SpanPrediction]:
    """BIO over word pieces -> spans on word boundaries, with the mean probability of their tags."""
    labels = probs.argmax(-1)
    spans: list[SpanPrediction] = []
    cur = None  # [role, start, end, [probs]]
    for t, (a, b) in enumerate(offsets):
        if a == b:
            continue
        name = TOKEN_LABELS[int(labels[t])]
        p = float(probs[t, labels[t]])
        # a word piece that continues a word ("##ware") follows its word's tag
        cont = cur is not None and a == cur[2] and a > 0 and text[a - 1].isalnum()
        if cur is not None and (cont or (name.startswith("I-") and name[2:] == cur[0])):
            cur[2] = b
            cur[3].append(p)
            continue
        if cur is not None:
            spans.append(_span(cur, text))
            cur = None
        if name != "O":
            cur = [name[2:], a, b, [p]]
    if cur is not None:
        spans.append(_span(cur, text))
    return spans


def _span(cur, text: str) -> SpanPrediction:
    role, a, b, ps = cur
    while b < len(text) and text[b].isalnum():  # finish a word cut inside
        b += 1
    return SpanPrediction(ROLE_NAMES[role], a, b, text[a:b], sum(ps) / len(ps))


def encoder_enabled(settings: dict) -> bool:
    """The switch: INCIDEX_ENCODER=none (environment) wins over ``[extract] encoder``."""
    choice = os.environ.get("INCIDEX_ENCODER") or settings.get("extract", {}).get("encoder", {}).get("enabled", "on")
    return str(choice).lower() not in ("none", "off", "false", "0", "")


@lru_cache(maxsize=1)
def load_encoder() -> IncidentEncoder:
    return IncidentEncoder()
