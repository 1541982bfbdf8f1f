"""Fold the incident encoder's answers into the sentence facts the frames are built from.

Rules stay where they are strong (knowledge-base names, dates against the publication date,
responses, attribution cues, evidence offsets); the encoder decides what rules decided badly on
real news (docs/evaluation.md):

* ``gate``: whether a sentence reports an attack that happened. A rule trigger in a sentence the
  encoder reads as a vulnerability, patch, advice or general description opens no incident; a
  sentence the encoder reads as an actual attack opens one even when no cue phrase matched.
* ``victims``: which phrase is the victim. The encoder marks the words; the rules' noun-phrase
  reading turns the marked phrase into a victim name (owner of "computer systems", the
  organisation behind "the company", sector and country).
* ``attackers``: a named attacker the knowledge base does not know ("a hacker calling himself
  X") is kept when the encoder marks it and it is written as a name.

Thresholds live in ``settings.toml`` under ``[extract.encoder]``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..records import Actor
from .analyze import SentenceFacts, victim_from_span
from .cues import Cue
from .encoder import SentencePrediction

# The encoder's CASIE subtypes as the schema's attack types.
SUBTYPE_TYPES = {"ransom": "ransomware", "databreach": "data-breach", "phishing": "phishing"}
# Words that describe attackers without naming them: never an attacker name on their own.
_UNNAMED = re.compile(
    r"(?i)^(?:the |a |an |some |unknown |unidentified |suspected |alleged |these |those |two |several )*"
    r"(?:(?:cyber|malicious|criminal|state|foreign|russian|chinese|iranian|north korean|nation[- ]state|"
    r"sophisticated|anonymous|ransomware|rogue|online|internet|computer)[- ]?)*"
    r"(?:hackers?|attackers?|criminals?|cybercriminals?|crooks?|scammers?|fraudsters?|thieves|thief|"
    r"actors?|threat actors?|intruders?|perpetrators?|culprits?|gangs?|groups?|operators?|adversar(?:y|ies)|"
    r"hacking groups?|extortionists?|spammers?|phishers?|people|someone|individuals?|persons?|"
    r"third part(?:y|ies)|unauthori[sz]ed (?:third )?part(?:y|ies)|insiders?|employees?|they|it|he|she|them)$")


@dataclass(frozen=True)
class EncoderSettings:
    open_threshold: float = 0.6  # a sentence without a cue opens an incident above this
    victim_threshold: float = 0.5  # a marked victim phrase is kept above this mean probability
    attacker_threshold: float = 1.01
    generic_override: float = 0.8  # a sentence the rules call generic is a report above this
    parse_threshold: float = 0.3  # sentences the encoder finds likely attacks are parsed even without a cue
    parse_skip_below: float = 0.0  # a cue sentence past the lead read as no attack below this is not parsed (0: off)
    story_sentences: int = 3  # this many vulnerability/patch sentences and no actual attack: a vulnerability story
    victims: str = "union"  # "union": the rules' and the marked phrases (the victim scorer chooses); "encoder"; "rules"
    veto_threshold: float = 0.0
    rules_floor: float = 0.2  # the victim scorer's bar for rules candidates of cue sentences and headline candidates
    sentences: str = "all"  # "all"; "candidates": cue sentences, the lead, and those matching ``also``
    lead_sentences: int = 3
    batch_size: int = 1  # sentences of one article read together (never across articles)
    also: str = ""  # regular expression: sentences matching it are read as well
    also_if_no_attack: str = ""  # sentences matching it are read only while the vulnerability story is undecided

    @classmethod
    def from_settings(cls, settings: dict) -> "EncoderSettings":
        raw = dict(settings.get("extract", {}).get("encoder", {}))
        raw.pop("enabled", None)
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        return cls(**known)


def gate(f: SentenceFacts, pred: SentencePrediction, s: EncoderSettings) -> None:
    """Decide whether the sentence reports an actual attack; adjust its triggers and types."""
    f.pred = pred
    actual = pred.actual
    if f.triggers and actual < s.veto_threshold and max(pred.probs.get("vuln", 0.0), pred.probs.get("attack_other", 0.0)) > actual:
        f.triggers = []
        f.types = set()
        f.vetoed = True
        return
    if f.generic and actual >= s.generic_override:
        f.generic = False  # "would give back access only when paid" is a report, not a habit
    if not f.triggers and actual >= s.open_threshold and not f.generic:
        kinds = [SUBTYPE_TYPES[k] for k in ("ransom", "databreach", "phishing") if pred.probs.get(k, 0.0) >= 0.5]
        if SUBTYPE_TYPES["ransom"] in kinds and SUBTYPE_TYPES["databreach"] in kinds:
            # "paid $50,000 to retrieve patient data": ransomware's data held, not data stolen (the
            # manual's data-breach needs theft or exposure, which a cue phrase would have named)
            kinds.remove(SUBTYPE_TYPES["databreach"])
        label = kinds[0] if kinds else "other"
        f.triggers = [Cue("attack_triggers", label, 0, 0, "")]
        f.types = set(kinds) or {"other"}
        f.learned_trigger = True


def wants_encoding(f: SentenceFacts, s: EncoderSettings) -> bool:
    """Whether the encoder reads this sentence. With ``sentences = "candidates"`` only those where
    its reading can change the result: a cue sentence (gated, victims marked), the lead (a plain
    report opens an incident there), and sentences matching ``also`` (vulnerability words, which
    decide a vulnerability story, and words of an attack told without a cue phrase: "paid 4 bitcoin
    in ransom"); on CASIE dev that is 70% of the sentences, with the same slot F1 as reading all."""
    if s.sentences == "all" or f.is_candidate or f.headline or f.sent.index < s.lead_sentences:
        return True
    return bool(s.also) and _also(s.also).search(f.sent.text) is not None


def wants_second_reading(f: SentenceFacts, s: EncoderSettings) -> bool:
    """Whether a sentence the first pass left out may be read while the vulnerability story is
    undecided (``StoryTally.undecided``): the vulnerability sentences ("the flaw was patched in version
    4"), which matter for that decision (``vulnerability_story``) and almost nothing else."""
    if s.sentences == "all" or f.pred is not None or not s.also_if_no_attack:
        return False
    return _also(s.also_if_no_attack).search(f.sent.text) is not None


@dataclass
class StoryTally:
    """What the readings so far say about a vulnerability story: whether one reads an attack that
    happened (which rules it out) and how many read as vulnerability reports (``story_sentences``
    of them settle it). Kept up to date reading by reading, so the second pass never rescans."""

    readings: int = 0
    attack: bool = False
    vulnerability: int = 0

    @classmethod
    def of(cls, facts: list[SentenceFacts]) -> "StoryTally":
        tally = cls()
        for f in facts:
            if f.pred is not None:
                tally.add(f.pred)
        return tally

    def add(self, pred: SentencePrediction) -> None:
        self.readings += 1
        self.attack = self.attack or pred.actual >= 0.5
        self.vulnerability += pred.probs.get("vuln", 0.0) >= 0.5

    def undecided(self, s: EncoderSettings) -> bool:
        """Only then is one more vulnerability sentence read. On CASIE dev: 1,082 readings instead of
        1,298, the same 32 vulnerability stories, slot F1 0.680 against 0.682 (one victim phrase of
        a later sentence)."""
        return not self.attack and self.vulnerability < s.story_sentences

    def vulnerability_story(self, s: EncoderSettings) -> bool:
        return self.readings > 0 and not self.attack and self.vulnerability >= s.story_sentences


@lru_cache(maxsize=4)
def _also(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def skips_parse(f: SentenceFacts, s: EncoderSettings) -> bool:
    """A cue sentence the parser need not read: past the lead, the encoder reads it as almost surely
    no attack that happened (below ``parse_skip_below``: "so-called ransomware has become one of the
    most lucrative ..."), marks no phrase in it, and it holds no response, attribution or named
    actor. On CASIE dev its parse gave nothing that survived (slot F1 0.682 either way) and cost 5% of
    the extraction's CPU time (docs/performance.md)."""
    pred = getattr(f, "pred", None)
    if pred is None or s.parse_skip_below <= 0 or f.headline or f.sent.index < s.lead_sentences:
        return False
    return (pred.actual < s.parse_skip_below and not f.responses and not f.attribution and not f.actors
            and not any(sp.prob >= s.parse_threshold for sp in pred.spans))


def wants_parse(f: SentenceFacts, s: EncoderSettings) -> bool:
    pred = getattr(f, "pred", None)
    if pred is None:
        return False
    return pred.actual >= s.parse_threshold or any(sp.prob >= s.victim_threshold for sp in pred.spans)


def apply_spans(f: SentenceFacts, doc, cues, gaz, s: EncoderSettings) -> None:
    """Victims (and unknown named attackers) from the phrases the encoder marked."""
    pred = getattr(f, "pred", None)
    if pred is None or s.victims == "rules":
        return
    base = f.sent.start
    actor_spans = [(a - base, b - base) for _, a, b in f.actors] + [(m.start, m.end) for m in f.malware]
    found = []
    if f.triggers or pred.actual >= s.parse_threshold:
        for sp in pred.spans:
            if sp.role != "victim" or sp.prob < s.victim_threshold:
                continue
            cand = victim_from_span(doc, sp.start, sp.end, base, cues, gaz, actor_spans)
            if cand is not None and not any((c.start, c.end) == (cand.start, cand.end) for c in found):
                cand.source = "encoder"
                found.append(cand)
    if s.victims == "union":
        for v in f.victims:
            same = next((c for c in found if (c.start, c.end) == (v.start, v.end)), None)
            if same is not None:
                same.source = "rules+encoder"
                continue
            # a word the encoder marked inside the rules' name ("Medical" of "Dorrance Medical
            # Group") is that organisation, not a second one
            inner = [c for c in found if v.start <= c.start and c.end <= v.end]
            if inner:
                found = [c for c in found if c not in inner]
                v.source = "rules+encoder"
            found.append(v)
    f.victims = found
    for sp in pred.spans:
        if sp.role == "attacker" and sp.prob >= s.attacker_threshold:
            _add_named_attacker(f, sp, base)


def _add_named_attacker(f: SentenceFacts, sp, base: int) -> None:
    name = sp.text.strip(" ,.;:'\"")
    name = re.sub(r"(?i)^the\s+", "", name)
    if not name or _UNNAMED.match(name) or not any(ch.isupper() for ch in name[:1] + name[1:]):
        return
    if not name[0].isupper() and not re.search(r"[A-Z]", name):
        return
    start = base + sp.start
    if any(s <= start < e or start <= s < start + len(sp.text) for _, s, e in f.actors):
        return  # the knowledge base already named it
    f.actors.append((Actor(name=name, mention=sp.text, kind="unknown"), start, start + len(sp.text)))


def vulnerability_story(facts: list[SentenceFacts], s: EncoderSettings) -> bool:
    """The article discloses or patches vulnerabilities and reports no attack that happened
    (the coding manual's commonest negative): its incidents without a named attacker are dropped."""
    return StoryTally.of(facts).vulnerability_story(s)
