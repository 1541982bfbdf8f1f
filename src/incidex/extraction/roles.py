"""Attacker and victim mentions: noun phrases classified by their relation to an event trigger.

Why a second stage after the role tagger: the tagger sees a few words around
each token, so it tags "hackers" or "users" wherever they occur, while CASIE
(and an analyst) calls a phrase the attacker or the victim only by its place
in an event: subject of "breached", object of "encrypted", agent "by ...". The
parse of the sentence gives that place, so each noun phrase of a sentence with
a trigger is classified from syntax (its dependency path to the trigger, voice,
side), its words, and the tagger's own probabilities for the phrase.

The classifier is a multinomial logistic regression trained by
``scripts/train_roles.py`` on CASIE train and shipped as plain JSON weights
(``roles.json`` beside the tagger), scored here with a few dictionary lookups:
no pickle, no scikit-learn at run time.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROLES = ("Attacker", "Victim")
NONE = "none"
PRONOUN_TAGS = {"PRP", "PRP$", "WP"}
NOUN_TAGS = {"NN", "NNS", "NNP", "NNPS", "PRP", "CD"}
NP_INNER = {"compound", "nmod", "amod", "nummod", "poss", "npadvmod"}  # a noun modifying a later noun
NP_LEFT = {"det", "compound", "amod", "nummod", "poss", "nmod", "quantmod", "predet", "case", "punct"}


@dataclass
class Candidate:
    start: int  # token offsets in the sentence doc
    end: int
    head: int
    trigger: int  # token index of the trigger the features relate to


@dataclass
class RoleModel:
    classes: list[str]
    weights: dict[str, list[float]]
    bias: list[float]
    threshold: float
    trigger_floor: float = 1.0  # sentences parsed for phrases: as in training (scripts/train_roles.py)

    def probabilities(self, feats: dict[str, float]) -> list[float]:
        z = list(self.bias)
        for name, value in feats.items():
            w = self.weights.get(name)
            if w is not None:
                for k, wk in enumerate(w):
                    z[k] += wk * value
        m = max(z)
        e = [math.exp(x - m) for x in z]
        s = sum(e)
        return [x / s for x in e]

    def classify(self, feats: dict[str, float]) -> tuple[str, float]:
        p = self.probabilities(feats)
        best = max((k for k, c in enumerate(self.classes) if c != NONE), key=lambda k: p[k])
        return (self.classes[best], p[best]) if p[best] >= self.threshold else (NONE, p[best])


@lru_cache(maxsize=2)
def load_role_model(path: str) -> RoleModel | None:
    p = Path(path)
    if not p.is_file():
        return None
    d = json.loads(p.read_text(encoding="utf-8"))
    return RoleModel(d["classes"], d["weights"], d["bias"], float(d["threshold"]), float(d.get("trigger_floor", 1.0)))


def noun_phrases(doc) -> list[tuple[int, int, int]]:
    """``(start, end, head)`` of each base noun phrase, from tags and dependencies.

    spaCy's ``doc.noun_chunks`` needs coarse POS tags, which the extractor's
    pipeline does not compute (the attribute ruler is switched off for speed),
    so phrases are read off the fine tags: a noun or pronoun that is not itself
    a modifier of another noun, with its left-hand modifiers.
    """
    out = []
    for tok in doc:
        if tok.tag_ not in NOUN_TAGS or (tok.dep_ in NP_INNER and tok.head.i > tok.i
                                         and tok.head.tag_ in NOUN_TAGS):
            continue
        start = tok.i
        for left in tok.lefts:
            if left.dep_ in NP_LEFT:
                start = min(start, left.left_edge.i)
        out.append((start, tok.i + 1, tok.i))
    return out


def candidates(doc, triggers: list[int]) -> list[Candidate]:
    """Noun phrases of a parsed sentence, each tied to its nearest trigger."""
    if not triggers:
        return []
    out = []
    for s, e, h in noun_phrases(doc):
        if any(s <= t < e for t in triggers):
            continue
        t = min(triggers, key=lambda t: abs(t - h))
        out.append(Candidate(s, e, h, t))
    return out


def _path(doc, a: int, b: int, hops: int = 4) -> str:
    """Dependency labels from ``a`` up to the lowest common ancestor with ``b``, then down to ``b``."""
    up_a = [a]
    while doc[up_a[-1]].head.i != up_a[-1] and len(up_a) < 12:
        up_a.append(doc[up_a[-1]].head.i)
    up_b = [b]
    while doc[up_b[-1]].head.i != up_b[-1] and len(up_b) < 12:
        up_b.append(doc[up_b[-1]].head.i)
    common = next((x for x in up_a if x in up_b), None)
    if common is None:
        return "none"
    left = [doc[x].dep_ for x in up_a[:up_a.index(common)]][:hops]
    right = [doc[x].dep_ for x in up_b[:up_b.index(common)]][:hops]
    return "/".join(left) + "^" + "/".join(right)


def _bucket(n: int) -> str:
    return str(n) if n < 4 else "4-7" if n < 8 else "8-15" if n < 16 else "16+"


def features(doc, c: Candidate, probs: dict[str, list[float]], trigger_label: str) -> dict[str, float]:
    """Sparse features of one candidate (names are stable: the trained weights key on them)."""
    h, t = doc[c.head], doc[c.trigger]
    side = "L" if c.head < c.trigger else "R"
    passive = any(ch.dep_ in ("nsubjpass", "auxpass") for ch in t.children)
    path = _path(doc, c.head, c.trigger)
    span = doc[c.start:c.end]
    f: dict[str, float] = {
        "bias_side=" + side: 1.0,
        "dep=" + h.dep_: 1.0,
        "dep_side=" + h.dep_ + side: 1.0,
        "dep_voice=" + h.dep_ + ("P" if passive else "A"): 1.0,
        "tag=" + h.tag_: 1.0,
        "w=" + h.lower_: 1.0,
        "first=" + span[0].lower_: 1.0,
        "hw=" + h.head.lower_: 1.0,
        "hw_dep=" + h.head.lower_ + "|" + h.dep_: 1.0,
        "path=" + path: 1.0,
        "path_voice=" + path + ("P" if passive else "A"): 1.0,
        "tw=" + t.lower_: 1.0,
        "tw_dep=" + t.lower_ + "|" + h.dep_ + side: 1.0,
        "sub=" + trigger_label: 1.0,
        "sub_path=" + trigger_label + "|" + path: 1.0,
        "dist=" + _bucket(abs(c.head - c.trigger)): 1.0,
        "len=" + _bucket(c.end - c.start): 1.0,
        "pron": 1.0 if h.tag_ in PRONOUN_TAGS else 0.0,
        "proper": 1.0 if h.tag_ in ("NNP", "NNPS") else 0.0,
        "cap": 1.0 if h.text[:1].isupper() and h.i > 0 else 0.0,
    }
    prev = doc[c.start - 1].lower_ if c.start > 0 else "<s>"
    nxt = doc[c.end].lower_ if c.end < len(doc) else "</s>"
    f["prev=" + prev] = 1.0
    f["next=" + nxt] = 1.0
    f["prev_side=" + prev + side] = 1.0
    f["chunk=" + span.text.lower()] = 1.0
    f["root=" + doc[c.head].sent.root.lower_] = 1.0
    f["weak"] = 1.0 if trigger_label.startswith("weak:") else 0.0
    for role in ROLES:
        vals = probs[role][c.start:c.end]
        p = max(vals) if vals else 0.0
        f["p_" + role] = p
        f["pmean_" + role] = sum(vals) / len(vals) if vals else 0.0
        f[f"pbin_{role}={min(int(p * 5), 4)}"] = 1.0
    ev = probs.get("EVENT")
    if ev:
        f["p_trigger"] = ev[c.trigger]
    return f
