"""Which victim candidates are victims: a logistic regression over what the rules and the
encoder know of each candidate phrase.

Candidates come from two proposers (the dependency rules of ``analyze.py`` and the encoder's
marked phrases, ``learned.py``); each is right often and wrong in its own way on real news
(datelines and places, researchers and vendors, the news outlet, a product). A small learned
model weighs the evidence of both: the encoder's probability for the phrase and the sentence,
whether the phrase is a name, a place, the article's salient organisation (how often it recurs,
whether the headline names it), where it stands. Weights (``incidex/data/models/victim-scorer.json``)
are trained by ``scripts/train_victim_scorer.py`` on CASIE train: a candidate is a victim when it
overlaps a Victim argument of an attack CASIE marks as actual.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .victim_filters import is_reporter
from .analyze import FOCUS, FOCUS_HEADS, SentenceFacts, VictimCandidate

FEATURES = (
    "enc_prob", "enc_actual", "enc_vuln", "enc_other", "from_rules", "from_encoder", "named", "is_state",
    "has_sector", "has_country", "org_evidence", "is_place", "is_ref", "sent_pos", "in_headline_sentence",
    "recurs", "in_headline", "n_words", "all_caps", "has_cue", "learned_trigger", "generic", "focus_head",
    "peers", "enc_x_actual", "vendor_context",
)
# CASIE annotates data breaches, phishing and ransomware only: for other kinds of attack the
# encoder's silence says nothing, and the rules' victims stand on their own.
TRAINED_TYPES = {"ransomware", "data-breach", "phishing", "malware"}
FEED_ITEM_SENTENCES = 3  # an article of at most this many sentences (headline included) is a feed item
VULNERABILITY = 0.5  # a sentence the encoder reads as a vulnerability or patch report names no victim
_VENDOR_CONTEXT = re.compile(
    r"(?i)\b(?:researchers?|security (?:firm|company|vendor|researcher)s?|discovered|disclosed|found|"
    r"patch(?:ed|es)?|released|reported by|according to|told|analysts?|warned|advis(?:ory|ed))\b")


def _key_words(name: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][\w&'-]+", name) if w[0].isupper() and len(w) > 2] or \
        re.findall(r"\w{3,}", name)[-1:]


def features(c: VictimCandidate, f: SentenceFacts, text: str, headline_end: int, gaz,
             peers: int, lowered_text: str) -> list[float]:
    pred = f.pred
    base = f.sent.start
    enc = 0.0
    if pred is not None:
        for sp in pred.spans:
            if sp.role == "victim" and base + sp.start < c.end and base + sp.end > c.start:
                enc = max(enc, sp.prob)
    probs = pred.probs if pred is not None else {}
    places = gaz.countries(c.name)
    covered = sum(m.end - m.start for m in places)
    words = _key_words(c.name)
    recurs = max((lowered_text.count(w.lower()) for w in words), default=0)
    headline = text[:headline_end].lower() if headline_end else ""
    window = f.sent.text[max(0, c.start - base - 60):c.end - base + 60]
    return [
        enc, probs.get("attack_actual", 0.0), probs.get("vuln", 0.0), probs.get("attack_other", 0.0),
        float("rules" in c.source), float("encoder" in c.source), float(c.named), float(c.is_state),
        float(c.sector is not None), float(c.country is not None), float(c.org_evidence),
        float(bool(places) and covered >= len(c.name.strip()) - 2), float(c.is_ref),
        math.log1p(f.sent.index), float(headline_end > 0 and c.start < headline_end),
        math.log1p(recurs), float(bool(headline) and any(w.lower() in headline for w in words)),
        math.log1p(len(c.name.split())), float(c.name.isupper() and len(c.name) > 3), float(bool(f.triggers) and not f.learned_trigger),
        float(f.learned_trigger), float(f.generic), float(c.head in FOCUS_HEADS), math.log1p(peers),
        enc * probs.get("attack_actual", 0.0), float(bool(_VENDOR_CONTEXT.search(window))),
    ]


class VictimScorer:
    def __init__(self, path: Path):
        data = json.loads(path.read_text())
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: trained on other features; retrain with scripts/train_victim_scorer.py")
        self.coef = data["coef"]
        self.intercept = data["intercept"]
        self.threshold = data.get("threshold", 0.5)

    def score(self, c: VictimCandidate, x: list[float]) -> float:
        return self.probability(x)

    def probability(self, x: list[float]) -> float:
        z = self.intercept + sum(w * v for w, v in zip(self.coef, x))
        return 1.0 / (1.0 + math.exp(-z))


def score_victims(facts: list[SentenceFacts], text: str, headline_end: int, gaz, scorer: VictimScorer | None,
                  *, refs: bool, threshold: float | None = None, rules_floor: float = 0.2) -> None:
    """Keep the candidates the scorer finds likely victims; remember each one's probability.
    ``refs``: score the resolved references ("the company") only, else the phrases that name or
    describe a victim themselves (before the article's focus organisation is chosen from them).
    ``rules_floor``: a candidate the dependency rules found in a sentence with an attack cue is
    dropped only below this (the encoder misses plain reports the rules read right: "hackers had
    broken into its staff portal"), and so is the encoder's candidate in a headline with an attack
    cue (a feed item is often nothing but that headline); other candidates below the trained
    threshold."""
    if scorer is None:
        return
    t = scorer.threshold if threshold is None else threshold
    feed_item = is_feed_item(facts)
    low = text.lower()
    for f in facts:
        kept = []
        for c in f.victims:
            if c.name == FOCUS or c.is_ref != refs or c.score is not None:
                kept.append(c)
                continue
            if (c.source == "rules" and f.types and not f.types & TRAINED_TYPES
                    and (c.start >= headline_end or (c.named and f.types - {"other"}))
                    and (f.pred is None or c.is_ref or f.pred.probs.get("vuln", 0.0) < VULNERABILITY)):
                # a wiper, DDoS or defacement: outside what CASIE taught the encoder. In a headline only a
                # name and a specific kind ("Vallholm defaced"; a title-cased "Cyber Attack Puts Other Cities
                # on Notice" is CASIE's own ground, the scorer's call); a reference to the article's
                # victim stands even where the attack's way in was a flaw ("through a vulnerable plugin")
                kept.append(c)
                continue
            c.score = scorer.score(c, features(c, f, text, headline_end, gaz, len(f.victims) - 1, low))
            if feed_item and f.sent.index == 0 and f.triggers and c.named and "rules" in c.source and not is_reporter(c.name):
                # a feed item (headline and a sentence or two): the scorer learned from full articles,
                # whose headline victims the body names again; here the headline is all there is
                kept.append(c)
                continue
            if c.score >= (min(t, rules_floor) if f.triggers and ("rules" in c.source or f.headline) else t):
                kept.append(c)
        f.victims = kept


def scorer_path() -> Path:
    return Path(str(resources.files("incidex") / "data" / "models" / "victim-scorer.json"))


def is_feed_item(facts) -> bool:
    """A headline and a sentence or two (``FEED_ITEM_SENTENCES``), not counting the words a feed
    cut its description off at ("... she knew something was wrong. The ico…")."""
    n = len(facts)
    if n and facts[-1].sent.text.endswith(("…", "...")) and len(facts[-1].sent.text.split()) <= 4:
        n -= 1
    return n <= FEED_ITEM_SENTENCES


@lru_cache(maxsize=1)
def load_victim_scorer() -> VictimScorer | None:
    p = scorer_path()
    return VictimScorer(p) if p.is_file() else None
