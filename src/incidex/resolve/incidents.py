"""Cross-article resolution: one incident, many sources.

Each incident an article reports is stored as a *mention* (what that article
said). A resolved incident is the merge of its mentions, recomputed whenever a
mention joins or leaves, so every fact keeps its sources and analysts' merge
and split decisions can be re-applied after re-processing.

Matching is blocked, never all-pairs: candidates come from indexed lookups
(victim names and their aliases, distinctive victim words through FTS5, the
same actor or victim country inside a date window), then each candidate is
scored:

========================  ======================================================
signal                    contribution
========================  ======================================================
victim names              +0.5 x best name similarity (``names.similarity``);
                          -0.5 when both name specific victims and none match
attackers                 +0.25 same actor (kb id or name); -0.4 different groups
date                      +0.2 within 3 days, +0.1 within 14; -1.0 beyond 45
victim country            +0.1 shared; -0.3 disjoint
attack type               +0.1 shared specific type; -0.1 disjoint specific types
shared names              +0.3 x overlap of the proper names in the evidence
========================  ======================================================

A score >= ``merge_threshold`` (0.55) merges; a background mention of an older
incident needs ``background_threshold`` (0.45). Text embeddings (the MiniLM
package) were not needed on the project's multi-outlet sets, where these
signals separate every hard negative (same actor + same victim months apart,
same gang + same sector + same month, same day + same country), and they would
add torch to the install; the hook is ``score`` if a corpus shows otherwise.

Preferred values among conflicting reports (``preferred``): an official source
(a government domain, ``[resolve] official_domains``) first, then the value
most sources report, then the most recent report. Every reported value stays
in ``Incident.provenance`` with its article, publisher and date.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from ..records import Actor, Attribution, DateValue, Impact, Incident, Response, Victim
from ..settings import load_settings
from . import names

STATUS_STRENGTH = {"attributed": 4, "claimed": 3, "denied": 2, "suspected": 1, "unknown": 0}


@dataclass
class Source:
    """What resolution needs to know of the article behind a mention."""

    article_id: str
    source: str | None = None
    url: str | None = None
    published: str | None = None

    def official(self, settings: dict) -> bool:
        host = (self.source or "").lower()
        return any(host == d.lstrip(".") or host.endswith(d if d.startswith(".") else "." + d)
                   for d in settings["resolve"]["official_domains"])


@dataclass
class Candidate:
    incident_id: str
    score: float
    reasons: list[str] = field(default_factory=list)


# ----------------------------------------------------------------- matching

def _range(d: DateValue | None) -> tuple[date, date] | None:
    return None if d is None else _span(d.value, d.precision)


@lru_cache(maxsize=4096)
def _span(value: str, precision: str) -> tuple[date, date] | None:
    # every score compares two dates; the same few hundred come back all the time
    from ..extraction.dates import date_range, to_date

    lo, hi = date_range(DateValue(value, precision))
    return (to_date(lo), to_date(hi)) if lo and hi else None


def _gap_days(a: DateValue | None, b: DateValue | None) -> int | None:
    ra, rb = _range(a), _range(b)
    if ra is None or rb is None:
        return None
    if ra[1] < rb[0]:
        return (rb[0] - ra[1]).days
    if rb[1] < ra[0]:
        return (ra[0] - rb[1]).days
    return 0


def _actor_keys(a: Actor) -> set[str]:
    keys = {(a.name or "").casefold()}
    if a.kb_id:
        keys.add(a.kb_id)
    if a.mention:
        keys.add(a.mention.casefold())
    return keys


def score(new: Incident, cand: Incident, new_names: frozenset[str] | None = None) -> Candidate:
    """How likely ``cand`` (stored) is the incident ``new`` reports (``new_names``: its ``keywords``)."""
    s, why = 0.0, []
    best = 0.0
    for v in new.victims:
        for w in cand.victims:
            for wn in [w.name, *w.aliases]:
                best = max(best, names.similarity(v.name, wn, v.country, w.country))
    s += 0.5 * best
    why.append(f"victim {best:.2f}")
    named_new = [v for v in new.victims if names.distinctive(names.tokens(v.name))]
    named_old = [w for w in cand.victims if names.distinctive(names.tokens(w.name))]
    if named_new and named_old and best == 0.0:
        s -= 0.5
        why.append("different named victims")
    groups_new = [a for a in new.attackers if a.kind != "state"]
    groups_old = [a for a in cand.attackers if a.kind != "state"]
    shared = any(_actor_keys(a) & _actor_keys(b) for a in new.attackers for b in cand.attackers)
    if shared:
        s += 0.25
        why.append("same attacker")
    elif groups_new and groups_old:
        s -= 0.4
        why.append("different attackers")
    gap = _gap_days(new.date, cand.date)
    if gap is not None:
        if gap <= 3:
            s += 0.2
        elif gap <= 14:
            s += 0.1
        elif gap > 45:
            s -= 1.0  # months apart: another attack, even on the same victim by the same actor
        why.append(f"{gap} days apart")
    cn = {v.country for v in new.victims if v.country}
    co = {v.country for v in cand.victims if v.country}
    if cn and co:
        if cn & co:
            s += 0.1
        else:
            s -= 0.3
            why.append("different countries")
    tn = set(new.attack_types) - {"other"}
    to = set(cand.attack_types) - {"other"}
    if tn and to:
        s += 0.1 if tn & to else -0.1
    kn, ko = keywords(new) if new_names is None else new_names, keywords(cand)
    if kn and ko:
        overlap = len(kn & ko) / min(len(kn), len(ko))
        s += 0.3 * overlap
        why.append(f"shared names {overlap:.2f}")
    return Candidate(cand.id, round(s, 3), why)


_CAPS = re.compile(r"(?<![\w.])[A-Z][\w()&'-]{3,}")
_NOT_NAMES = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February",
              "March", "April", "June", "July", "August", "September", "October", "November", "December", "The",
              "This", "That", "These", "Those", "According", "After", "Before", "When", "While", "Earlier", "Later",
              "Last", "Since", "During", "Over", "Some", "About", "There", "Their", "They", "Security", "Government",
              "Ministry", "National", "Police", "Officials", "Researchers", "Hackers", "Ransomware", "Data"}


def keywords(inc: Incident) -> frozenset[str]:
    """Proper names in an incident's evidence sentences: a cheap text similarity
    (the words two reports of one incident share are its names, not its verbs)."""
    return _names_in(" ".join(e.text for e in inc.evidence if "." not in e.field))


@lru_cache(maxsize=20_000)
def _names_in(text: str) -> frozenset[str]:
    # every new incident is scored against dozens of stored ones, the same ones again and again
    return frozenset(w.strip("'") for w in _CAPS.findall(text) if w not in _NOT_NAMES)


def candidates(new: Incident, store, settings: dict) -> list[Incident]:
    cfg = settings["resolve"]
    victim_keys, tokens, countries = set(), set(), set()
    for v in new.victims:
        victim_keys.add(" ".join(v.name.casefold().split()))
        ent = store.entity_by_alias(names.key(v.name, v.country), (v.country or "").lower())
        if ent:
            victim_keys.update(a.casefold() for a in store.get_entity(ent["id"])["aliases"])
        tokens.update(t for t in names.distinctive(names.tokens(v.name)) if len(t) > 2)
        if v.country:
            countries.add(v.country.casefold())
    actor_keys = {a.name.casefold() for a in new.attackers} | {a.mention.casefold() for a in new.attackers if a.mention}
    kb_ids = {a.kb_id for a in new.attackers if a.kb_id}
    window = _range(new.date)
    from datetime import timedelta

    days = timedelta(days=int(cfg["date_window_days"]))
    ids = store.candidate_incident_ids(
        victim_keys=sorted(victim_keys), actor_keys=sorted(actor_keys), kb_ids=sorted(kb_ids),
        country_keys=sorted(countries), victim_tokens=sorted(tokens)[:8],
        date_from=window[0] - days if window else None, date_to=window[1] + days if window else None,
        limit=int(cfg["candidates"]))
    return store.get_incidents(ids)


def best_match(new: Incident, store, settings: dict | None = None, exclude: set[str] = frozenset()) -> Candidate | None:
    settings = settings or load_settings()
    threshold = float(settings["resolve"]["background_threshold" if new.background else "merge_threshold"])
    kn = keywords(new)
    scored = [score(new, c, kn) for c in candidates(new, store, settings) if c.id not in exclude]
    scored = [c for c in scored if c.score >= threshold]
    return max(scored, key=lambda c: c.score) if scored else None


# ----------------------------------------------------------------- merging

def _sort_key(src: Source, settings: dict) -> tuple:
    return (src.official(settings), src.published or "")


def preferred(values: list[tuple[Any, Source]], settings: dict) -> Any:
    """Official source > most reports > most recent report."""
    if not values:
        return None
    counts = Counter(_hashable(v) for v, _ in values)
    best = max(values, key=lambda vs: (vs[1].official(settings), counts[_hashable(vs[0])], vs[1].published or ""))
    return best[0]


def _hashable(v: Any) -> Any:
    return repr(v) if isinstance(v, (dict, list)) else v


def _prov(value: Any, src: Source, role: str) -> dict:
    return {"value": value, "article_id": src.article_id, "source": src.source, "url": src.url,
            "published": src.published, "role": role}


def merge(mentions: list[tuple[Incident, Source, str]], incident_id: str, settings: dict | None = None) -> Incident:
    """One incident from what each source reported (mentions in arrival order)."""
    settings = settings or load_settings()
    primary = [m for m in mentions if m[2] != "background"] or mentions
    prov: dict[str, list[dict]] = defaultdict(list)

    # victims: one entry per organisation; its names become aliases
    groups: list[list[tuple[Victim, Source]]] = []
    for inc, src, role in mentions:
        for v in inc.victims:
            prov["victims"].append(_prov(v.name, src, role))
            for g in groups:
                if any(names.similarity(v.name, w.name, v.country, w.country) >= 0.8
                       and (not v.country or not w.country or v.country == w.country) for w, _ in g):
                    g.append((v, src))
                    break
            else:
                groups.append([(v, src)])
    victims = []
    for g in groups:
        name = preferred([(v.name, s) for v, s in g if v.named] or [(v.name, s) for v, s in g], settings)
        country = preferred([(v.country, s) for v, s in g if v.country], settings)
        sector = preferred([(v.sector, s) for v, s in g if v.sector], settings)
        aliases = sorted({v.name for v, _ in g} - {name})
        victims.append(Victim(name=name, country=country, sector=sector, mention=name,
                              named=any(v.named for v, _ in g), aliases=aliases,
                              entity_id=next((v.entity_id for v, _ in g if v.entity_id), None)))

    attackers: list[Actor] = []
    for inc, src, role in mentions:
        for a in inc.attackers:
            prov["attackers"].append(_prov(a.name, src, role))
            if not any(_actor_keys(a) & _actor_keys(b) for b in attackers):
                attackers.append(a)

    dates = [(inc.date, src) for inc, src, _ in primary if inc.date]
    for inc, src, role in mentions:
        if inc.date:
            prov["date"].append(_prov(inc.date.value, src, role))
    date_value = None
    if dates:
        month = preferred([(d.value[:7], s) for d, s in dates], settings)
        agreeing = [(d, s) for d, s in dates if d.value[:7] == month]
        finest = min(agreeing, key=lambda ds: ({"day": 0, "week": 1, "month": 2, "year": 3}[ds[0].precision],))
        date_value = DateValue(finest[0].value, finest[0].precision,
                               min(1.0, max(d.confidence for d, _ in agreeing) + 0.05 * (len(agreeing) - 1)))

    types = sorted({t for inc, _, _ in mentions for t in inc.attack_types})
    if len(types) > 1 and "other" in types:
        types.remove("other")
    if len(types) > 1 and "malware" in types:
        types.remove("malware")

    outcome = preferred([(inc.outcome, src) for inc, src, _ in primary if inc.outcome != "unknown"], settings) or "unknown"
    for inc, src, role in mentions:
        prov["outcome"].append(_prov(inc.outcome, src, role))
        prov["attribution"].append(_prov(inc.attribution.status, src, role))

    statuses = [(inc.attribution.status, src) for inc, src, _ in mentions if inc.attribution.status != "unknown"]
    status = preferred(statuses, settings) if statuses else "unknown"
    by = sorted({b for inc, _, _ in mentions for b in inc.attribution.by if inc.attribution.status == status})

    impact = Impact()
    for fld in ("records_affected", "people_affected", "ransom_usd"):
        vals = [(getattr(inc.impact, fld), src) for inc, src, _ in mentions if getattr(inc.impact, fld) is not None]
        for (v, src), (_, _, role) in zip(vals, [m for m in mentions if getattr(m[0].impact, fld) is not None]):
            prov[fld].append(_prov(v, src, role))
        setattr(impact, fld, preferred(vals, settings))
    for fld in ("services_disrupted", "data_destroyed", "data_leaked"):
        vals = [getattr(inc.impact, fld) for inc, _, _ in mentions if getattr(inc.impact, fld) is not None]
        setattr(impact, fld, any(vals) if vals else None)
    impact.facts = list(dict.fromkeys(f for inc, _, _ in mentions for f in inc.impact.facts))[:20]

    responses: list[Response] = []
    for inc, _, _ in mentions:
        for r in inc.responses:
            if not any((x.kind, x.by, x.against) == (r.kind, r.by, r.against) for x in responses):
                responses.append(r)

    evidence = []
    seen_ev = set()
    for inc, src, _ in mentions:
        for e in inc.evidence:
            k = (e.article_id or src.article_id, e.field, e.start, e.end)
            if k not in seen_ev:
                seen_ev.add(k)
                evidence.append(e if e.article_id else replace(e, article_id=src.article_id))

    conflicts = sorted(f for f, vals in prov.items()
                       if f in ("date", "outcome", "attribution", "records_affected", "people_affected", "ransom_usd")
                       and len({_hashable(p["value"])[:7] if f == "date" else _hashable(p["value"]) for p in vals}) > 1)
    sources = {src.article_id for _, src, _ in mentions}
    confidence = min(0.99, max(inc.confidence for inc, _, _ in mentions) + 0.03 * (len(sources) - 1))
    who = ", ".join(a.name for a in attackers) or "Unknown attackers"
    whom = ", ".join(v.name for v in victims[:4]) or "unnamed victims"
    summary = f"{who}: {'/'.join(types) or 'cyber'} attack on {whom}" + (f" ({date_value.value})" if date_value else "")
    return Incident(
        id=incident_id, summary=summary, attack_types=types, attackers=attackers,
        attribution=Attribution(status, by), victims=victims, date=date_value, outcome=outcome, impact=impact,
        responses=responses,
        techniques=sorted({t for inc, _, _ in mentions for t in inc.techniques}),
        malware=sorted({m for inc, _, _ in mentions for m in inc.malware}),
        cves=sorted({c for inc, _, _ in mentions for c in inc.cves}),
        iocs=[dict(t) for t in dict.fromkeys(tuple(sorted(i.items())) for inc, _, _ in mentions for i in inc.iocs)],
        evidence=evidence, confidence=confidence,
        background=all(role == "background" for _, _, role in mentions),
        provenance=dict(prov), conflicts=conflicts,
    )


# ----------------------------------------------------------------- the store side

def mention_id(article_id: str, incident: Incident) -> str:
    """Stable per article and position: re-processing the article finds its mentions again."""
    return f"{article_id}:{incident.id.rsplit('-', 1)[-1]}"


def rebuild(store, incident_id: str, settings: dict | None = None) -> Incident | None:
    """Recompute a resolved incident from its mentions and store it (or drop it if none is left)."""
    rows = store.mentions_for_incident(incident_id)
    if not rows:
        store.delete_incident(incident_id)
        return None
    keep_links = [(a, r) for a, r in store.articles_for_incident(incident_id) if r == "syndicated"]
    return _store_merged(store, incident_id, [(r.incident, r.article_id, r.role) for r in rows], keep_links, settings,
                         new=False)


def _store_merged(store, incident_id: str, mentions: list[tuple[Incident, str, str]],
                  keep_links: list[tuple[str, str]], settings: dict | None, new: bool) -> Incident:
    """Merge mentions (incident, article id, role) into incident ``incident_id``, store it, link its articles."""
    meta = store.article_sources([a for _, a, _ in mentions])
    merged = merge([(inc, Source(a, *meta.get(a, (None, None, None))), role) for inc, a, role in mentions],
                   incident_id, settings)
    _attach_entities(store, merged)
    store.put_incident(merged, new=new)  # its links are set below
    links: dict[str, str] = {}
    for _, a, role in mentions:
        if links.get(a) != "primary":
            links[a] = role
    for a, r in keep_links:
        links.setdefault(a, r)
    store.relink_articles(incident_id, list(links.items()), new=new)
    return merged


def _attach_entities(store, inc: Incident) -> None:
    """Every victim name (and alias) resolves to one organisation entity."""
    for v in inc.victims:
        ckey = (v.country or "").lower()
        ent = None
        for n in [v.name, *v.aliases]:
            ent = store.entity_by_alias(names.key(n, v.country), ckey)
            if ent:
                break
        if ent is None:
            eid = "org:" + hashlib.sha1(f"{names.key(v.name, v.country)}|{ckey}".encode()).hexdigest()[:12]
            store.add_entity(eid, "organization", v.name, v.country)
            ent = {"id": eid}
        for n in [v.name, *v.aliases]:
            store.add_alias(ent["id"], n, names.key(n, v.country), ckey)
        v.entity_id = ent["id"]


def resolve_incident(incident: Incident, article_id: str, store, role: str,
                     settings: dict | None = None) -> tuple[str, bool]:
    """Store one extracted incident, merged into its best stored match or as a new incident.

    Returns (incident id, merged?). Analysts' decisions win: a pinned mention
    goes to its incident; a mention split off never rejoins the incident it
    was taken out of.
    """
    settings = settings or load_settings()
    mid = mention_id(article_id, incident)
    of_article = store.mentions_for_article(article_id)
    existing = next((r for r in of_article if r.id == mid), None)
    decided = store.decisions(subject=mid)
    pins = [d["target"] for d in decided if d["kind"] == "pin"]
    apart = {d["target"] for d in decided if d["kind"] == "apart"}
    target, merged_into = None, False
    if pins:
        target = pins[-1]
    elif existing is not None:
        target = existing.incident_id
    else:
        # two incidents of one article are two incidents: never merge them with each other
        same_article = {r.incident_id for r in of_article}
        m = best_match(incident, store, settings, exclude=apart | same_article)
        if m is not None:
            target, merged_into = m.incident_id, True
    if target is None:
        target = incident.id
    if store.has_incident(target):
        store.add_mention(mid, target, article_id, role, incident)
        rebuild(store, target, settings)
    else:  # a new incident: this mention is all it has (what rebuild would find), stored before the mention's key
        _store_merged(store, target, [(incident, article_id, role)], [], settings, new=True)
        store.add_mention(mid, target, article_id, role, incident)
    return target, merged_into


def merge_incidents(store, keep: str, other: str, settings: dict | None = None) -> Incident | None:
    """Analyst decision: ``other`` is the same incident as ``keep``."""
    rows = store.mentions_for_incident(other)
    if store.get_incident(keep) is None or not rows:
        return None
    for r in rows:
        store.add_decision("pin", r.id, keep, f"merged {other} into {keep}")
    syndicated = [(a, r) for a, r in store.articles_for_incident(other) if r == "syndicated"]
    store.move_mentions([r.id for r in rows], keep)
    store.delete_incident(other)
    merged = rebuild(store, keep, settings)
    if syndicated:
        links = dict(store.articles_for_incident(keep))
        for a, r in syndicated:
            links.setdefault(a, r)
        store.relink_articles(keep, list(links.items()))
    return merged


def split_incident(store, incident_id: str, article_ids: list[str], settings: dict | None = None) -> str | None:
    """Analyst decision: what ``article_ids`` reported is another incident."""
    rows = [r for r in store.mentions_for_incident(incident_id) if r.article_id in set(article_ids)]
    if not rows or len(rows) == len(store.mentions_for_incident(incident_id)):
        return None
    new_id = f"{incident_id}-split-{hashlib.sha1(','.join(sorted(r.id for r in rows)).encode()).hexdigest()[:6]}"
    store.add_incident(Incident(id=new_id), rows[0].article_id, rows[0].role)
    for r in rows:
        store.add_decision("pin", r.id, new_id, f"split from {incident_id}")
        store.add_decision("apart", r.id, incident_id, f"split from {incident_id}")
    store.move_mentions([r.id for r in rows], new_id)
    rebuild(store, incident_id, settings)
    rebuild(store, new_id, settings)
    return new_id


def reprocess_all(store, extractor=None, on_article=None, settings: dict | None = None) -> int:
    """Re-extract every stored article and re-resolve its incidents.

    Mentions keep their ids (article id + position), so pinned decisions
    (merges, splits) put them back where the analyst said; mentions an article
    no longer reports are removed and their incidents rebuilt.
    """
    from ..extraction.pipeline import ExtractionFailure, default_extractor

    ex = extractor or default_extractor()
    n, offset = 0, 0
    while True:
        page = store.list_articles(limit=64, offset=offset)
        if not page:
            break
        offset += len(page)
        batch = [a for a in page if not a.duplicate_of]
        full = [store.get_article(a.id) for a in batch]
        for art, res in zip(full, ex.extract_each(full)):
            if isinstance(res, ExtractionFailure):  # over its budget or a bug: reported, its incidents kept as they are
                store.record_failure(art.origin or art.id, res.reason, "extract")
                continue
            with store.transaction():
                old = {m.id: m.incident_id for m in store.mentions_for_article(art.id)}
                seen = set()
                for inc in res.incidents:
                    seen.add(mention_id(art.id, inc))
                    resolve_incident(inc, art.id, store, "background" if inc.background else "primary", settings)
                for mid, iid in old.items():
                    if mid not in seen:
                        store.delete_mention(mid)
                        rebuild(store, iid, settings)
            n += 1
            if on_article:
                on_article()
    return n
