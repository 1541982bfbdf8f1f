"""Evidence spans located in an article body, and the body cut into highlightable runs.

Every fact keeps the offsets of the sentence it came from (and of the words
that name an actor, a victim, a date or a place) in the body of the article it
was read from (``Evidence.article_id``). ``evidence_in`` keeps the spans of
one article whose offsets still match their text; a syndicated copy's body
differs slightly, so there a span is looked up by its text instead (and
dropped when the text is not there). ``segments`` cuts the body at every span
boundary, so overlapping spans (several facts from one sentence) become runs
of text each knowing every span that covers it: the templates wrap those in
``<mark>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from incidex.records import Evidence, Incident


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    field: str
    incident_id: str


@dataclass
class Segment:
    text: str
    start: int
    cover: tuple[Span, ...] = ()  # empty: plain text


def evidence_in(body: str, article_id: str, incident: Incident, *, owner: str | None = None,
                copy_of: str | None = None) -> list[Evidence]:
    """The evidence of ``incident`` that lies in this article's ``body`` (offsets corrected).

    ``owner``: the article that evidence without an ``article_id`` was read
    from (the incident's first primary source). ``copy_of``: this article is a
    syndicated copy of that one, whose evidence is looked up here by its text.
    """
    out: list[Evidence] = []
    for e in incident.evidence:
        src = e.article_id or owner
        if src != article_id and (copy_of is None or src != copy_of):
            continue
        if getattr(e, "part", "body") != "body":
            continue  # read from the headline, not the body
        start, end = e.start, e.end
        if not (0 <= start < end <= len(body)) or (e.text and body[start:end] != e.text):
            pos = body.find(e.text) if e.text else -1
            if pos < 0:
                continue
            start, end = pos, pos + len(e.text)
        out.append(Evidence(e.field, start, end, body[start:end], article_id))
    return out


def segments(body: str, spans: Iterable[Span]) -> list[Segment]:
    """``body`` as consecutive segments, each with the spans covering it."""
    spans = [s for s in spans if 0 <= s.start < s.end <= len(body)]
    cuts = sorted({0, len(body), *(s.start for s in spans), *(s.end for s in spans)})
    return [Segment(body[a:b], a, tuple(s for s in spans if s.start <= a and s.end >= b))
            for a, b in zip(cuts, cuts[1:])]


def owner_of(links: list[tuple[str, str]]) -> str | None:
    """The article that an incident's evidence without ``article_id`` comes from: its first primary source."""
    return next((a for a, r in links if r == "primary"), links[0][0] if links else None)


def article_evidence(store: Any, article: Any) -> list[tuple[Incident, str, list[Evidence]]]:
    """``(incident, role, evidence in this body)`` for every incident linked to ``article``."""
    out = []
    for inc in store.incidents_for_article(article.id):
        links = store.articles_for_incident(inc.id)
        role = next((r for a, r in links if a == article.id), "primary")
        out.append((inc, role, evidence_in(article.body, article.id, inc, owner=owner_of(links),
                                           copy_of=article.duplicate_of)))
    return out


def fact_key(field: str) -> str:
    """The fact an evidence field supports: ``victims[0].mention`` -> ``victims[0]``."""
    return field[: -len(".mention")] if field.endswith(".mention") else field


def marks(body: str, evidence: Iterable[tuple[str, Evidence]]) -> list[dict[str, Any]]:
    """The body as runs for the templates: ``{"text", "ev", "title", "strong"}``.

    ``evidence``: ``(incident id, evidence)`` pairs. ``ev`` (space-separated
    ``<incident id>|<fact>``) ties a run to the fact rows it supports and is
    empty for plain text; ``strong`` marks the words of a mention (a name, a
    date, a place) inside an evidence sentence.
    """
    out = []
    spans = [Span(e.start, e.end, e.field, iid) for iid, e in evidence]
    for seg in segments(body, spans):
        if not seg.cover:
            out.append({"text": seg.text, "ev": "", "title": "", "strong": False})
            continue
        keys = " ".join(dict.fromkeys(f"{s.incident_id}|{fact_key(s.field)}" for s in seg.cover))
        facts = ", ".join(dict.fromkeys(fact_key(s.field).split("[")[0].replace("_", " ") for s in seg.cover))
        strong = any(s.field.endswith(".mention") or s.field == "place" for s in seg.cover)
        out.append({"text": seg.text, "ev": keys, "title": "evidence: " + facts, "strong": strong})
    return out
