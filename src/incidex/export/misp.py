"""MISP export: one MISP event per incident, built with pymisp's classes.

Per event (see ``docs/exports.md`` for the full table):

* ``info`` = the incident summary, ``date`` = the incident date (first day of
  its period) or else the first source's publication date;
* attributes: ``target-org`` per victim, ``target-location`` per victim
  country, ``threat-actor`` per attacker, ``vulnerability`` per CVE,
  ``malware-type`` per malware, one per IOC (``ip-dst``, ``domain``, ``url``,
  ``email``, ``md5``, ``sha1``, ``sha256``, ``filename``, ``btc``), ``link`` per
  source URL and a ``text`` attribute with the incidex incident id. IOCs are
  exported with ``to_ids`` false: they come from news prose, an analyst
  decides whether they go to detection;
* galaxy clusters (threat actor, ATT&CK intrusion set, ransomware, sector,
  country) from the MISP galaxy files the knowledge base is built from, matched
  by cluster uuid: each is in the event's ``Galaxy`` list (galaxy uuid and
  type, cluster uuid, value and ``tag_name``) and is a tag
  ``misp-galaxy:<type>="<cluster value>"`` — the cluster's own value, which
  is not always the KB's display name ("Sandworm Team" is the cluster
  "Sandworm"). An attacker the KB does not know, or a state, gets no galaxy
  tag (only its ``threat-actor`` attribute): a tag naming no cluster would
  only clutter MISP's tag list. Techniques are tags
  ``misp-galaxy:mitre-attack-pattern="Phishing - T1566"`` (that galaxy is
  not shipped, the value follows MISP's "<name> - <id>" form);
* incidex's own facts as tags of an ``incidex:`` namespace (attack type,
  outcome, attribution status);
* one event report per source article (metadata, role and the evidence
  sentences read from it; the article body only with ``bodies=True``).

Every uuid is a UUIDv5 (event: incident id; attribute: incident id, type,
value; report: incident id, article id) and timestamps are the incident's
``updated_at``, so exporting twice gives identical JSON.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TextIO

from pymisp import MISPEvent, MISPEventReport, MISPOrganisation

from incidex.export.common import (
    MISP_SECTORS, GalaxyCluster, Source, Sources, incident_times, kb, parse_time, stable_uuid, unique,
)
from incidex.records import Incident
from incidex.resolve.actors import canonical_actor
from incidex.store import codec

ORG_NAME = "incidex"
ORG_UUID = stable_uuid("misp", "org", ORG_NAME)

# IOC kind -> MISP attribute type
_IOC_TYPES = {
    "ipv4": "ip-dst", "ipv6": "ip-dst", "domain": "domain", "url": "url", "email": "email", "md5": "md5",
    "sha1": "sha1", "sha256": "sha256", "filename": "filename", "btc": "btc",
}


def _q(value: str) -> str:
    """A tag value in double quotes (MISP machine-tag syntax)."""
    return '"' + value.replace('"', "'") + '"'


#: The galaxies an attacker's KB entry can have clusters in, in tag order.
_ACTOR_GALAXIES = ("threat-actor", "mitre-intrusion-set", "ransomware")


def _actor_clusters(actor: Any, ransomware: bool) -> list[GalaxyCluster]:
    """The galaxy clusters of an attacker's KB entry.

    Besides its own clusters, a group that runs a ransomware family under its
    name (the KB's ``operator`` link: Akira the group, Akira the family) gets
    the family's ransomware cluster when the incident is a ransomware attack.
    An attacker the KB does not know, a state included, has none.
    """
    entry = kb().entry(canonical_actor(actor).kb_id)
    if entry is None:
        return []
    out = [c for c in (entry.cluster(g) for g in _ACTOR_GALAXIES) if c]
    if ransomware and entry.cluster("ransomware") is None:
        out += [c for c in (f.cluster("ransomware") for f in kb().operated.get(entry.id, ())) if c]
    return out


def _incident_clusters(inc: Incident) -> list[GalaxyCluster]:
    """Every galaxy cluster of an incident: attackers, ransomware used, victims' sectors and countries."""
    out: list[GalaxyCluster] = []
    for a in inc.attackers:
        out += _actor_clusters(a, "ransomware" in inc.attack_types)
    for name in inc.malware:
        entry = kb().malware(name)
        if entry and entry.cluster("ransomware"):
            out.append(entry.cluster("ransomware"))
    out += [kb().misp_sector(MISP_SECTORS[v.sector]) for v in inc.victims if v.sector in MISP_SECTORS]
    out += [kb().misp_country(v.country) for v in inc.victims if v.country]
    seen: dict[str, GalaxyCluster] = {}
    for c in out:
        if c is not None:
            seen.setdefault(c.uuid, c)
    return list(seen.values())


def _galaxies(clusters: list[GalaxyCluster]) -> list[dict[str, Any]]:
    """The event's ``Galaxy`` list: one entry per galaxy, holding its clusters (uuid, value, tag)."""
    by_galaxy: dict[str, list[GalaxyCluster]] = {}
    for c in clusters:
        by_galaxy.setdefault(c.galaxy, []).append(c)
    out = []
    for galaxy, members in by_galaxy.items():
        meta = kb().galaxies.get(galaxy) or {"type": galaxy, "name": galaxy}
        # default: a cluster shipped with MISP's galaxies, which MISP stores with distribution 3
        out.append({**meta, "GalaxyCluster": [{"uuid": c.uuid, "type": c.galaxy, "value": c.value, "tag_name": c.tag,
                                               "default": True, "distribution": 3} for c in members]})
    return out


def _event_date(inc: Incident, sources: list[Source], fallback: datetime) -> date:
    if inc.date:
        d_from, _ = codec.date_range(inc.date)
        if d_from:
            return d_from
    published = [t for t in (parse_time(s.published) for s in sources) if t]
    return (min(published) if published else fallback).date()


def _report_content(inc: Incident, source: Source, body: str | None) -> str:
    lines = [f"# {source.title or source.url or source.article_id}", ""]
    for label, value in (("URL", source.url), ("Source", source.source), ("Published", source.published),
                         ("Role", source.role), ("incidex article id", source.article_id),
                         ("incidex incident id", inc.id)):
        if value:
            lines.append(f"- **{label}:** {value}")
    quotes = unique(e.text for e in inc.evidence
                    if e.article_id in (None, source.article_id) and not e.field.endswith(".mention")
                    and e.field != "place" and len(e.text) > 20)
    if quotes:
        lines += ["", "## Evidence", ""] + [f"> {q}\n" for q in quotes]
    if body:
        lines += ["", "## Article", "", body]
    return "\n".join(lines).rstrip() + "\n"


def to_event(inc: Incident, sources: list[Source], updated: datetime, *, bodies: bool = False,
             store: Any = None) -> MISPEvent:
    """The MISP event of one incident."""
    ev = MISPEvent(force_timestamps=True)
    ev.uuid = stable_uuid("misp", "event", inc.id)
    ev.info = inc.summary or f"incidex incident {inc.id}"
    ev.date = _event_date(inc, sources, updated)
    ev.timestamp = updated
    ev.distribution = 0  # this organisation only; the analyst widens it
    ev.threat_level_id = 4  # undefined
    ev.analysis = 2  # completed: the reporting is done
    ev.published = False
    org = MISPOrganisation()
    org.name, org.uuid = ORG_NAME, ORG_UUID
    ev.Orgc = org

    seen: set[tuple[str, str]] = set()

    def attr(type_: str, value: str | None, comment: str, **kw: Any) -> None:
        if not value or (type_, value) in seen:
            return
        seen.add((type_, value))
        ev.add_attribute(type_, value, comment=comment, to_ids=False, timestamp=updated,
                         uuid=stable_uuid("misp", "attribute", inc.id, type_, value), **kw)

    attr("text", inc.id, "incidex incident id", disable_correlation=True)
    for v in inc.victims:
        attr("target-org", v.name, "victim" + (f" ({v.sector})" if v.sector else ""))
    for code in unique((v.country or "").upper() for v in inc.victims):
        if len(code) == 2:
            attr("target-location", kb().country_name(code), f"victim country ({code})")
    for a in inc.attackers:
        extra = ", ".join(x for x in (a.kind, f"state link {a.state_link}" if a.state_link else None,
                                      a.kb_id) if x and x != "unknown")
        attr("threat-actor", canonical_actor(a).name, f"attacker, attribution {inc.attribution.status}" + (f"; {extra}" if extra else ""))
    for cve in unique([c.upper() for c in inc.cves] + [i["value"].upper() for i in inc.iocs if i.get("kind") == "cve"]):
        attr("vulnerability", cve, "exploited vulnerability")
    for m in unique(inc.malware):
        attr("malware-type", m, "malware used")
    for ioc in inc.iocs:
        t = _IOC_TYPES.get(ioc.get("kind", ""))
        if t:
            attr(t, ioc.get("value"), f"indicator ({ioc.get('kind')}) reported in news coverage")
    for s in sources:
        attr("link", s.url, f"source article ({s.role})", disable_correlation=True)

    tags = [f"incidex:attack-type={_q(t)}" for t in inc.attack_types]
    tags += [f"incidex:outcome={_q(inc.outcome)}", f"incidex:attribution={_q(inc.attribution.status)}"]
    clusters = _incident_clusters(inc)
    tags += [c.tag for c in clusters]
    for tid in inc.techniques:
        t = kb().techniques.get(tid)
        tags.append(f"misp-galaxy:mitre-attack-pattern={_q(f'{t.name} - {tid}' if t else tid)}")
    for tag in unique(tags):
        ev.add_tag(tag)
    for galaxy in _galaxies(clusters):
        ev.add_galaxy(galaxy)

    for s in sources:
        body = None
        if bodies and store is not None:
            art = store.get_article(s.article_id)
            body = art.body if art else None
        rep = MISPEventReport(force_timestamps=True)
        rep.from_dict(uuid=stable_uuid("misp", "event-report", inc.id, s.article_id),
                      name=f"Source: {s.title or s.url or s.article_id}"[:255],
                      content=_report_content(inc, s, body), distribution=5)  # 5: inherit the event's
        rep.timestamp = updated
        ev.EventReport.append(rep)
    return ev


def to_events(incidents: Iterable[Incident], store: Any, *, bodies: bool = False) -> list[MISPEvent]:
    incidents = list(incidents)
    sources = Sources(store)
    times = incident_times(store, [i.id for i in incidents])
    return [to_event(i, sources.of(i.id), times[i.id][1], bodies=bodies, store=store) for i in incidents]


def events_json(events: list[MISPEvent]) -> list[dict[str, Any]]:
    """``[{"Event": {...}}, ...]``: each item loads with ``MISPEvent().load(item)``."""
    return [{"Event": json.loads(e.to_json())} for e in events]


def write(incidents: Iterable[Incident], store: Any, out: TextIO, *, bodies: bool = False) -> int:
    """Write a JSON list of ``{"Event": ...}`` objects; returns the number of events."""
    events = to_events(incidents, store, bodies=bodies)
    out.write(json.dumps(events_json(events), ensure_ascii=False, indent=1, sort_keys=False) + "\n")
    return len(events)
