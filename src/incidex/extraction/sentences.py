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
# "by 1 p.m. ET on Wednesday": a time zone after a clock time continues the sentence
_TIME_ZONE = re.compile(r"(?:[ECMP][SD]?T|GMT|UTC|BST|CES?T|EES?T|AES[DT]|IST|JST|KST|SGT|HKT)\b")


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str


def split_sentences(body: str, max_chars: int | None = None, *, max_sentence_chars: int | None = None,
                    max_sentences: int | None = None) -> list[Sentence]:
    """Sentences of ``body[:max_chars]``, at most ``max_sentences`` of them; a
    "sentence" longer than ``max_sentence_chars`` (a table or list flattened to
    one line) is cut at a space into pieces the parser can take."""
    out: list[Sentence] = []
    limit = len(body) if max_chars is None else min(len(body), max_chars)
    pos = 0
    for line in body[:limit].split("\n"):
        if max_sentences is not None and len(out) >= max_sentences:
            break
        line_start = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        seg_start = 0
        for m in _BOUNDARY.finditer(line):
            w = _word_before(line, seg_start, m.start()) if line[m.start()] == "." else ""
            if w and w.lower().rstrip(".") in ABBREVIATIONS:
                continue
            if w.lower() in ("a.m", "p.m") and _TIME_ZONE.match(line, m.end()):
                continue
            if len(w) == 1 and w.isupper():
                continue  # an initial, as in "John F. Kennedy"
            _add(out, body, line_start + seg_start, line_start + m.start() + 1 + _closing(line, m), max_sentence_chars)
            seg_start = m.end()
        _add(out, body, line_start + seg_start, line_start + len(line), max_sentence_chars)
    return out[:max_sentences] if max_sentences is not None else out


def _word_before(line: str, lo: int, end: int) -> str:
    """The run of letters and dots that ends at ``end`` and starts with a letter
    ("U.S" before "U.S. Treasury"). Scanned backwards, so a line of many
    abbreviations costs time linear in its length."""
    k = end
    while k > lo and (line[k - 1] == "." or ("a" <= line[k - 1].lower() <= "z" and line[k - 1].isascii())):
        k -= 1
    return line[k:end].lstrip(".")


def _closing(line: str, m: re.Match) -> int:
    """Keep closing quotes/brackets that follow the full stop inside the sentence."""
    return len(m.group(0).rstrip()) - 1


def _add(out: list[Sentence], body: str, start: int, end: int, max_len: int | None = None) -> None:
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    while max_len and end - start > max_len:
        cut = body.rfind(" ", start + max_len // 2, start + max_len)
        cut = cut if cut > start else start + max_len
        _add(out, body, start, cut)
        start = cut
        while start < end and body[start].isspace():
            start += 1
    if end > start:
        out.append(Sentence(len(out), start, end, body[start:end]))
