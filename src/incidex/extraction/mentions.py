"""Mention-level events and arguments from the trained CASIE model.

The model (``incidex/data/models/casie``, trained by ``scripts/train_casie.py``)
is a token tagger ("roles") over a fine-tuned tok2vec: BIO tags for argument
roles and for event triggers (``EVENT:<subtype>:<realis>``). This module turns its output into ``EventMention`` and
``ArgumentMention`` records with offsets into the article body, and attaches
each argument to the nearest trigger of its sentence: CASIE annotates
arguments in the trigger's sentence almost always, and the nearest trigger is
the simple rule that rarely misattaches inside one sentence.

The model is optional (``[extract] model = "casie"`` or ``"none"`` in
settings.toml, or ``INCIDEX_MODEL=none``): extraction works without it.
"""
from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..records import ArgumentMention, EventMention, Evidence
from .sentences import Sentence

try:  # typing only; spaCy is a hard dependency anyway
    from spacy.tokens import Doc
except ImportError:  # pragma: no cover
    Doc = object  # type: ignore[misc,assignment]

EVENT_PREFIX = "EVENT:"
SUBTYPES = ("Databreach", "Phishing", "Ransom", "DiscoverVulnerability", "PatchVulnerability")
REALIS = ("Actual", "Generic", "Other")
# CASIE's attack subtypes as the schema's attack types (vulnerability events are not attacks).
EVENT = "EVENT"
PHRASE_ROLES = ("Attacker", "Victim")  # re-decided per noun phrase by incidex.extraction.roles
ATTACK_TYPE = {"Databreach": "data-breach", "Phishing": "phishing", "Ransom": "ransomware"}


class ModelMissing(RuntimeError):
    """The trained model is not installed; run scripts/train_casie.py or switch the model off."""


def model_path(name: str = "casie") -> Path:
    return Path(str(resources.files("incidex") / "data" / "models" / name))


def model_enabled(settings: dict) -> bool:
    """The switch: INCIDEX_MODEL=none (environment) wins over ``[extract] model``."""
    choice = os.environ.get("INCIDEX_MODEL") or settings.get("extract", {}).get("model", "casie")
    return str(choice).lower() not in ("none", "off", "false", "0", "")


def load_role_classifier(name: str = "casie"):
    """The attacker/victim phrase classifier shipped beside the tagger, or None."""
    from .roles import load_role_model

    return load_role_model(str(model_path(name) / "roles.json"))


@lru_cache(maxsize=2)
def load_model(name: str = "casie"):
    """The trained pipeline, from the installed package (never a download)."""
    import spacy

    path = model_path(name)
    if not (path / "config.cfg").is_file():
        raise ModelMissing(f"the trained model {name!r} is not installed at {path}; "
                           "build it with `python scripts/train_casie.py` or set INCIDEX_MODEL=none")
    return spacy.load(path)


@dataclass
class TaggedSentence:
    """One sentence after the role tagger: its tags, per-role probabilities, triggers and parse."""

    sent: Sentence
    tdoc: Doc  # the tagger's tokens
    tags: list[str]
    probs: dict[str, list[float]]  # role -> probability per token of ``doc`` (once parsed), else of ``tdoc``
    triggers: dict[int, str] = field(default_factory=dict)  # token index (of ``doc``) -> subtype
    doc: Doc | None = None  # en_core_web_sm parse, for sentences with a trigger
    weak_trigger: tuple[int, str] | None = None  # (tagger token, subtype) when no trigger was tagged

    @property
    def offset(self) -> int:
        return self.sent.start

    @property
    def trigger_tokens(self) -> list[int]:
        return sorted(self.triggers)

    def trigger_label(self, i: int) -> str:
        return self.triggers.get(i, "")


def _softmax(x):
    import numpy as np

    if not len(x):
        return x
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _role_probs(scores, labels: list[str]) -> dict[str, list[float]]:
    """Per token: P(Attacker), P(Victim) and P(any trigger), summing the B- and I- tags."""
    out = {}
    for role in (*PHRASE_ROLES, EVENT):
        cols = [j for j, lab in enumerate(labels) if lab[2:] == role or (role == EVENT and lab[2:].startswith(EVENT_PREFIX))]
        out[role] = scores[:, cols].sum(axis=1).tolist() if cols else [0.0] * len(scores)
    return out


def _likeliest_trigger(scores, labels: list[str]) -> tuple[int, str]:
    """Token and subtype of the most trigger-like token, for sentences where no trigger was tagged."""
    cols = [j for j, lab in enumerate(labels) if lab[2:].startswith(EVENT_PREFIX)]
    sub = scores[:, cols]
    i, k = divmod(int(sub.argmax()), len(cols))
    return i, labels[cols[k]][2 + len(EVENT_PREFIX):].partition(":")[0]


def tag_sentences(parser, tagger_nlp, sentences: list[Sentence], o_weight: float = 1.0,
                  parsed: dict[int, Doc] | None = None, batch_size: int = 64,
                  trigger_floor: float = 1.0) -> list[TaggedSentence]:
    """Tag every sentence, then parse those with a trigger (reusing ``parsed`` docs by sentence index).

    A sentence with no tagged trigger still counts when one token's trigger
    probability reaches ``trigger_floor``: the tagger misses many triggers that
    it half sees, and the attacker and victim of such a sentence are found
    from the parse around that token (measured on CASIE dev: only 61% of gold
    attackers and victims sit in sentences with a tagged trigger).

    The tagger and the parser tokenize alike (both spaCy's English rules); where
    they differ, probabilities move to the parser's tokens by character offset.
    """
    tagger = tagger_nlp.get_pipe("roles")
    labels = list(tagger.labels)
    o = labels.index("O")
    out: list[TaggedSentence] = []
    texts = [s.text for s in sentences]
    for i in range(0, len(texts), batch_size):
        docs = list(tagger_nlp.pipe(texts[i:i + batch_size], disable=["roles"]))
        for sent, doc, scores in zip(sentences[i:i + batch_size], docs, tagger.model.predict(docs)):
            scores = _softmax(tagger.model.ops.to_numpy(scores))  # the tagger returns logits at inference
            weighted = scores.copy()
            if len(doc):
                weighted[:, o] *= o_weight
            tags = [labels[j] for j in weighted.argmax(axis=1)] if len(doc) else []
            ts = TaggedSentence(sent, doc, tags, _role_probs(scores, labels) if len(doc) else
                                {r: [] for r in (*PHRASE_ROLES, EVENT)})
            if len(doc) and not any(t.startswith("B-" + EVENT_PREFIX) for t in tags) \
                    and max(ts.probs[EVENT]) >= trigger_floor:
                ts.weak_trigger = _likeliest_trigger(scores, labels)
            out.append(ts)
    need = [ts for ts in out if ts.weak_trigger or any(t.startswith("B-" + EVENT_PREFIX) for t in ts.tags)]
    parsed = parsed or {}
    todo = [ts for ts in need if ts.sent.index not in parsed]
    for ts, doc in zip(todo, parser.pipe([ts.sent.text for ts in todo], batch_size=128)):
        parsed[ts.sent.index] = doc
    for ts in need:
        _align(ts, parsed[ts.sent.index])
    return out


def _align(ts: TaggedSentence, doc: Doc) -> None:
    """Move probabilities and trigger positions from the tagger's tokens to the parser's."""
    ts.doc = doc
    same = len(doc) == len(ts.tdoc) and all(a.idx == b.idx for a, b in zip(doc, ts.tdoc))
    if same:
        index = list(range(len(doc)))
    else:
        starts = [t.idx for t in ts.tdoc]
        index = [max(0, bisect.bisect_right(starts, t.idx) - 1) for t in doc]
    ts.probs = {r: [p[j] for j in index] for r, p in ts.probs.items()} if len(ts.tdoc) else ts.probs
    back = {j: i for i, j in reversed(list(enumerate(index)))}
    for s, _e, label in decode_bio(ts.tags):
        if label.startswith(EVENT_PREFIX) and s in back:
            ts.triggers[back[s]] = label[len(EVENT_PREFIX):].partition(":")[0]
    if ts.weak_trigger and ts.weak_trigger[0] in back:
        ts.triggers[back[ts.weak_trigger[0]]] = "weak:" + ts.weak_trigger[1]


def decode_bio(tags: list[str]) -> list[tuple[int, int, str]]:
    """Token spans ``(start, end, label)`` from BIO tags.

    Lenient, as a tagger's output needs: an "I-" without its "B-" opens a span;
    a trigger keeps its first token's label when later tokens disagree on the
    subtype or realis (one word of a two-word trigger should not split it).
    """
    spans: list[list] = []
    for i, tag in enumerate(tags):
        if tag == "O":
            continue
        kind, _, label = tag.partition("-")
        last = spans[-1] if spans else None
        cont = last is not None and last[1] == i and kind == "I" and (
            last[2] == label or (last[2].startswith(EVENT_PREFIX) and label.startswith(EVENT_PREFIX)))
        if cont:
            last[1] = i + 1
        else:
            spans.append([i, i + 1, label])
    return [tuple(sp) for sp in spans]


def mentions_from_tagged(tagged: list[TaggedSentence], role_model=None) -> tuple[list[EventMention], list[ArgumentMention]]:
    """Events and arguments of one article's tagged sentences, offsets into the body.

    Triggers are the tagger's ``EVENT:<subtype>:<realis>`` spans; arguments its
    other spans, except that with a role model the attacker and victim phrases
    are decided per noun phrase from the parse (incidex.extraction.roles).
    """
    from .roles import candidates, features

    events, args = [], []
    for ts in tagged:
        for s, e, label in decode_bio(ts.tags):
            span = ts.tdoc[s:e]
            start, end = ts.offset + span.start_char, ts.offset + span.end_char
            if label.startswith(EVENT_PREFIX):
                subtype, _, realis = label[len(EVENT_PREFIX):].partition(":")
                events.append(EventMention(subtype, realis or "Actual", start, end, span.text,
                                           ATTACK_TYPE.get(subtype)))
            elif role_model is None or label not in PHRASE_ROLES:
                args.append(ArgumentMention(label, start, end, span.text))
        if role_model is None or ts.doc is None:
            continue
        for c in candidates(ts.doc, ts.trigger_tokens):
            role, _p = role_model.classify(features(ts.doc, c, ts.probs, ts.trigger_label(c.trigger)))
            if role in PHRASE_ROLES:
                span = ts.doc[c.start:c.end]
                args.append(ArgumentMention(role, ts.offset + span.start_char, ts.offset + span.end_char, span.text))
    args.sort(key=lambda a: a.start)
    _attach(events, args, [ts.sent for ts in tagged])
    return events, args


def _sentence_finder(sentences: list[Sentence]):
    """Body offset -> index of the sentence holding it."""
    starts = [s.start for s in sentences]
    return lambda pos: bisect.bisect_right(starts, pos) - 1


def _attach(events: list[EventMention], args: list[ArgumentMention], sentences: list[Sentence]) -> None:
    if not events:
        return
    sent_of = _sentence_finder(sentences)
    by_sent: dict[int, list[EventMention]] = {}
    for ev in events:
        by_sent.setdefault(sent_of(ev.start), []).append(ev)
    for a in args:
        near = by_sent.get(sent_of(a.start))
        if near:
            min(near, key=lambda ev: abs(ev.start - a.start)).arguments.append(a)


def apply_mentions(res, sentences: list[Sentence]) -> None:
    """Let the model's events settle what the rules left open in each incident.

    Only one gap is filled: an incident whose outcome the rules left unknown
    becomes "attempted" when every attack trigger in the sentences of its
    evidence has realis Other (failed, planned, hypothetical). Measured on the
    project corpus (tests/gold), filling attack types from CASIE's three attack
    subtypes, or "successful" from realis Actual, made slot F1 worse (0.872 ->
    0.864: a DDoS typed as a data breach, denied claims called successful), so
    the model never overrides or adds to those.
    """
    attacks = [ev for ev in res.events if ev.attack_type]
    if not attacks or not res.incidents:
        return
    sent_of = _sentence_finder(sentences)
    for inc in res.incidents:
        if inc.outcome != "unknown":
            continue
        sents = {sent_of(e.start) for e in inc.evidence if e.field != "iocs"}
        mine = [ev for ev in attacks if sent_of(ev.start) in sents]
        if mine and all(ev.realis == "Other" for ev in mine):
            inc.outcome = "attempted"
            inc.evidence.append(Evidence("outcome", mine[0].start, mine[0].end, mine[0].text, res.article.id))
