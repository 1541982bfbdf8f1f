"""Incident facts as plain sentences for people (``incidex show``, ``extract``'s text output).

Missing parts are left out, never shown as "?": a response with no known
actor is "arrest against Kestrel Moth", not "arrest by ? against ...".
"""
from __future__ import annotations

from collections.abc import Iterable
from incidex.records import Evidence, Impact, Response, Victim


def _money(usd: float) -> str:
    if usd >= 1_000_000:
        return f"${usd / 1_000_000:,.1f} million".replace(".0 million", " million")
    return f"${usd:,.0f}"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def impact_sentences(impact: Impact) -> list[str]:
    out = []
    if impact.records_affected:
        out.append(f"{impact.records_affected:,} records affected.")
    if impact.people_affected:
        out.append(f"{impact.people_affected:,} people affected.")
    if impact.ransom_usd:
        out.append(f"Ransom of {_money(impact.ransom_usd)} reported.")
    for flag, yes, no in (("services_disrupted", "Services were disrupted.", "Services were not disrupted."),
                          ("data_destroyed", "Data was destroyed.", "No data was destroyed."),
                          ("data_leaked", "Data was leaked.", "No data was leaked.")):
        value = getattr(impact, flag)
        if value is not None:
            out.append(yes if value else no)
    out += [s for s in (_sentence(f) for f in impact.facts) if s]
    return out


def response_text(r: Response) -> str:
    """``sanctions by the EU against three officers (2024-09)``; unknown parts left out."""
    text = r.kind.replace("-", " ")
    if r.by:
        text += f" by {r.by}"
    if r.against:
        text += f" against {r.against}"
    if r.date:
        text += f" ({r.date.value})"
    return text


def victim_text(v: Victim) -> str:
    details = ", ".join(x for x in (v.country, v.sector) if x)
    return f"{v.name} ({details})" if details else v.name


def evidence_once(evidence: Iterable[Evidence]) -> list[tuple[Evidence, list[str]]]:
    """Each evidence sentence once, in order, with every field it supports: the same text quoted
    by several articles or for several fields is one, and a mention inside a sentence already
    shown (a name, a date) adds its field to that sentence instead of a line of its own."""
    seen: dict[str, tuple[Evidence, list[str]]] = {}
    for e in evidence:
        key = " ".join((e.text or "").split()) or f"{e.article_id}:{e.start}:{e.end}"
        item = seen.setdefault(key, (e, []))
        if e.field not in item[1]:
            item[1].append(e.field)
    items = list(seen.values())
    kept: list[tuple[Evidence, list[str]]] = []
    for e, fields in items:
        host = next((h for h in items if h[0] is not e and h[0].article_id == e.article_id
                     and h[0].start <= e.start and e.end <= h[0].end and (h[0].end - h[0].start) > (e.end - e.start)),
                    None)
        if host is None:
            kept.append((e, fields))
        else:
            host[1].extend(f for f in fields if f not in host[1])
    return kept
