"""Cue lexicon: compiled once from ``lexicons/cues.yaml``.

Each category becomes one case-insensitive alternation with word boundaries.
The fragments are flat, so a match costs time linear in the sentence length.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterator

import yaml


@dataclass(frozen=True)
class Cue:
    category: str  # e.g. "attack_triggers", "responses"
    label: str  # e.g. "ransomware", "sanctions"; the category itself for flat lists
    start: int
    end: int
    text: str


def _alternation(items: list[str]) -> str:
    items = sorted(set(items), key=len, reverse=True)
    return "|".join(f"(?:{i})" for i in items)


class CueSet:
    """Finds cue phrases of every category in a sentence."""

    def __init__(self, data: dict):
        self.data = data
        self._labelled: dict[str, list[tuple[str, re.Pattern]]] = {}
        self._flat: dict[str, re.Pattern] = {}
        for cat, val in data.items():
            if isinstance(val, dict):
                self._labelled[cat] = [
                    (label, re.compile(rf"(?<![\w-])(?:{_alternation(pats)})(?![\w-])", re.IGNORECASE))
                    for label, pats in val.items()
                ]
            else:
                self._flat[cat] = re.compile(rf"(?<![\w-])(?:{_alternation(val)})(?![\w-])", re.IGNORECASE)

    def find(self, category: str, text: str) -> Iterator[Cue]:
        if category in self._flat:
            for m in self._flat[category].finditer(text):
                yield Cue(category, category, m.start(), m.end(), m.group(0))
            return
        for label, pat in self._labelled.get(category, []):
            for m in pat.finditer(text):
                yield Cue(category, label, m.start(), m.end(), m.group(0))

    def any(self, category: str, text: str) -> bool:
        return next(self.find(category, text), None) is not None

    def words(self, category: str) -> list[str]:
        return list(self.data.get(category) or [])


@lru_cache(maxsize=1)
def load_cues() -> CueSet:
    text = resources.files("incidex.extract").joinpath("lexicons/cues.yaml").read_text("utf-8")
    return CueSet(yaml.safe_load(text))
