"""Folding text for name matching, with a map back to the original offsets.

A name in a hostile article can hide from the knowledge base behind a
character the reader does not see or cannot tell apart: ``Lock\u200bBit``
(a zero-width space), ``LосkBit`` (Cyrillic о and с), ``ＬｏｃｋＢｉｔ``
(full-width letters). Every name lookup folds both the text and the names it
looks for the same way, here and nowhere else:

1. invisible characters are dropped: format characters (Unicode category Cf:
   zero-width space/joiners, soft hyphen, bidi controls, tags, BOM), variation
   selectors, the combining grapheme joiner and Hangul fillers;
2. every other character goes through NFKC on its own (full-width,
   mathematical and ligature forms become plain letters), curly quotes and
   dashes become ``'``, ``"`` and ``-``;
3. whitespace runs become one space;
4. look-alike Cyrillic and Greek letters (``data/confusables.txt``) become the
   Latin letter they imitate, inside a word that holds a Latin letter or is
   made only of look-alikes (genuine Cyrillic or Greek words stay as they are).

The body itself is never changed: evidence must quote the article as it was
published. ``fold`` returns the folded text with the original offset of every
folded character, so a match found in the folded text maps back to a span of
the original (``Folded.span``) whose slice is what the evidence quotes.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Folded", "fold", "fold_string", "fold_key", "is_invisible", "lower_same_length", "confusables"]

# Invisible but not Cf: variation selectors, combining grapheme joiner, Hangul fillers, braille blank.
_INVISIBLE_EXTRA = frozenset(
    [chr(c) for c in range(0xFE00, 0xFE10)] + [chr(c) for c in range(0xE0100, 0xE01F0)]
    + ["\u034f", "\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"])
_PUNCT = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201b": "'", "\u2032": "'",
                        "\u201c": '"', "\u201d": '"', "\u201e": '"',
                        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})
_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=1)
def confusables() -> dict[str, str]:
    """Look-alike letter -> Latin letter, from ``data/confusables.txt``."""
    out: dict[str, str] = {}
    text = resources.files("incidex").joinpath("data/confusables.txt").read_text("utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        ch, latin = line.split("\t")[:2]
        out[ch] = latin.strip()
    return out


def is_invisible(ch: str) -> bool:
    """A character that shows nothing: Cf, variation selectors, fillers."""
    return ch in _INVISIBLE_EXTRA or (ord(ch) >= 0x80 and unicodedata.category(ch) == "Cf")


@lru_cache(maxsize=65536)
def _char(ch: str) -> str:
    """The fold of one visible, non-space, non-ASCII character (may be 0-3 characters)."""
    return unicodedata.normalize("NFKC", ch).translate(_PUNCT)


@lru_cache(maxsize=1)
def _simple() -> tuple[frozenset[str], dict[int, str]]:
    """Non-ASCII characters whose fold is exactly one other plain character (no
    invisible, space, look-alike or expansion): text made only of these and ASCII
    folds with ``str.translate`` and keeps its offsets."""
    conf = confusables()
    safe: set[str] = set()
    table: dict[int, str] = {}
    for cp in list(range(0x80, 0x3000)) + list(range(0xFF00, 0xFFF0)):
        ch = chr(cp)
        if ch in conf or ch.isspace() or is_invisible(ch) or unicodedata.category(ch) in ("Cs", "Co", "Cn"):
            continue
        f = _char(ch)
        if len(f) != 1 or f.isspace() or f in conf or is_invisible(f):
            continue
        safe.add(ch)
        if f != ch:
            table[cp] = f
    return frozenset(safe), table


@dataclass(frozen=True)
class Folded:
    """Folded text; ``offsets[i]`` is the original index of ``text[i]`` (None: the same index)."""

    text: str
    offsets: list[int] | None = None
    original_length: int = 0

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the folded span ``[start, end)``."""
        if self.offsets is None:
            return start, end
        if end <= start:
            s = self.offsets[start] if start < len(self.offsets) else self.original_length
            return s, s
        return self.offsets[start], self.offsets[end - 1] + 1


def _latin_letter(ch: str) -> bool:
    return ch.isalpha() and (ch.isascii() or 0xC0 <= ord(ch) <= 0x24F)


def _fold_words(chars: list[str]) -> None:
    """Step 4 in place: look-alikes inside Latin (or all-look-alike) words."""
    conf = confusables()
    s = "".join(chars)
    for m in _WORD.finditer(s):
        word = m.group()
        if not any(c in conf for c in word):
            continue
        if any(_latin_letter(c) for c in word) or all(c in conf for c in word if c.isalpha()):
            for i in range(m.start(), m.end()):
                chars[i] = conf.get(chars[i], chars[i])


def fold(text: str, *, look_alikes: bool = True) -> Folded:
    """Fold ``text`` for matching (see the module docstring); offsets map back."""
    if text.isascii():
        if "  " not in text and not any(c in text for c in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85"):
            return Folded(text, None, len(text))
    else:
        safe, table = _simple()
        if "  " not in text and all(c in safe or (c.isascii() and (c == " " or not c.isspace()))
                                    for c in set(text)):
            return Folded(text.translate(table), None, len(text))
    chars: list[str] = []
    offsets: list[int] = []
    prev_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not prev_space:
                chars.append(" ")
                offsets.append(i)
                prev_space = True
            continue
        if ch.isascii():
            chars.append(ch)
            offsets.append(i)
            prev_space = False
            continue
        if is_invisible(ch):
            continue
        f = _char(ch)
        for c in f:
            if c.isspace():
                if prev_space:
                    continue
                c, prev_space = " ", True
            else:
                prev_space = False
            chars.append(c)
            offsets.append(i)
    if look_alikes:
        _fold_words(chars)
    return Folded("".join(chars), offsets, len(text))


def fold_string(s: str, *, look_alikes: bool = True) -> str:
    """``fold(s).text``: for the names matched against folded text."""
    return fold(s, look_alikes=look_alikes).text


def fold_key(key: str) -> str:
    """Look-alikes folded in a lookup key that is already letters and digits only
    (the whole key counts as one word, so a key is folded the same way every time)."""
    if key.isascii():
        return key
    chars = list(key)
    conf = confusables()
    if any(c in conf for c in chars) and (any(_latin_letter(c) for c in chars)
                                         or all(c in conf for c in chars if c.isalpha())):
        chars = [conf.get(c, c) for c in chars]
    return "".join(chars)


def lower_same_length(s: str) -> str:
    """Lower-case without changing the length ('İ'.lower() is two characters)."""
    out = s.lower()
    if len(out) == len(s):
        return out
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in s)
