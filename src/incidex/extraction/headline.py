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
TITLE_CASE_SHARE = 0.8  # of the words of four letters or more capitalised: a title-case headline
_WORD = re.compile(r"[A-Za-z][\w'’-]*")


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


def is_title_case(text: str) -> bool:
    words = [w for w in _WORD.findall(text) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= TITLE_CASE_SHARE * len(words)


def sentence_case(title: str, body: str, keep: list[tuple[int, int]]) -> str:
    """What the tagger should read of a title-case headline ("Atlanta Works to Break Ransomware
    Hold"): the words in lower case, but for the first word, the spans in ``keep`` (names the
    knowledge base or the gazetteer found), acronyms and inner capitals ("DOT", "SamSam"), and
    words the body writes capitalised after the start of a sentence. The small tagger reads
    title-case words as proper names ("Break" became a victim); the length and the offsets stay."""
    capitalised = set(re.findall(r"(?<=[\w,;:)] )([A-Z][\w'’-]*)", body))
    out = list(title)
    for i, m in enumerate(_WORD.finditer(title)):
        w = m.group(0)
        if i == 0 or not w[0].isupper() or w in capitalised or any(a < m.end() and m.start() < b for a, b in keep):
            continue
        if any(ch.isupper() for ch in w[1:]) or any(ch.isdigit() for ch in w):
            continue  # "DOT", "SamSam", "COVID-19"
        out[m.start()] = w[0].lower()
    return "".join(out)


def restore_case(doc, text: str):
    """The analysis of the sentence-cased text on the headline's own words (names keep their case)."""
    from spacy.tokens import Doc

    words = [text[t.idx:t.idx + len(t.text)] for t in doc]
    return Doc(doc.vocab, words=words, spaces=[bool(t.whitespace_) for t in doc], tags=[t.tag_ for t in doc],
               pos=[t.pos_ for t in doc], deps=[t.dep_ for t in doc], heads=[t.head.i for t in doc])
