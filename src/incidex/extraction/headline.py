"""The headline is part of the text: extraction reads ``title + blank line + body``.

Feed items often carry only a headline and a description of a sentence or two, and real
headlines name the victim more often than any sentence of the body ("County hit by ransomware").
So extraction reads the headline first, as its own sentence (the splitter never crosses the
blank line), and every offset it keeps is then moved back to the part it came from: evidence
from the headline says ``part="title"`` with offsets into ``article.title``; everything else
points into ``article.body`` as before. A body that already starts with its headline (pages
whose text repeats the title) is read once.
"""
from __future__ import annotations

import re

from ..records import Article, ExtractionResult

SEPARATOR = "\n\n"


def _norm(s: str) -> str:
    return re.sub(r"\W+", " ", s).strip().lower()


def headline_shift(article: Article) -> int:
    """Where the body starts in the extraction text (0: the headline is not read separately)."""
    title = (article.title or "").strip()
    if not title or "\n" in title:
        return 0
    head = _norm(title)
    if not head or _norm(article.body[:len(title) + 20]).startswith(head):
        return 0
    return len(title) + len(SEPARATOR)


def extraction_text(article: Article) -> str:
    shift = headline_shift(article)
    if not shift:
        return article.body
    return article.title.strip() + SEPARATOR + article.body


def to_parts(result: ExtractionResult, shift: int) -> None:
    """Move offsets of the extraction text back to the headline or the body."""
    if not shift:
        return
    for inc in result.incidents:
        for e in inc.evidence:
            if e.start < shift:
                e.part = "title"
            else:
                e.start -= shift
                e.end -= shift
    # mention-level output of the CASIE model points into the body only
    result.events = [ev for ev in result.events if ev.start >= shift]
    for ev in result.events:
        ev.arguments = [a for a in ev.arguments if a.start >= shift]
    result.arguments = [a for a in result.arguments if a.start >= shift]
    moved = {id(x): x for x in result.events}
    moved.update({id(a): a for ev in result.events for a in ev.arguments})
    moved.update({id(a): a for a in result.arguments})
    for x in moved.values():  # events and arguments may share objects: move each once
        x.start -= shift
        x.end -= shift
