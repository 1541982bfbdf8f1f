"""STIX 2.1 export: one bundle holding every exported incident and what it links to.

Built with the ``stix2`` library (which checks each object as it is made);
``docs/exports.md`` has the mapping table, the attribution representation and
the validator warnings we accept. In short:

* ``incident`` per incident, with the incidex facts STIX has no property for in
  a property-extension (``EXTENSION_ID``, an ``extension-definition`` object in
  the bundle): attack types, outcome, impact, date and precision, attribution
  status and by whom, responses, extraction confidence; and, for OpenCTI, the
  top-level ``first_seen``/``last_seen`` (the period the date covers) and
  ``incident_type`` (declared by the toplevel-property-extension
  ``TOPLEVEL_ID``), labels for attack types, outcome and attribution status,
  and a ``note`` with the outcome and impact;
* ``intrusion-set`` for attackers whose KB id is an ATT&CK group, ``threat-actor``
  for every other named group, persona, individual or state (ATT&CK / MISP
  galaxy external references when the KB knows them); a state link becomes an
  ``attributed-to`` from the actor to an ``identity`` of that state, which is
  ``located-at`` the country;
* ``identity`` (``organization``) per named victim, ``located-at`` its country
  and ``part-of`` its sector's ``identity`` (``class``); an unnamed victim is
  no identity: the incident ``targets`` its sector and its country;
  ``location`` per country, ``attack-pattern`` per technique, ``malware``, ``vulnerability`` per
  CVE, ``indicator`` per IOC;
* ``report`` per source article (url as external reference, its incidents'
  objects as ``object_refs``);
* ``note`` per incident with an attribution: status, who attributed it and
  the confidence, in words and with the evidence sentences.

Ids are UUIDv5 over stable keys and timestamps come from the store, so two
exports of the same store are identical, bundle id included.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

import stix2

from incidex.export.common import (
    EPOCH, STIX_INDUSTRY_SECTORS, STIX_SECTORS, Source, Sources, attack_url, incident_times, kb, key, parse_time,
    stable_uuid, unique,
)
from incidex.prose import impact_sentences
from incidex.records import Incident
from incidex.resolve.actors import canonical_actor
from incidex.store import codec

SPEC = "2.1"
EXTENSION_VERSION = "1.0.0"


def stix_id(stix_type: str, *parts: str) -> str:
    """Deterministic STIX id: ``type--uuid5(type, key parts)``."""
    return f"{stix_type}--{stable_uuid('stix', stix_type, *parts)}"


SYSTEM_ID = stix_id("identity", "system", "incidex")
EXTENSION_ID = stix_id("extension-definition", "incidex-incident", "1")
TOPLEVEL_ID = stix_id("extension-definition", "incidex-incident-toplevel", "1")

#: Incident properties OpenCTI reads from the top level of an ``incident`` (STIX 2.1 defines
#: none of them): declared by the toplevel-property-extension ``TOPLEVEL_ID``.
TOPLEVEL_PROPERTIES = ["first_seen", "last_seen", "incident_type"]

#: incidex attack type -> OpenCTI ``incident_type_ov`` value; the first of the incident's
#: attack types in this order wins (``other`` has none, and no incident_type is written).
INCIDENT_TYPES = {
    "ransomware": "ransomware", "wiper": "information-system-disruption", "ddos": "information-system-disruption",
    "data-breach": "data-leak", "hack-and-leak": "data-leak", "phishing": "phishing",
    "defacement": "reputation-damage", "espionage": "compromise", "supply-chain": "compromise",
    "account-takeover": "compromise", "malware": "compromise",
}

EXTENSION_SCHEMA = (
    "incidex property-extension (see docs/exports.md in the incidex repository). "
    "On incident: incidex_id (string), attack_types (list of incidex attack types), outcome "
    "(successful|attempted|unknown), date (YYYY, YYYY-MM or YYYY-MM-DD), date_precision (day|week|month|year), "
    "date_confidence (0-1), attribution_status (claimed|attributed|suspected|denied|unknown), attribution_by "
    "(list of who claimed or attributed), extraction_confidence (0-1), background (bool), conflicts (list of "
    "fields whose sources disagree), impact (dictionary: "
    "records_affected, people_affected, ransom_usd, services_disrupted, data_destroyed, data_leaked, facts), "
    "responses (list of dictionaries: kind, by, against, date). On report: article_id, source, roles (list of "
    "dictionaries: incident_ref, role primary|background|syndicated).")

# Order of object types in the bundle (then by id): definitions first, then what refers to them.
_TYPE_ORDER = {t: n for n, t in enumerate((
    "identity", "extension-definition", "location", "attack-pattern", "malware", "vulnerability", "intrusion-set",
    "threat-actor", "indicator", "incident", "relationship", "note", "report"))}

_IOC_PATHS = {
    "ipv4": "ipv4-addr:value", "ipv6": "ipv6-addr:value", "domain": "domain-name:value", "url": "url:value",
    "email": "email-addr:value", "md5": "file:hashes.MD5", "sha1": "file:hashes.'SHA-1'",
    "sha256": "file:hashes.'SHA-256'", "filename": "file:name",
}

_CLASSES: dict[str, type] = {
    "identity": stix2.v21.Identity, "extension-definition": stix2.v21.ExtensionDefinition,
    "location": stix2.v21.Location, "attack-pattern": stix2.v21.AttackPattern, "malware": stix2.v21.Malware,
    "vulnerability": stix2.v21.Vulnerability, "intrusion-set": stix2.v21.IntrusionSet,
    "threat-actor": stix2.v21.ThreatActor, "indicator": stix2.v21.Indicator, "incident": stix2.v21.Incident,
    "relationship": stix2.v21.Relationship, "note": stix2.v21.Note, "report": stix2.v21.Report,
}


@dataclass
class _Spec:
    """An object being assembled from one or more incidents."""

    type: str
    props: dict[str, Any]
    created: datetime
    modified: datetime
    touched: datetime  # latest updated_at of the incidents it came from (TAXII date_added)
    merged: dict[str, set[str]] = field(default_factory=dict)  # list properties merged across incidents
    earliest: datetime | None = None  # earliest incident creation (indicator valid_from)


@dataclass
class _ReportSpec:
    source: Source
    refs: set[str] = field(default_factory=set)
    roles: dict[str, str] = field(default_factory=dict)
    modified: datetime = EPOCH


def _pattern_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ts(dt: datetime) -> str:
    """STIX timestamp with microseconds (stix2 keeps the given precision)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seen_range(inc: Incident) -> dict[str, str]:
    """``first_seen``/``last_seen``: the start and end of the period the incident date covers.

    A day covers that day, a month or year the whole month or year (an ISO week
    its Monday to Sunday), so OpenCTI's timeline shows how precisely the date
    is known. An undated incident gets neither: an invented date would be
    worse than none.
    """
    start, end = codec.date_range(inc.date)
    if start is None or end is None:
        return {}
    return {"first_seen": f"{start.isoformat()}T00:00:00Z", "last_seen": f"{end.isoformat()}T23:59:59.999Z"}


def incident_type(inc: Incident) -> str | None:
    """The OpenCTI incident type of the incident's attack types, or None."""
    return next((t for a, t in INCIDENT_TYPES.items() if a in inc.attack_types), None)


def incident_labels(inc: Incident) -> list[str]:
    """Labels OpenCTI shows on the incident: attack types, outcome and attribution status."""
    return [*inc.attack_types, f"outcome-{inc.outcome}", f"attribution-{inc.attribution.status}"]


class StixGraph:
    """Accumulates incidents, then builds the STIX objects (shared ones merged once)."""

    def __init__(self, entity_lookup: Callable[[str], dict[str, Any] | None] | None = None) -> None:
        """``entity_lookup(entity_id)``: the resolved organisation entity of a victim
        (``name``, ``country``, ``aliases``), e.g. ``store.get_entity``; optional."""
        self._specs: dict[str, _Spec] = {}
        self._reports: dict[str, _ReportSpec] = {}
        self._kb = kb()
        self._latest = EPOCH
        self._entity_lookup = entity_lookup
        self._entities: dict[str, dict[str, Any] | None] = {}

    # -- assembling ---------------------------------------------------------------

    def _shared(self, sid: str, stix_type: str, props: dict[str, Any], updated: datetime,
                merge: dict[str, Iterable[str]] | None = None, earliest: datetime | None = None) -> str:
        spec = self._specs.get(sid)
        if spec is None:
            spec = self._specs[sid] = _Spec(stix_type, props, EPOCH, updated, updated)
        else:
            spec.modified = max(spec.modified, updated)
            spec.touched = max(spec.touched, updated)
        for name, values in (merge or {}).items():
            spec.merged.setdefault(name, set()).update(v for v in values if v)
        if earliest is not None:
            spec.earliest = earliest if spec.earliest is None else min(spec.earliest, earliest)
        return sid

    def _own(self, sid: str, stix_type: str, props: dict[str, Any], created: datetime, updated: datetime) -> str:
        self._specs[sid] = _Spec(stix_type, props, created, updated, updated)
        return sid

    def _rel(self, rel_type: str, source: str, target: str, created: datetime, updated: datetime,
             owned: bool = True, **props: Any) -> str:
        rid = stix_id("relationship", rel_type, source, target)
        body = {"relationship_type": rel_type, "source_ref": source, "target_ref": target, **props}
        if owned:
            return self._own(rid, "relationship", body, created, updated)
        return self._shared(rid, "relationship", body, updated)

    def _location(self, code: str, updated: datetime) -> str:
        code = code.upper()
        return self._shared(stix_id("location", "country", code), "location",
                            {"name": self._kb.country_name(code), "country": code}, updated)

    def _state(self, code: str, updated: datetime, refs: set[str]) -> str:
        """The identity of a state an actor is linked to, located at its country."""
        code = code.upper()
        sid = self._shared(stix_id("identity", "state", code), "identity",
                           {"name": f"{self._kb.country_name(code)} (state)", "identity_class": "organization",
                            "sectors": ["government-national"],
                            "description": "The state of this country, as the sponsor or operator of threat actors."},
                           updated)
        loc = self._location(code, updated)
        refs.update((sid, loc, self._rel("located-at", sid, loc, EPOCH, updated, owned=False)))
        return sid

    def _actor(self, actor: Any, updated: datetime, refs: set[str]) -> str:
        actor = canonical_actor(actor)  # one actor, one object: Playcrypt is filed under Play
        entry = self._kb.entry(actor.kb_id)
        kb_id = actor.kb_id or ""
        name = entry.name if entry and entry.type not in ("malware", "ransomware", "tool") else actor.name
        source, _, ext = kb_id.partition(":")
        if source == "attack" and ext.startswith("G"):
            stix_type = "intrusion-set"
        else:
            stix_type = "threat-actor"
        sid = stix_id(stix_type, kb_id or f"name:{key(actor.name)}")
        refs_ext = []
        if source == "attack" and ext:
            ref = {"source_name": "mitre-attack", "external_id": ext, "url": attack_url(ext)}
            if not ext.startswith(("G", "C")):
                ref["description"] = "ATT&CK software of the same name (the group's own malware)"
            refs_ext.append(ref)
        elif source == "misp" and ext:
            galaxies = [s.split(":", 1)[1] for s in (entry.sources if entry else ()) if s.startswith("misp:")]
            refs_ext.append({"source_name": "misp-galaxy", "external_id": ext,
                             "description": "MISP galaxy cluster" + (f" ({', '.join(galaxies)})" if galaxies else "")})
        props: dict[str, Any] = {"name": name}
        if refs_ext:
            props["external_references"] = refs_ext
        if stix_type == "threat-actor":
            types = {"state": ["nation-state"], "individual": ["hacker"]}.get(actor.kind)
            if types:
                props["threat_actor_types"] = types
        aliases = [a for a in (*actor.aliases, actor.name, actor.mention) if a and key(a) != key(name)]
        self._shared(sid, stix_type, props, updated, merge={"aliases": aliases})
        refs.add(sid)
        state = actor.state_link or (entry.state if entry else None)
        if state and len(state) == 2:
            target = self._state(state, updated, refs)
            refs.add(self._rel("attributed-to", sid, target, EPOCH, updated, owned=False,
                               description="State link of this actor (sponsor or operator)."))
        return sid

    def _entity(self, entity_id: str | None) -> dict[str, Any] | None:
        if not entity_id or self._entity_lookup is None:
            return None
        if entity_id not in self._entities:
            try:
                self._entities[entity_id] = self._entity_lookup(entity_id)
            except Exception:  # an optional enrichment: never fail the export over it
                self._entities[entity_id] = None
        return self._entities[entity_id]

    def _sector(self, term: str, updated: datetime, refs: set[str]) -> str:
        """The identity of an industry sector (``identity_class: class``), as OpenCTI's Sector entities are."""
        sid = self._shared(stix_id("identity", "sector", term), "identity", {
            "name": STIX_INDUSTRY_SECTORS[term], "identity_class": "class", "sectors": [term],
            "description": f"Industry sector ({term} in the STIX 2.1 industry-sector vocabulary)."}, updated)
        refs.add(sid)
        return sid

    def _victim(self, victim: Any, updated: datetime, refs: set[str]) -> str:
        """The ``organization`` identity of a named victim, located at its country and part of its sector."""
        entity = self._entity(getattr(victim, "entity_id", None))
        country = ((entity or {}).get("country") or victim.country or "").upper() or None
        if entity:  # the resolved organisation: one identity whatever name an article used
            sid = stix_id("identity", "entity", entity["id"] if "id" in entity else victim.entity_id)
            name = entity.get("name") or victim.name
            props: dict[str, Any] = {"name": name, "identity_class": "organization"}
            others = sorted({a for a in entity.get("aliases") or () if key(a) != key(name)})
            if others:
                props["description"] = "Also reported as: " + "; ".join(others)
        else:
            sid = stix_id("identity", "victim", key(victim.name), country or "")
            props = {"name": victim.name, "identity_class": "organization"}
        term = STIX_SECTORS.get(victim.sector or "")
        self._shared(sid, "identity", props, updated, merge={"sectors": [term] if term else []})
        refs.add(sid)
        if term:  # OpenCTI files an organisation under a sector with part-of
            refs.add(self._rel("part-of", sid, self._sector(term, updated, refs), EPOCH, updated, owned=False))
        if country and len(country) == 2:
            loc = self._location(country, updated)
            refs.update((loc, self._rel("located-at", sid, loc, EPOCH, updated, owned=False)))
        return sid

    def _unnamed_victims(self, inc: Incident, iid: str, created: datetime, updated: datetime,
                         refs: set[str]) -> None:
        """Unnamed victims ("a hospital", "the national police") as targeted sectors, never as identities.

        An identity of class ``class`` stands for a whole sector: one named "the
        national police" would read, in OpenCTI, as a sector of its own. The
        incident ``targets`` the sector identity instead (the relationship's
        description says who, in the articles' words), and the victim's country
        as a location (see ``add``).
        """
        by_sector: dict[str, list[str]] = {}
        for v in inc.victims:
            term = STIX_SECTORS.get(v.sector or "")
            if not v.named and term:
                by_sector.setdefault(term, []).append(v.name)
        for term, names in by_sector.items():
            sector = self._sector(term, updated, refs)
            refs.add(self._rel("targets", iid, sector, created, updated,
                               description="Unnamed victim(s) in this sector: " + "; ".join(unique(names)) + "."))

    def _technique(self, tid: str, updated: datetime) -> str:
        t = self._kb.techniques.get(tid)
        props: dict[str, Any] = {
            "name": t.name if t else tid,
            "external_references": [{"source_name": "mitre-attack", "external_id": tid, "url": attack_url(tid)}],
        }
        if t and t.tactics:
            props["kill_chain_phases"] = [{"kill_chain_name": "mitre-attack", "phase_name": p} for p in t.tactics]
        return self._shared(stix_id("attack-pattern", tid), "attack-pattern", props, updated)

    def _malware(self, name: str, updated: datetime) -> str:
        entry = self._kb.malware(name)
        props: dict[str, Any] = {"name": entry.name if entry else name, "is_family": True}
        if entry and entry.type == "ransomware":
            props["malware_types"] = ["ransomware"]
        if entry:
            source, _, ext = entry.id.partition(":")
            if source == "attack":
                props["external_references"] = [{"source_name": "mitre-attack", "external_id": ext,
                                                 "url": attack_url(ext)}]
            elif source == "misp":
                props["external_references"] = [{"source_name": "misp-galaxy", "external_id": ext,
                                                 "description": "MISP galaxy cluster"}]
        sid = stix_id("malware", entry.id if entry else f"name:{key(name)}")
        aliases = [a for a in (name, *(entry.aliases if entry else ())) if key(a) != key(props["name"])]
        return self._shared(sid, "malware", props, updated, merge={"aliases": aliases})

    def _vulnerability(self, cve: str, updated: datetime) -> str:
        cve = cve.upper()
        return self._shared(stix_id("vulnerability", cve), "vulnerability", {
            "name": cve, "external_references": [{"source_name": "cve", "external_id": cve,
                                                  "url": f"https://www.cve.org/CVERecord?id={cve}"}]}, updated)

    def _indicator(self, kind: str, value: str, created: datetime, updated: datetime) -> str | None:
        path = _IOC_PATHS.get(kind)
        if not path or not value:
            return None
        if kind in ("md5", "sha1", "sha256"):
            value = value.lower()
        return self._shared(stix_id("indicator", kind, value), "indicator", {
            "name": value, "pattern": f"[{path} = {_pattern_literal(value)}]", "pattern_type": "stix",
            "indicator_types": ["malicious-activity"],
            "description": f"{kind} reported as an indicator of compromise in news coverage"}, updated,
            earliest=created)

    def add(self, incident: Incident, created: datetime, updated: datetime, sources: list[Source]) -> str:
        """Add one incident and everything it refers to; returns the incident's STIX id."""
        inc = incident
        iid = stix_id("incident", inc.id)
        self._latest = max(self._latest, updated)
        refs: set[str] = {iid}
        conf = max(0, min(100, round(inc.confidence * 100)))

        ext: dict[str, Any] = {"extension_type": "property-extension", "incidex_id": inc.id,
                               "attack_types": list(inc.attack_types), "outcome": inc.outcome,
                               "attribution_status": inc.attribution.status,
                               "extraction_confidence": round(inc.confidence, 2), "background": inc.background}
        if inc.attribution.by:
            ext["attribution_by"] = list(inc.attribution.by)
        conflicts = list(getattr(inc, "conflicts", None) or ())
        if conflicts:
            ext["conflicts"] = conflicts
        if inc.date:
            ext.update(date=inc.date.value, date_precision=inc.date.precision,
                       date_confidence=round(inc.date.confidence, 2))
        impact = {k: v for k, v in inc.impact.to_dict().items() if v not in (None, [])}
        if impact:
            ext["impact"] = impact
        responses = [{k: v for k, v in {"kind": r.kind, "by": r.by, "against": r.against,
                                        "date": r.date.value if r.date else None}.items() if v}
                     for r in inc.responses]
        if responses:
            ext["responses"] = responses

        ext_refs = [{"source_name": "incidex", "external_id": inc.id}]
        ext_refs += [{"source_name": s.source or "news", "url": s.url} for s in sources if s.url]
        props: dict[str, Any] = {"name": inc.summary or f"Incident {inc.id}", "confidence": conf,
                                 "description": self._description(inc), "labels": incident_labels(inc),
                                 "external_references": ext_refs,
                                 "extensions": {EXTENSION_ID: ext,
                                                TOPLEVEL_ID: {"extension_type": "toplevel-property-extension"}},
                                 **seen_range(inc)}
        if incident_type(inc):
            props["incident_type"] = incident_type(inc)
        self._own(iid, "incident", props, created, updated)
        if inc.outcome != "unknown" or impact_sentences(inc.impact):
            refs.add(self._impact_note(inc, iid, conf, created, updated))

        # attackers and attribution
        status = inc.attribution.status
        attribution = f"Attribution status: {status}" + (f" (by {', '.join(inc.attribution.by)})"
                                                          if inc.attribution.by else "") + "."
        actor_ids, actor_rels = [], []
        for actor in inc.attackers:
            aid = self._actor(actor, updated, refs)
            actor_ids.append(aid)
            actor_rels.append(self._rel("attributed-to", iid, aid, created, updated, confidence=conf,
                                        description=attribution))
        refs.update(actor_rels)
        if inc.attackers or status != "unknown":
            refs.add(self._note(inc, iid, actor_ids, actor_rels, conf, created, updated))

        # victims and places
        countries = []
        for victim in inc.victims:
            if victim.named:
                refs.add(self._rel("targets", iid, self._victim(victim, updated, refs), created, updated))
            countries.append((victim.country or "").upper())
        self._unnamed_victims(inc, iid, created, updated, refs)
        for code in unique(countries):
            if len(code) == 2:
                loc = self._location(code, updated)
                refs.update((loc, self._rel("targets", iid, loc, created, updated)))

        # techniques, malware, vulnerabilities, indicators
        for tid in unique(inc.techniques):
            ap = self._technique(tid, updated)
            refs.update((ap, self._rel("uses", iid, ap, created, updated)))
        for name in unique(inc.malware):
            mw = self._malware(name, updated)
            refs.update((mw, self._rel("uses", iid, mw, created, updated)))
        cves = unique([c.upper() for c in inc.cves] + [i["value"].upper() for i in inc.iocs if i.get("kind") == "cve"])
        for cve in cves:
            vu = self._vulnerability(cve, updated)
            refs.update((vu, self._rel("targets", iid, vu, created, updated)))
        for ioc in inc.iocs:
            ind = self._indicator(ioc.get("kind", ""), ioc.get("value", ""), created, updated)
            if ind:
                refs.update((ind, self._rel("indicates", ind, iid, created, updated)))

        for s in sources:
            rep = self._reports.setdefault(s.article_id, _ReportSpec(s))
            rep.refs |= refs
            rep.roles[iid] = s.role
            rep.modified = max(rep.modified, updated)
        return iid

    @staticmethod
    def _description(inc: Incident) -> str:
        """Summary, then the facts a reader of the incident alone needs: outcome, attribution, unnamed victims, impact."""
        a = inc.attribution
        lines = [inc.summary or f"Incident {inc.id}", "", f"Outcome: {inc.outcome}.",
                 f"Attribution: {a.status}" + (f" (by {', '.join(a.by)})" if a.by else "") + "."]
        unnamed = unique(v.name for v in inc.victims if not v.named)
        if unnamed:
            lines.append("Unnamed victims: " + "; ".join(unnamed) + ".")
        if impact_sentences(inc.impact):
            lines += ["", "Impact:"] + [f"- {x}" for x in impact_sentences(inc.impact)]
        return "\n".join(lines)

    def _impact_note(self, inc: Incident, iid: str, conf: int, created: datetime, updated: datetime) -> str:
        """A ``note`` on the incident with its outcome and impact, which OpenCTI shows on the incident's page."""
        facts = impact_sentences(inc.impact)
        abstract = f"Outcome: {inc.outcome}" + (f"; {facts[0]}" if facts else "")
        content = "\n".join([f"Outcome: {inc.outcome}.", *(["Impact:"] + [f"- {f}" for f in facts] if facts else [])])
        return self._own(stix_id("note", "impact", inc.id), "note", {
            "abstract": abstract, "content": content, "object_refs": [iid], "confidence": conf,
            "labels": [f"outcome-{inc.outcome}"]}, created, updated)

    def _note(self, inc: Incident, iid: str, actor_ids: list[str], actor_rels: list[str], conf: int,
              created: datetime, updated: datetime) -> str:
        a = inc.attribution
        names = ", ".join(x.name for x in inc.attackers) or "no named attacker"
        lines = [f"Attribution status: {a.status}.",
                 f"Attackers named: {names}.",
                 f"Attribution by: {', '.join(a.by) if a.by else 'not stated'}.",
                 f"Extraction confidence: {inc.confidence:.2f}."]
        quotes = unique(e.text for e in inc.evidence if e.field == "attribution" or e.field.startswith("attackers["))
        quotes = [q for q in quotes if len(q) > 20][:5]
        if quotes:
            lines.append("Evidence:")
            lines += [f"> {q}" for q in quotes]
        props: dict[str, Any] = {"abstract": f"Attribution: {a.status}", "content": "\n".join(lines),
                                 "object_refs": [iid, *actor_ids, *actor_rels], "confidence": conf,
                                 "labels": [f"attribution-{a.status}"]}
        if a.by:
            props["authors"] = list(a.by)
        return self._own(stix_id("note", "attribution", inc.id), "note", props, created, updated)

    # -- output -------------------------------------------------------------------

    def _report_specs(self) -> None:
        for article_id, rep in self._reports.items():
            s = rep.source
            published = parse_time(s.published) or parse_time(s.ingested_at) or EPOCH
            created = parse_time(s.ingested_at) or published
            ext_ref: dict[str, Any] = {"source_name": s.source or "news", "external_id": article_id}
            if s.url:
                ext_ref["url"] = s.url
            props: dict[str, Any] = {
                "name": s.title or s.url or f"Article {article_id}", "published": published,
                "report_types": ["threat-report"], "object_refs": sorted(rep.refs),
                "external_references": [ext_ref],
                "description": f"News article ({s.source or 'unknown source'}) that incidex read "
                               f"{len(rep.roles)} incident(s) from.",
                "extensions": {EXTENSION_ID: {
                    "extension_type": "property-extension", "article_id": article_id,
                    **({"source": s.source} if s.source else {}),
                    "roles": [{"incident_ref": i, "role": r} for i, r in sorted(rep.roles.items())]}},
            }
            if s.language:
                props["lang"] = s.language
            self._specs[stix_id("report", article_id)] = _Spec(
                "report", props, created, max(created, rep.modified), rep.modified)

    def _build(self, sid: str, spec: _Spec) -> Any:
        props = dict(spec.props)
        for name, values in spec.merged.items():
            if values:
                props[name] = sorted(values)
        if spec.type == "indicator":
            props["valid_from"] = spec.earliest or spec.created
        created = min(spec.created, spec.modified)
        return _CLASSES[spec.type](id=sid, created=_ts(created), modified=_ts(spec.modified),
                                   created_by_ref=SYSTEM_ID, **props)

    def objects(self) -> list[tuple[Any, datetime]]:
        """``(stix object, date_added)`` pairs, in bundle order; date_added is the
        latest change of the incidents the object comes from."""
        if not self._specs:
            return []
        self._report_specs()
        out = [(self._system(), self._latest), (self._extension(), self._latest),
               (self._toplevel_extension(), self._latest)]
        for sid, spec in self._specs.items():
            out.append((self._build(sid, spec), spec.touched))
        out.sort(key=lambda p: (_TYPE_ORDER.get(p[0]["type"], 99), p[0]["id"]))
        return out

    @staticmethod
    def _system() -> Any:
        return stix2.v21.Identity(id=SYSTEM_ID, created=_ts(EPOCH), modified=_ts(EPOCH), name="incidex",
                                  identity_class="system",
                                  description="incidex: cyber-incident records extracted from news articles.")

    @staticmethod
    def _toplevel_extension() -> Any:
        return stix2.v21.ExtensionDefinition(
            id=TOPLEVEL_ID, created=_ts(EPOCH), modified=_ts(EPOCH), created_by_ref=SYSTEM_ID,
            name="incidex incident period and type", version=EXTENSION_VERSION,
            extension_types=["toplevel-property-extension"], extension_properties=TOPLEVEL_PROPERTIES,
            description="Incident properties OpenCTI reads from the top level of an incident: first_seen and "
                        "last_seen (start and end of the period the incident date covers) and incident_type.",
            schema="first_seen, last_seen: STIX timestamps; incident_type: a value of OpenCTI's incident_type_ov "
                   "(see docs/exports.md in the incidex repository).")

    @staticmethod
    def _extension() -> Any:
        return stix2.v21.ExtensionDefinition(
            id=EXTENSION_ID, created=_ts(EPOCH), modified=_ts(EPOCH), created_by_ref=SYSTEM_ID,
            name="incidex incident facts", version=EXTENSION_VERSION, extension_types=["property-extension"],
            description="Facts incidex extracts that STIX 2.1 has no property for: attack types, outcome, "
                        "impact, incident date and its precision, attribution status and by whom, state responses.",
            schema=EXTENSION_SCHEMA)


def build_graph(incidents: Iterable[Incident], store: Any, sources: Sources | None = None) -> StixGraph:
    incidents = list(incidents)
    sources = sources or Sources(store)
    times = incident_times(store, [i.id for i in incidents])
    graph = StixGraph(getattr(store, "get_entity", None))
    for inc in incidents:
        created, updated = times[inc.id]
        graph.add(inc, created, updated, sources.of(inc.id))
    return graph


def bundle_id(objects: Iterable[Any]) -> str:
    """Deterministic bundle id: a digest of the (id, modified) pairs it holds."""
    h = hashlib.sha256()
    for o in objects:
        h.update(f"{o['id']}|{o.get('modified', '')}\n".encode())
    return stix_id("bundle", h.hexdigest())


def to_bundle(incidents: Iterable[Incident], store: Any) -> stix2.v21.Bundle:
    """A STIX 2.1 bundle of the incidents (an empty bundle for none)."""
    objs = [o for o, _ in build_graph(incidents, store).objects()]
    return stix2.v21.Bundle(*objs, id=bundle_id(objs), allow_custom=False) if objs else \
        stix2.v21.Bundle(id=bundle_id([]))


def serialize(bundle: stix2.v21.Bundle) -> str:
    """Indented bundle JSON, properties in stix2's order.

    (Not ``serialize(pretty=True)``: its key sorting is quadratic in the size of
    an object, minutes for a report that refers to a few thousand objects.)
    """
    return json.dumps(json.loads(bundle.serialize(ensure_ascii=False)), ensure_ascii=False, indent=1) + "\n"


def write(incidents: Iterable[Incident], store: Any, out: TextIO) -> int:
    """Write the bundle JSON to ``out``; returns the number of STIX objects."""
    bundle = to_bundle(incidents, store)
    out.write(serialize(bundle))
    return len(bundle.get("objects", []))


def as_dict(obj: Any) -> dict[str, Any]:
    """A stix2 object as plain JSON-ready data."""
    return json.loads(obj.serialize())
