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

#: The STIX 2.1 ``industry-sector-ov`` vocabulary (section 10.12 of the specification), with the
#: name a sector ``identity`` (``identity_class: class``) gets in the export.
STIX_INDUSTRY_SECTORS = {
    "agriculture": "Agriculture", "aerospace": "Aerospace", "automotive": "Automotive", "chemical": "Chemical",
    "commercial": "Commercial", "communications": "Communications", "construction": "Construction",
    "defense": "Defense", "education": "Education", "energy": "Energy", "entertainment": "Entertainment",
    "financial-services": "Financial Services", "government": "Government",
    "emergency-services": "Emergency Services", "government-local": "Local Government",
    "government-national": "National Government", "government-public-services": "Government Public Services",
    "government-regional": "Regional Government", "healthcare": "Healthcare",
    "hospitality-leisure": "Hospitality and Leisure", "infrastructure": "Infrastructure", "dams": "Dams",
    "nuclear": "Nuclear", "water": "Water", "insurance": "Insurance", "manufacturing": "Manufacturing",
    "mining": "Mining", "non-profit": "Non-profit", "pharmaceuticals": "Pharmaceuticals", "retail": "Retail",
    "technology": "Technology", "telecommunications": "Telecommunications", "transportation": "Transportation",
    "utilities": "Utilities",
}

#: incidex sector -> STIX 2.1 industry-sector-ov value (``other`` has none). Police and
#: justice are ``emergency-services``: the vocabulary has no law-enforcement term.
STIX_SECTORS = {
    "government": "government", "legislature": "government-national", "military": "defense",
    "law-enforcement": "emergency-services", "healthcare": "healthcare",
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
class GalaxyCluster:
    """One cluster of a shipped MISP galaxy file: what a MISP event needs to attach it."""

    galaxy: str  # the galaxy type, which is also the tag namespace: misp-galaxy:<galaxy>="<value>"
    uuid: str
    value: str

    @property
    def tag(self) -> str:
        """The cluster's tag, exactly as MISP names it (the value is not re-quoted or changed)."""
        return f'misp-galaxy:{self.galaxy}="{self.value}"'


@dataclass(frozen=True)
class KbEntry:
    id: str
    name: str
    type: str  # intrusion-set, threat-actor, campaign, activity-group, malware, ransomware, tool
    aliases: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    state: str | None = None
    tactics: tuple[str, ...] = ()
    clusters: tuple[GalaxyCluster, ...] = ()  # MISP clusters merged into the entry, best named first per galaxy
    operator: str | None = None  # ransomware family: KB id of the group that runs it

    def cluster(self, galaxy: str) -> GalaxyCluster | None:
        """The entry's cluster in one galaxy (the one named most like the entry), or None."""
        return next((c for c in self.clusters if c.galaxy == galaxy), None)


def _clusters(rows: list[list[str]] | None) -> tuple[GalaxyCluster, ...]:
    return tuple(GalaxyCluster(*row) for row in rows or ())


class Kb:
    """The few facts the exports need from ``incidex/data/kb.json.gz`` (read once)."""

    def __init__(self, data: dict[str, Any]):
        self.entries: dict[str, KbEntry] = {}
        self.malware_by_name: dict[str, KbEntry] = {}
        self.operated: dict[str, list[KbEntry]] = {}  # group KB id -> the ransomware families it runs
        for a in data.get("actors", []):
            self.entries[a["id"]] = KbEntry(a["id"], a["name"], a.get("type") or "threat-actor",
                                            tuple(a.get("aliases") or ()), tuple(a.get("sources") or ()),
                                            a.get("state"), clusters=_clusters(a.get("misp")))
        for m in data.get("malware", []):
            e = KbEntry(m["id"], m["name"], m.get("kind") or "malware", tuple(m.get("aliases") or ()),
                        tuple(m.get("sources") or ()), clusters=_clusters(m.get("misp")), operator=m.get("operator"))
            if e.operator:
                self.operated.setdefault(e.operator, []).append(e)
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
        self.country_clusters: dict[str, GalaxyCluster] = {
            c["iso"]: GalaxyCluster("country", *c["misp"]) for c in data.get("countries", []) if c.get("misp")}
        self.sector_clusters: dict[str, GalaxyCluster] = {
            value: GalaxyCluster("sector", uuid, value)
            for value, uuid in ((data.get("sectors") or {}).get("clusters") or {}).items()}
        self.galaxies: dict[str, dict[str, str]] = data.get("galaxies") or {}

    def entry(self, kb_id: str | None) -> KbEntry | None:
        return self.entries.get(kb_id) if kb_id else None

    def malware(self, name: str) -> KbEntry | None:
        return self.malware_by_name.get(key(name))

    def country_name(self, code: str) -> str:
        return self.countries.get(code.upper(), code.upper())

    def misp_country(self, code: str) -> GalaxyCluster | None:
        """The cluster of the MISP ``country`` galaxy of an ISO code, or None."""
        return self.country_clusters.get(code.upper())

    def misp_sector(self, value: str) -> GalaxyCluster | None:
        """The cluster of the MISP ``sector`` galaxy with that value, or None."""
        return self.sector_clusters.get(value)


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
