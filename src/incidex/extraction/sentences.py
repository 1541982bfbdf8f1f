"""Sentence spans with character offsets into the cleaned body.

A rule splitter instead of the parser's: it runs at tokenizer speed over the
whole body, so only the sentences that matter go through the statistical
pipeline. Lines are paragraphs; a sentence never crosses a line break.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ABBREVIATIONS = {
    "u.s", "u.k", "u.n", "e.u", "mr", "mrs", "ms", "dr", "prof", "inc", "ltd", "co", "corp",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "e.g", "i.e", "vs", "etc", "no", "st", "gen", "gov", "sen", "rep", "lt", "col", "capt",
    "approx", "dept", "est", "fig", "jr", "sr", "mt", "ft",
}
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str


def split_sentences(body: str, max_chars: int | None = None) -> list[Sentence]:
    out: list[Sentence] = []
    limit = len(body) if max_chars is None else min(len(body), max_chars)
    pos = 0
    for line in body[:limit].split("\n"):
        line_start = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        seg_start = 0
        for m in _BOUNDARY.finditer(line):
            before = line[seg_start:m.start() + 1]
            w = _WORD_BEFORE.search(before[:-1] + "") if before.endswith(".") else None
            if w and w.group(1).lower().rstrip(".") in ABBREVIATIONS:
                continue
            if w and len(w.group(1)) == 1 and w.group(1).isupper():
                continue  # an initial, as in "John F. Kennedy"
            _add(out, body, line_start + seg_start, line_start + m.start() + 1 + _closing(line, m))
            seg_start = m.end()
        _add(out, body, line_start + seg_start, line_start + len(line))
    return out


def _closing(line: str, m: re.Match) -> int:
    """Keep closing quotes/brackets that follow the full stop inside the sentence."""
    return len(m.group(0).rstrip()) - 1


def _add(out: list[Sentence], body: str, start: int, end: int) -> None:
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(len(out), start, end, body[start:end]))
