"""What every export format shares: stable ids, sources, timestamps, the KB lookups.

Only ``incidex.records``, ``incidex.store`` and the packaged data are used here,
so the exports do not depend on how the extraction stage is organised.

Determinism. Every identifier an export writes is a UUIDv5 in ``NAMESPACE``
over a stable key (the incident id, a victim's name and country, an actor's KB
id or name, a country code, a technique id, an article id...), and every
timestamp comes from the store (incident ``created_at``/``updated_at``,
article publication and ingestion times) or is the fixed ``EPOCH``. Exporting
the same store twice therefore gives byte-identical output, and re-exporting
after an update changes objects (same id, newer ``modified``) instead of
duplicating them in the tool that imports them.
"""
from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import Any

from incidex.records import Article, Incident
from incidex.store import codec

UTC = timezone.utc

#: Namespace of every UUIDv5 incidex exports (never change it: ids would change).
NAMESPACE = uuid.UUID("3f0b7c52-5a43-5b55-9e3c-6f1d2a7c8e10")

#: ``created`` of objects shared by many incidents (locations, actors...), so
#: that every export, filtered or not, agrees on it.
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

#: incidex sector -> STIX 2.1 industry-sector-ov value (``other`` has none).
STIX_SECTORS = {
    "government": "government", "legislature": "government-national", "military": "defense",
    "law-enforcement": "government-emergency-services", "healthcare": "healthcare",
    "finance": "financial-services", "energy": "energy", "telecom": "telecommunications",
    "transport": "transportation", "aviation": "transportation", "education": "education",
    "retail": "retail", "manufacturing": "manufacturing", "media": "communications",
    "technology": "technology", "entertainment": "entertainment", "utilities": "utilities",
}

#: incidex sector -> value of the MISP ``sector`` galaxy.
MISP_SECTORS = {
    "government": "Government, Administration", "legislature": "Government, Administration",
    "military": "Military", "law-enforcement": "Police - Law enforcement", "healthcare": "Health",
    "finance": "Finance", "energy": "Energy", "telecom": "Telecoms", "transport": "Transport",
    "aviation": "Civil Aviation", "education": "Education", "retail": "Retail",
    "manufacturing": "Manufacturing", "media": "News - Media", "technology": "Technology",
    "entertainment": "Entertainment", "utilities": "Infrastructure", "other": "Other",
}

#: Where the MISP ``country`` galaxy's value is not the KB's country name in lower case.
_MISP_COUNTRY_OVERRIDES = {
    "BQ": "bonaire, saint eustatius and saba", "CD": "democratic republic of the congo", "CV": "cabo verde",
    "CZ": "czechia", "MO": "macao", "PS": "palestinian territory", "TL": "timor leste",
    "US": "united states of america", "VA": "vatican",
}


def stable_uuid(*parts: str) -> str:
    """UUIDv5 of the key parts (joined with a separator no part contains)."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def key(text: str | None) -> str:
    """Case- and whitespace-insensitive form of a name, for keys."""
    return codec.name_key(text) or ""


# ----------------------------------------------------------------- timestamps

def utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_time(text: str | None) -> datetime | None:
    """A stored publication/ingestion time as aware UTC, or None."""
    return codec.parse_instant(text) if text else None


def incident_times(store: Any, incident_ids: Sequence[str]) -> dict[str, tuple[datetime, datetime]]:
    """``id -> (created_at, updated_at)`` from the store; EPOCH for ids it does not know."""
    getter = getattr(store, "incident_times", None)
    found = getter(list(incident_ids)) if getter else {}
    return {i: found.get(i, (EPOCH, EPOCH)) for i in incident_ids}


# ----------------------------------------------------------------- sources

@dataclass(frozen=True)
class Source:
    """One article an incident was read from, as exports show it."""

    article_id: str
    role: str
    url: str | None = None
    source: str | None = None
    title: str | None = None
    published: str | None = None
    language: str | None = None
    ingested_at: str | None = None

    def json(self) -> dict[str, Any]:
        """The ``sources`` entry of the JSON/JSONL export (same shape as ``incidex show``)."""
        return {"article_id": self.article_id, "role": self.role, "url": self.url,
                "source": self.source, "published": self.published}


class Sources:
    """Looks up (and caches) the source articles of incidents in one export run."""

    def __init__(self, store: Any):
        self.store = store
        self._articles: dict[str, Article | None] = {}

    def article(self, article_id: str) -> Article | None:
        if article_id not in self._articles:
            self._articles[article_id] = self.store.get_article(article_id)
        return self._articles[article_id]

    def of(self, incident_id: str) -> list[Source]:
        out = []
        for article_id, role in self.store.articles_for_incident(incident_id):
            a = self.article(article_id)
            out.append(Source(article_id, role, a.url if a else None, a.source if a else None,
                              a.title if a else None, a.published if a else None,
                              a.language if a else None, a.ingested_at if a else None))
        return out


def incident_json(incident: Incident, sources: list[Source]) -> dict[str, Any]:
    """``incident.to_dict()`` plus its ``sources``: the JSON/JSONL export record."""
    d = incident.to_dict()
    d["sources"] = [s.json() for s in sources]
    return d


# ----------------------------------------------------------------- selection

from incidex.store.api_sql import INCIDENT_FILTERS as FILTER_KEYS  # noqa: E402  (one list of filters)


def select_incidents(store: Any, *, limit: int | None = None, offset: int = 0, page: int = 500,
                     **filters: Any) -> Iterator[Incident]:
    """Incidents matching ``filters`` (the keywords of ``Store.list_incidents``), paged, all by default."""
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise TypeError(f"unknown incident filters: {', '.join(sorted(unknown))}")
    filters = {k: v for k, v in filters.items() if v is not None}
    done = 0
    while limit is None or done < limit:
        n = page if limit is None else min(page, limit - done)
        rows = store.list_incidents(limit=n, offset=offset + done, **filters)
        yield from rows
        done += len(rows)
        if len(rows) < n:
            return


# ----------------------------------------------------------------- knowledge base

@dataclass(frozen=True)
class KbEntry:
    id: str
    name: str
    type: str  # intrusion-set, threat-actor, campaign, activity-group, malware, ransomware, tool
    aliases: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    state: str | None = None
    tactics: tuple[str, ...] = ()


class Kb:
    """The few facts the exports need from ``incidex/data/kb.json.gz`` (read once)."""

    def __init__(self, data: dict[str, Any]):
        self.entries: dict[str, KbEntry] = {}
        self.malware_by_name: dict[str, KbEntry] = {}
        for a in data.get("actors", []):
            self.entries[a["id"]] = KbEntry(a["id"], a["name"], a.get("type") or "threat-actor",
                                            tuple(a.get("aliases") or ()), tuple(a.get("sources") or ()),
                                            a.get("state"))
        for m in data.get("malware", []):
            e = KbEntry(m["id"], m["name"], m.get("kind") or "malware", tuple(m.get("aliases") or ()),
                        tuple(m.get("sources") or ()))
            self.entries.setdefault(m["id"], e)
            for name in (m["name"], *e.aliases):
                k = key(name)
                # ATT&CK entries win over galaxy-only ones for the same name
                if k and (k not in self.malware_by_name or (e.id.startswith("attack:")
                                                            and not self.malware_by_name[k].id.startswith("attack:"))):
                    self.malware_by_name[k] = e
        self.techniques: dict[str, KbEntry] = {
            t["id"]: KbEntry(t["id"], t["name"], "attack-pattern", tactics=tuple(t.get("tactics") or ()))
            for t in data.get("techniques", [])}
        self.countries: dict[str, str] = {c["iso"]: c["name"] for c in data.get("countries", [])}

    def entry(self, kb_id: str | None) -> KbEntry | None:
        return self.entries.get(kb_id) if kb_id else None

    def malware(self, name: str) -> KbEntry | None:
        return self.malware_by_name.get(key(name))

    def country_name(self, code: str) -> str:
        return self.countries.get(code.upper(), code.upper())

    def misp_country(self, code: str) -> str:
        """The MISP ``country`` galaxy value (lower-case English name) of an ISO code."""
        code = code.upper()
        return _MISP_COUNTRY_OVERRIDES.get(code) or self.country_name(code).lower()


@lru_cache(maxsize=1)
def kb() -> Kb:
    try:
        raw = resources.files("incidex").joinpath("data/kb.json.gz").read_bytes()
        return Kb(json.loads(gzip.decompress(raw)))
    except (FileNotFoundError, OSError, ValueError):  # exports still work, with names only
        return Kb({})


def attack_url(attack_id: str) -> str | None:
    """The ATT&CK page of a group (G), software (S), campaign (C) or technique (T) id."""
    if not attack_id:
        return None
    kind = {"G": "groups", "S": "software", "C": "campaigns", "T": "techniques"}.get(attack_id[0])
    if kind is None:
        return None
    return f"https://attack.mitre.org/{kind}/{attack_id.replace('.', '/')}"  # as in ATT&CK's own STIX data


def unique(items: Iterable[str | None]) -> list[str]:
    """Non-empty items, first occurrence kept, in order."""
    out: dict[str, None] = {}
    for it in items:
        if it:
            out.setdefault(it, None)
    return list(out)
