"""Coarse POS and lemmas without spaCy's attribute ruler, lemmatizer and NER.

Measured on the CASIE dev sentences here: tok2vec+tagger+parser take 5.0 s,
adding the attribute ruler and lemmatizer 6.1 s, adding NER 10.2 s. The
extractor only compares lemmas with a few small word sets, so it maps the
fine-grained tag to a coarse POS and looks inflected forms up in a table
generated from those sets (plus irregular forms).
"""
from __future__ import annotations

from spacy.tokens import Token

_TAG_POS = {
    "NN": "NOUN", "NNS": "NOUN", "NNP": "PROPN", "NNPS": "PROPN", "VB": "VERB", "VBD": "VERB", "VBG": "VERB",
    "VBN": "VERB", "VBP": "VERB", "VBZ": "VERB", "MD": "AUX", "JJ": "ADJ", "JJR": "ADJ", "JJS": "ADJ",
    "PRP": "PRON", "PRP$": "PRON", "WP": "PRON", "CD": "NUM", "DT": "DET", "PDT": "DET", "IN": "ADP",
    "RB": "ADV", "RBR": "ADV", "RBS": "ADV", "CC": "CCONJ", "TO": "PART", "POS": "PART", "RP": "ADP",
}
IRREGULAR = {
    "hit": "hit", "struck": "strike", "stricken": "strike", "stole": "steal", "stolen": "steal",
    "took": "take", "taken": "take", "caught": "catch", "fell": "fall", "fallen": "fall", "said": "say", "says": "say",
    "told": "tell", "knew": "know", "known": "know", "shut": "shut", "was": "be", "were": "be",
    "is": "be", "are": "be", "been": "be", "data": "datum", "spied": "spy", "spies": "spy", "thieves": "thief",
    "underwent": "undergo", "saw": "see", "seen": "see", "got": "get", "gotten": "get", "led": "lead",
    "people": "person", "police": "police", "news": "news", "ddos": "ddos", "ddosed": "ddos",
}


def _inflections(base: str) -> set[str]:
    out = {base, base + "s", base + "es", base + "ed", base + "d", base + "ing"}
    if base.endswith("e"):
        out |= {base[:-1] + "ing", base + "d"}
    if base.endswith("y") and len(base) > 2 and base[-2] not in "aeiou":
        out |= {base[:-1] + "ies", base[:-1] + "ied"}
    if len(base) >= 3 and base[-1] not in "aeiouwxy" and base[-2] in "aeiou" and base[-3] not in "aeiou":
        out |= {base + base[-1] + "ed", base + base[-1] + "ing"}
    if base.endswith(("s", "x", "ch", "sh")):
        out.add(base + "es")
    return out


class Lemmas:
    """Maps surface forms of a known vocabulary to their lemma."""

    def __init__(self, bases: set[str]):
        self.table: dict[str, str] = {}
        for b in sorted(bases, key=len, reverse=True):
            for form in _inflections(b):
                self.table.setdefault(form, b)
        self.table.update(IRREGULAR)

    def __call__(self, tok: Token) -> str:
        return self.of(tok.lower_)

    def of(self, word: str) -> str:
        """The lemma of a lower-case word (itself when the table does not know it)."""
        return self.table.get(word, word)


def pos(tok: Token) -> str:
    if tok.pos_:  # a pipeline with the attribute ruler fills this
        return tok.pos_
    return _TAG_POS.get(tok.tag_, "X")
