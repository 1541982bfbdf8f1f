"""Cue lexicon: compiled once from ``lexicons/cues.yaml``.

Each category becomes one case-insensitive alternation with word boundaries.
The fragments are flat, so a match costs time linear in the sentence length.
Cues are looked for in the folded sentence (``incidex.textfold``) and reported
with their offsets in the sentence as written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick
from functools import lru_cache
from importlib import resources
from typing import Iterator

import yaml

from ..textfold import Folded, fold, lower_same_length


@dataclass(frozen=True)
class Cue:
    category: str  # e.g. "attack_triggers", "responses"
    label: str  # e.g. "ransomware", "sanctions"; the category itself for flat lists
    start: int
    end: int
    text: str


class CueSet:
    """Finds cue phrases of every category in a sentence."""

    def __init__(self, data: dict):
        self.data = data
        self._compiled: dict[str, tuple[re.Pattern, dict[str, str]]] = {}
        self._always: set[str] = set()
        literals: dict[str, set[str]] = {}
        for cat, val in data.items():
            pairs = [(p, label) for label, pats in val.items() for p in pats] if isinstance(val, dict) else [(p, cat) for p in val]
            # one pass per category: each fragment is a named group, longest first,
            # so a match tells its label and "data breach" beats "breach"
            pairs = sorted(set(pairs), key=lambda x: (-len(x[0]), x[0]))
            names = {f"g{i}": label for i, (_, label) in enumerate(pairs)}
            body = "|".join(f"(?P<g{i}>{p})" for i, (p, _) in enumerate(pairs))
            self._compiled[cat] = (re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE), names)
            for p, _ in pairs:
                lit = required_literal(p)
                if lit is None:
                    self._always.add(cat)
                else:
                    literals.setdefault(lit, set()).add(cat)
        # Prefilter: a category's regex runs only when one of its required
        # literals occurs in the sentence (one Aho-Corasick pass for all).
        self._auto = ahocorasick.Automaton()
        for lit, cats in literals.items():
            self._auto.add_word(lit, frozenset(cats))
        self._auto.make_automaton()
        self._last: tuple[str, Folded, set[str]] | None = None

    def _present(self, text: str) -> tuple[Folded, set[str]]:
        """The folded text (a zero-width or look-alike character cannot hide a cue)
        and the categories whose required literals occur in it; cached per sentence."""
        if self._last is not None and self._last[0] is text:
            return self._last[1], self._last[2]
        folded = fold(text)
        present = set(self._always)
        for _, cats in self._auto.iter(lower_same_length(folded.text)):
            present |= cats
        self._last = (text, folded, present)
        return folded, present

    def find(self, category: str, text: str) -> Iterator[Cue]:
        compiled = self._compiled.get(category)
        if compiled is None:
            return
        folded, present = self._present(text)
        if category not in present:
            return
        pat, names = compiled
        for m in pat.finditer(folded.text):
            start, end = folded.span(m.start(), m.end())
            yield Cue(category, names[m.lastgroup], start, end, text[start:end])

    def any(self, category: str, text: str) -> bool:
        return next(self.find(category, text), None) is not None

    def words(self, category: str) -> list[str]:
        return list(self.data.get(category) or [])


_GROUP = re.compile(r"\((?:[^()]|\([^()]*\))*\)[?*+]?")


def required_literal(fragment: str) -> str | None:
    """The longest run of letters every match of ``fragment`` must contain, or None.

    Groups, classes and optional characters are dropped first, so what is left
    is text the pattern cannot match without.
    """
    s = _GROUP.sub(" ", fragment)
    s = re.sub(r"\[[^\]]*\][?*+]?", " ", s)
    s = re.sub(r"\\[a-zA-Z][?*+]?", " ", s)
    s = re.sub(r".[?*]", " ", s)
    s = re.sub(r"\{\d+(?:,\d*)?\}", " ", s)
    runs = [r.lower() for r in re.findall(r"[A-Za-z' ]+", s)]
    best = max((w for r in runs for w in r.split()), key=len, default="")
    return best if len(best) >= 3 else None


@lru_cache(maxsize=1)
def load_cues() -> CueSet:
    text = resources.files("incidex.extraction").joinpath("lexicons/cues.yaml").read_text("utf-8")
    return CueSet(yaml.safe_load(text))
