#!/usr/bin/env python3
"""Build incidex's compact knowledge base: ``src/incidex/data/kb.json.gz``.

Reads the MISP galaxy clusters and the reduced MITRE ATT&CK export under
``--src`` (default ``../shared/data/kb`` relative to the repository root) and the
hand-written lexicons under ``src/incidex/extraction/lexicons/``, and writes:

* ``src/incidex/data/kb.json.gz``  -- actors (intrusion sets, campaigns, MISP threat
  actors, Microsoft activity groups) merged across sources, malware / tools /
  ransomware, ATT&CK techniques, countries and sectors;
* ``src/incidex/data/KB_HYGIENE.tsv`` -- which actor and malware names were dropped or
  made context-only, and why (the hygiene step, ``scripts/kb_hygiene.py``);
* ``src/incidex/data/KB_SOURCES.md`` -- where every part comes from, its
  version and its license (the ATT&CK terms require reproducing the copyright
  and license text, which this file does).

The output is deterministic (sorted, gzip mtime 0) so that rebuilding from the
same inputs gives the same bytes. Run: ``python scripts/build_kb.py``.
"""
from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import importlib.util
import io
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pycountry
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kb_hygiene  # noqa: E402  (scripts/kb_hygiene.py, beside this script)

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "src" / "incidex"
LEXICONS = PKG / "extraction" / "lexicons"
OUT_DIR = PKG / "data"
FORMAT = 1


def _load_kb_module():
    """Import ``incidex/extraction/kb.py`` by path (no package ``__init__`` side effects)."""
    spec = importlib.util.spec_from_file_location("_incidex_kb_for_build", PKG / "extraction" / "kb.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


_kb = _load_kb_module()
norm_key = _kb.norm_key
clean_surface = _kb.clean_surface

# ----------------------------------------------------------------- helpers

_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_CITATION = re.compile(r"\(Citation:[^)]*\)")
_HTML = re.compile(r"<[^>]+>")
_ODD_CAPS = re.compile(r"[a-z][A-Z]")
_GID = re.compile(r"^G\d{4}$")
_CID = re.compile(r"^C\d{4}$")


def plain(desc: str | None) -> str:
    """Description text without markdown links, citations or HTML."""
    if not desc:
        return ""
    s = _MD_LINK.sub(r"\1", desc)
    s = _CITATION.sub("", s)
    s = _HTML.sub("", s)
    s = re.sub(r"\[\[[^\]]*\]\]", "", s)
    return re.sub(r"\s+", " ", s).strip()


def day(ts: str | None) -> str | None:
    if not ts:
        return None
    m = re.match(r"(\d{4}-\d{2}-\d{2})", ts)
    return m.group(1) if m else None


def read_yaml(name: str):
    with open(LEXICONS / name, encoding="utf-8") as f:
        return yaml.safe_load(f)


def read_json(path: Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ----------------------------------------------------------------- countries

@dataclass
class Countries:
    """Country index used by the build (state links) and written to the KB."""

    display: dict[str, str] = field(default_factory=dict)
    names: dict[str, set[str]] = field(default_factory=lambda: collections.defaultdict(set))
    case_sensitive: dict[str, str] = field(default_factory=dict)
    demonyms: dict[str, str] = field(default_factory=dict)
    cities: dict[str, str] = field(default_factory=dict)
    ambiguous: set[str] = field(default_factory=set)
    key_to_iso: dict[str, str] = field(default_factory=dict)

    def lookup(self, name: str | None) -> str | None:
        if not name:
            return None
        name = name.strip()
        if name in self.case_sensitive:
            return self.case_sensitive[name]
        k = norm_key(name)
        if k in self.key_to_iso:
            return self.key_to_iso[k]
        m = re.match(r"^(.*?)\s*\((.*)\)\s*$", name)  # "Iran (Islamic Republic of)"
        if m:
            return self.lookup(f"{m.group(2)} {m.group(1)}") or self.lookup(m.group(1))
        return None


def _inverted(name: str) -> list[str]:
    out = [name]
    if ", " in name:
        a, b = name.split(", ", 1)
        out.append(f"{b} {a}")
    m = re.match(r"^(.*?)\s*\((.*)\)\s*$", name)
    if m:
        out += [m.group(1), f"{m.group(2)} {m.group(1)}"]
    return out


def build_countries(misp_country: dict) -> Countries:
    c = Countries()
    extra = read_yaml("country_names.yaml")
    misp = {v["meta"]["ISO"]: v for v in misp_country["values"] if v["meta"].get("ISO") not in ("CS", "AN")}
    isos = {x.alpha_2 for x in pycountry.countries} | set(misp)
    overrides = extra.get("display", {}) or {}
    for iso in sorted(isos):
        pc = pycountry.countries.get(alpha_2=iso)
        mv = misp.get(iso)
        disp = overrides.get(iso) or (getattr(pc, "common_name", None) if pc else None) or \
            (mv["description"].strip() if mv else None) or (pc.name if pc else iso)
        c.display[iso] = disp
        cands = [disp]
        if pc:
            for attr in ("name", "common_name", "official_name"):
                v = getattr(pc, attr, None)
                if v:
                    cands += _inverted(v.removeprefix("the "))
        if mv:
            cands += _inverted(mv["description"].strip())
        for n in cands:
            n = n.strip()
            if n and len(norm_key(n)) >= 3:
                c.names[iso].add(n)
    for n, iso in sorted((extra.get("names") or {}).items()):
        c.names[str(iso)].add(n)
    c.case_sensitive = {str(k): str(v) for k, v in (extra.get("case_sensitive") or {}).items()}
    c.ambiguous = {norm_key(a) for a in (extra.get("ambiguous") or [])}
    dem = read_yaml("demonyms.yaml") or {}
    for d, iso in sorted(dem.items()):
        c.demonyms[d] = str(iso)
        if d.endswith(("an", "i")):
            plural = d + "s"
            if plural not in dem:
                c.demonyms[plural] = str(iso)
    cities = read_yaml("cities.yaml")
    amb_cities = {norm_key(x) for x in cities.get("ambiguous") or []}
    country_keys = {norm_key(n) for ns in c.names.values() for n in ns}
    for iso, mv in sorted(misp.items()):
        cap = (mv["meta"].get("Capital") or "").strip()
        if cap and norm_key(cap) not in amb_cities and norm_key(cap) not in country_keys and len(norm_key(cap)) >= 3:
            c.cities[cap] = iso
    for city, iso in sorted((cities.get("cities") or {}).items()):
        c.cities[city] = str(iso)
    # name index: names beat demonyms beat cities
    for table in (c.cities, c.demonyms):
        for s, iso in table.items():
            c.key_to_iso[norm_key(s)] = iso
    for iso, ns in c.names.items():
        for n in ns:
            c.key_to_iso[norm_key(n)] = iso
    return c


# ----------------------------------------------------------------- state inference

_AGENCIES = [
    (r"\b(?:GRU|SVR|FSB|GTsSS|Main Intelligence Directorate|Foreign Intelligence Service of the Russian Federation)\b", "RU"),
    (r"\b(?:Ministry of State Security|People's Liberation Army|PLA Unit)\b", "CN"),
    (r"\b(?:IRGC|Islamic Revolutionary Guard Corps|MOIS|Ministry of Intelligence and Security)\b", "IR"),
    (r"\b(?:Reconnaissance General Bureau)\b", "KP"),
]
# "<Chinese|China>-<strong cue>": the cue alone says who is behind the actor
_STRONG = (r"(?:state[- ]sponsored|state[- ]backed|state[- ]linked|state[- ]aligned|state[- ]affiliated|"
           r"state[- ]directed|government[- ]sponsored|government[- ]backed|government[- ]linked|nation[- ]state|"
           r"nexus|linked|aligned|affiliated|backed|sponsored|state(?![- ](?:owned|run|media)))")
# "<Chinese> <up to three words> <actor noun>": a weaker cue needs an actor noun after it
_ACTOR_NOUN = (r"(?:group|groups|actor|actors|APT|hackers?|hacktivists?|operators?|adversary|adversaries|"
               r"threat|espionage|cyberespionage|team|unit|crew|gang|collective|intelligence)")
_FUNCTION = r"(?:for|in|of|and|or|the|to|by|from|with|on|at|as|that|which|who)"
_BLOCK_BEFORE = re.compile(r"(?:target\w*|against|attack\w*|victim\w*|spy\w* on|focus\w* on|compromis\w*|"
                           r"impersonat\w*|posing as|masquerad\w*|entities in|organizations in|users in|"
                           r"interest to|interest in|critical of|including|such as|breach\w*|intrusions? (?:at|into|in)|"
                           r"contribut\w* to|records from|data from|(?:victims|targets) (?:were|are|in))"
                           r"\W+(?:\w+\W+){0,3}$", re.IGNORECASE)


class StateInference:
    """Infer a state link (ISO2) from an ATT&CK/MISP description.

    Only attribution wording counts: "a North Korean state-sponsored group",
    "a suspected China-based threat group", "operating out of Iran",
    "attributed to Russia's General Staff ... (GRU)", "Iran's Ministry of
    Intelligence and Security"; a country named right after a targeting verb
    ("targeting Japanese companies") does not.
    """

    def __init__(self, countries: Countries):
        adj = sorted({d for d in countries.demonyms if not d.endswith("s") or d == "Swiss"}, key=len, reverse=True)
        main = ["Russia", "Russian Federation", "China", "People's Republic of China", "PRC", "Iran", "North Korea",
                "DPRK", "South Korea", "Pakistan", "India", "Vietnam", "Belarus", "Turkey", "Türkiye", "Lebanon",
                "Israel", "United States", "US", "U.S.", "Ukraine", "Syria", "Palestine", "Gaza", "Kazakhstan",
                "United Arab Emirates", "UAE", "Nigeria", "Brazil", "Indonesia", "Spain", "Italy", "France",
                "Germany", "United Kingdom", "UK", "Taiwan", "Japan", "Egypt", "Morocco", "Algeria", "Tunisia",
                "Libya", "Iraq", "Saudi Arabia", "Qatar", "Romania", "Malaysia", "Thailand", "Philippines",
                "Bangladesh", "Afghanistan", "Uzbekistan", "Azerbaijan", "Armenia", "Georgia", "Moldova"]
        self.iso = {}
        for a in adj:
            self.iso[a] = countries.demonyms[a]
        for n in main:
            self.iso[n] = countries.lookup(n)
        A = "|".join(re.escape(a) for a in adj)
        N = "|".join(re.escape(n) for n in sorted(main, key=len, reverse=True))
        self.patterns = [
            re.compile(rf"(?<![\w-])(?P<c>{A}|{N})(?![- ]speaking)[- ](?:{_STRONG}\b|(?:(?!{_FUNCTION}\b)[\w-]+ ){{0,3}}?{_ACTOR_NOUN}\b)"),
            re.compile(rf"(?:suspected to be|believed to be|likely|probably|possibly|reportedly|is|are|be)\s+(?:a\s+|an\s+)?"
                       rf"(?P<c>{N})-based\b"),
            re.compile(rf"(?:attributed to|on behalf of|operat\w* out of|operat\w* from|"
                       rf"(?:be|is|are|likely|probably|possibly|reportedly|suspected to be|believed to be) based (?:in|out of)|"
                       rf"linked to|tied to|sponsored by|working for|nexus to|"
                       rf"hackers from|group from|actors? from)\s+(?:the\s+)?(?:government of\s+(?:the\s+)?)?"
                       rf"(?P<c>{N})(?![\w-])"),
            re.compile(rf"(?<![\w-])(?P<c>{N})(?:'s|’s)\s+(?:[\w-]+\s+){{0,6}}?(?:Intelligence|intelligence|General Staff|"
                       rf"Security Service|Federal Security|Revolutionary Guard|People's Liberation|GRU|SVR|FSB|MOIS|IRGC|"
                       rf"Reconnaissance General Bureau|Ministry of State Security)"),
        ]
        self.agencies = [(re.compile(p), iso) for p, iso in _AGENCIES]

    def infer(self, desc: str) -> str | None:
        text = plain(desc)
        best: tuple[int, str] | None = None
        for pat in self.patterns:
            for m in pat.finditer(text):
                if _BLOCK_BEFORE.search(text[max(0, m.start() - 60):m.start()]):
                    continue
                iso = self.iso.get(m.group("c"))
                if iso and (best is None or m.start() < best[0]):
                    best = (m.start(), iso)
                break
        for pat, iso in self.agencies:
            m = pat.search(text)
            if m and (best is None or m.start() < best[0]):
                if not _BLOCK_BEFORE.search(text[max(0, m.start() - 60):m.start()]):
                    best = (m.start(), iso)
        return best[1] if best else None


# ----------------------------------------------------------------- actors

ETYPE_RANK = {"intrusion-set": 0, "campaign": 1, "threat-actor": 2, "activity-group": 3}


@dataclass
class Entry:
    kb_id: str
    etype: str
    names: list[tuple[str, int]] = field(default_factory=list)  # (surface, weight)
    votes: list[tuple[str, int, str]] = field(default_factory=list)  # (iso2, weight, why)
    descs: list[str] = field(default_factory=list)
    related: set[str] = field(default_factory=set)
    attributed_to: str | None = None
    attributed_names: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    sources: set[str] = field(default_factory=set)
    deprecated: bool = False
    primary: str = ""
    state_link: str | None = None
    state_why: str | None = None
    clusters: list[tuple] = field(default_factory=list)  # MISP clusters merged in (see ``misp_cluster``)

    def add(self, surface: str | None, weight: int) -> None:
        s = clean_surface(surface or "")
        if s and norm_key(s):
            self.names.append((s, weight))

    def keys(self) -> set[str]:
        return {norm_key(s) for s, _ in self.names}


class Actors:
    def __init__(self, countries: Countries, infer: StateInference):
        self.entries: dict[str, Entry] = {}
        self.countries = countries
        self.infer = infer
        self.uuid_to_id: dict[str, str] = {}
        self.gid_map: dict[str, str] = {}
        self.pending_related: list[tuple[str, str]] = []  # (kb_id, other uuid)
        self.stats = collections.Counter()

    def new(self, kb_id: str, etype: str) -> Entry:
        e = self.entries.get(kb_id)
        if e is None:
            e = self.entries[kb_id] = Entry(kb_id, etype)
        return e

    def index(self, min_weight: int = 0, etypes: tuple[str, ...] | None = None) -> dict[str, set[str]]:
        idx: dict[str, set[str]] = collections.defaultdict(set)
        for e in self.entries.values():
            if etypes and e.etype not in etypes:
                continue
            for s, w in e.names:
                if w >= min_weight:
                    idx[norm_key(s)].add(e.kb_id)
        return idx


def build_actors(attack: dict, misp: dict[str, dict], countries: Countries, infer: StateInference) -> Actors:
    A = Actors(countries, infer)
    objs = attack["objects"]
    by_stix = {o["id"]: o for o in objs}
    mitre_gal = misp["mitre-intrusion-set"]["values"]
    mitre_by_gid = {v["meta"]["external_id"]: v for v in mitre_gal}
    mitre_uuid = {v["uuid"]: v["meta"]["external_id"] for v in mitre_gal}

    # --- ATT&CK intrusion sets
    groups = sorted((o for o in objs if o["type"] == "intrusion-set"), key=lambda o: o["external_id"])
    campaigns = sorted((o for o in objs if o["type"] == "campaign"), key=lambda o: o["external_id"])
    campaign_keys = {norm_key(o["name"]): o["external_id"] for o in campaigns}
    revoked = []
    for o in groups:
        gid = o["external_id"]
        if o.get("revoked"):
            revoked.append(o)
            continue
        if o.get("deprecated") and norm_key(o["name"]) in campaign_keys:
            A.gid_map[gid] = "attack:" + campaign_keys[norm_key(o["name"])]
            A.new("attack:" + campaign_keys[norm_key(o["name"])], "campaign").add(o["name"], 60)
            continue
        e = A.new("attack:" + gid, "intrusion-set")
        e.deprecated = bool(o.get("deprecated"))
        e.add(o["name"], 95 if e.deprecated else 100)
        for a in o.get("aliases") or []:
            e.add(a, 60)
        e.descs.append(o.get("description") or "")
        e.sources.add("attack")
        A.uuid_to_id[o["id"].split("--", 1)[1]] = e.kb_id
        A.gid_map[gid] = e.kb_id
    # MISP galaxy copy of ATT&CK groups: newer groups and extra synonyms
    for v in sorted(mitre_gal, key=lambda v: v["meta"]["external_id"]):
        gid = v["meta"]["external_id"]
        name = re.sub(r"\s+-\s+G\d{4}$", "", v["value"])
        if v.get("revoked"):
            continue
        kb_id = A.gid_map.get(gid)
        if kb_id is None:
            if gid in {o["external_id"] for o in revoked}:
                continue
            e = A.new("attack:" + gid, "intrusion-set")
            e.add(name, 100)
            e.descs.append(v.get("description") or "")
            A.gid_map[gid] = e.kb_id
        e = A.entries[A.gid_map[gid]]
        for s in v["meta"].get("synonyms") or []:
            e.add(s, 60)
        e.sources.add("misp:mitre-intrusion-set")
        e.clusters.append(misp_cluster("mitre-intrusion-set", v))
        A.uuid_to_id[v["uuid"]] = e.kb_id
    # revoked groups -> the group that revoked them (MISP 'revoked-by' relation, else by name)
    for o in revoked:
        gid = o["external_id"]
        target = None
        mv = mitre_by_gid.get(gid)
        if mv:
            for r in mv.get("related") or []:
                if r.get("type") == "revoked-by" and r["dest-uuid"] in mitre_uuid:
                    target = A.gid_map.get(mitre_uuid[r["dest-uuid"]])
        if target is None:
            cands = A.index(60, ("intrusion-set",)).get(norm_key(o["name"]), set())
            target = sorted(cands)[0] if len(cands) == 1 else None
        if target:
            A.gid_map[gid] = target
            A.entries[target].add(o["name"], 60)
            for a in o.get("aliases") or []:
                A.entries[target].add(a, 60)
            A.uuid_to_id[o["id"].split("--", 1)[1]] = target
    # --- ATT&CK campaigns
    for o in campaigns:
        if o.get("revoked"):
            continue
        e = A.new("attack:" + o["external_id"], "campaign")
        e.add(o["name"], 100)
        for a in o.get("aliases") or []:
            e.add(a, 60)
        e.first_seen, e.last_seen = day(o.get("first_seen")), day(o.get("last_seen"))
        e.descs.append(o.get("description") or "")
        e.deprecated = bool(o.get("deprecated"))
        e.sources.add("attack")
        A.uuid_to_id[o["id"].split("--", 1)[1]] = e.kb_id
    for r in attack.get("relationships") or []:
        if r["type"] != "attributed-to":
            continue
        src, dst = by_stix.get(r["source"]), by_stix.get(r["target"])
        if not src or not dst or src["type"] != "campaign":
            continue
        cid, gid = "attack:" + src["external_id"], A.gid_map.get(dst["external_id"])
        if cid in A.entries and gid:
            A.entries[cid].attributed_to = A.entries[cid].attributed_to or gid
    for e in A.entries.values():  # fall back on the first group link of an ATT&CK campaign description
        if e.etype == "campaign" and not e.attributed_to:
            for d in e.descs:
                m = re.search(r"attack\.mitre\.org/groups/(G\d{4})", d)
                if m and m.group(1) in A.gid_map:
                    e.attributed_to = A.gid_map[m.group(1)]
                    break
    # --- Tidal campaigns (MISP galaxy)
    for v in sorted(misp["tidal-campaigns"]["values"], key=lambda v: (v["meta"]["campaign_attack_id"], v["uuid"])):
        name = v["value"]
        if "(deprecated)" in name.lower():
            continue
        cid = v["meta"]["campaign_attack_id"]
        if _CID.match(cid) and ("attack:" + cid) in A.entries:
            e = A.entries["attack:" + cid]
            e.add(name, 60)
        else:
            e = A.new("misp:" + v["uuid"], "campaign")
            e.add(name, 90)
            e.first_seen, e.last_seen = day(v["meta"].get("first_seen")), day(v["meta"].get("last_seen"))
            e.descs.append(v.get("description") or "")
            e.attributed_names = re.findall(r"\[([^\]]+)\]\(https://app\.tidalcyber\.com/groups/", v.get("description") or "")
        e.sources.add("misp:tidal-campaigns")
        A.uuid_to_id[v["uuid"]] = e.kb_id

    attack_primary = A.index(95, ("intrusion-set", "campaign"))
    attack_alias = A.index(60, ("intrusion-set", "campaign"))

    # --- MISP threat actors
    ta_values = sorted(misp["threat-actor"]["values"], key=lambda v: v["uuid"])
    for v in ta_values:
        meta = v.get("meta") or {}
        value = v["value"]
        kv = norm_key(value)
        syn = list(meta.get("synonyms") or [])
        nattr = [x.rsplit(":", 1)[0] if re.search(r":[0-9a-f-]{36}$", x) else x for x in meta.get("name-attribution") or []]
        gids = {A.gid_map[g] for g in nattr if _GID.match(g) and g in A.gid_map}
        names = [n for n in syn + nattr if not _GID.match(n)]
        rel_ids = {A.gid_map.get(mitre_uuid[r["dest-uuid"]]) for r in v.get("related") or []
                   if r["dest-uuid"] in mitre_uuid and r.get("type") in ("similar", "overlaps", "same-as")}
        rel_ids.discard(None)
        target, how = None, None
        prim = attack_primary.get(kv, set())
        if prim:
            target, how = sorted(prim, key=lambda k: (ETYPE_RANK[A.entries[k].etype], k))[0], "name"
        else:
            cands = gids | rel_ids
            if len(cands) == 1:
                target, how = next(iter(cands)), "id"
            elif len(cands) > 1:
                named = [c for c in cands if kv in A.entries[c].keys()]
                if len(named) == 1:
                    target, how = named[0], "id+name"
                else:
                    mine = {norm_key(n) for n in names} | {kv}
                    scored = sorted(((len(mine & A.entries[c].keys()), c) for c in cands), reverse=True)
                    if scored[0][0] > 0 and (len(scored) == 1 or scored[0][0] > scored[1][0]):
                        target, how = scored[0][1], "id+overlap"
            if target is None and not cands:
                al = attack_alias.get(kv, set())
                if len(al) == 1:
                    target, how = next(iter(al)), "alias"
        A.stats[f"threat-actor:{how or 'standalone'}"] += 1
        if target is None:
            e = A.new("misp:" + v["uuid"], "threat-actor")
            e.add(value, 90)
            for c in sorted(gids | rel_ids):
                e.related.add(c)
        else:
            e = A.entries[target]
            e.add(value, 55)
        for n in names:
            e.add(n, 40)
        sponsor = meta.get("cfr-suspected-state-sponsor")
        if isinstance(sponsor, str):
            iso = countries.lookup(sponsor)
            if iso:
                e.votes.append((iso, 3, "cfr-suspected-state-sponsor"))
        ctry = meta.get("country")
        if isinstance(ctry, str) and re.fullmatch(r"[A-Z]{2}", ctry):
            e.votes.append((ctry, 2, "misp-country"))
        if target is None:
            e.descs.append(v.get("description") or "")
        e.sources.add("misp:threat-actor")
        e.clusters.append(misp_cluster("threat-actor", v))
        A.uuid_to_id[v["uuid"]] = e.kb_id
        for r in v.get("related") or []:
            if r.get("type") in ("similar", "overlaps", "linked-to", "part-of", "same-as"):
                A.pending_related.append((e.kb_id, r["dest-uuid"]))

    # --- Microsoft activity groups
    all_idx = A.index(40)
    for v in sorted(misp["microsoft-activity-group"]["values"], key=lambda v: v["uuid"]):
        meta = v.get("meta") or {}
        value = v["value"]
        syn = list(meta.get("synonyms") or [])
        explicit = {A.uuid_to_id.get(r["dest-uuid"]) for r in v.get("related") or [] if r.get("type") in ("similar", "same-as")}
        explicit.discard(None)
        by_name = set()
        for n in [value] + syn:
            by_name |= all_idx.get(norm_key(n), set())
        target, how = None, None
        own = all_idx.get(norm_key(value), set())
        if len(own) == 1:
            target, how = next(iter(own)), "name"
        elif len(explicit) == 1:
            target, how = next(iter(explicit)), "related"
        elif len(by_name) == 1:
            target, how = next(iter(by_name)), "synonym"
        elif len(explicit | by_name) > 1:
            mine = {norm_key(n) for n in [value] + syn}
            scored = sorted(((len(mine & A.entries[c].keys()), ETYPE_RANK[A.entries[c].etype], c) for c in explicit | by_name),
                            key=lambda t: (-t[0], t[1], t[2]))
            if scored[0][0] > 0 and (len(scored) == 1 or scored[0][0] > scored[1][0]):
                target, how = scored[0][2], "overlap"
        A.stats[f"activity-group:{how or 'standalone'}"] += 1
        if target is None:
            e = A.new("misp:" + v["uuid"], "activity-group")
            e.add(value, 90)
            e.descs.append(v.get("description") or "")
        else:
            e = A.entries[target]
            e.add(value, 55)
        for n in syn:
            e.add(n, 40)
        ctry = meta.get("country")
        if isinstance(ctry, str) and re.fullmatch(r"[A-Z]{2}", ctry):
            e.votes.append((ctry, 1, "microsoft-origin"))
        e.sources.add("misp:microsoft-activity-group")
        A.uuid_to_id[v["uuid"]] = e.kb_id
    for kb_id, other in A.pending_related:
        o = A.uuid_to_id.get(other)
        if o and o != kb_id:
            A.entries[kb_id].related.add(o)
            A.entries[o].related.add(kb_id)
    # tidal campaign attribution by group name
    idx = A.index(55, ("intrusion-set", "threat-actor", "activity-group"))
    for e in A.entries.values():
        for n in e.attributed_names:
            c = idx.get(norm_key(n), set())
            if len(c) == 1:
                e.attributed_to = next(iter(c))
                break
    return A


_GID_SUFFIX = re.compile(r"\s+-\s+G\d{4}$")


def misp_cluster(galaxy: str, v: dict) -> tuple[str, str, str, frozenset[str]]:
    """A MISP galaxy cluster merged into a KB entry: galaxy type, uuid, value and its name keys."""
    names = [_GID_SUFFIX.sub("", v["value"]), *((v.get("meta") or {}).get("synonyms") or [])]
    return galaxy, v["uuid"], v["value"], frozenset(norm_key(n) for n in names)


def cluster_rows(clusters, primary: str) -> list[list[str]]:
    """The MISP galaxy clusters merged into one KB entry, as ``[galaxy type, uuid, value]`` rows.

    The exports attach these clusters to MISP events by uuid (and tag them with
    the cluster's own value, which can differ from the KB's display name:
    ATT&CK's "Sandworm Team" is the threat-actor cluster "Sandworm"). Within a
    galaxy the cluster best named like the entry comes first (its value is the
    entry's name, else begins it as "Sandworm" does "Sandworm Team", else one of
    its synonyms is the entry's name): the export uses that one.
    """
    key = norm_key(primary)

    def rank(c):
        galaxy, uuid, value, names = c
        own = norm_key(_GID_SUFFIX.sub("", value))
        return galaxy, own != key, not key.startswith(own), key not in names, value, uuid
    return [list(c[:3]) for c in sorted(set(clusters), key=rank)]


def choose_display(variants: collections.Counter, prefer: str | None = None) -> str:
    """The display form among case/spacing variants of one name.

    A variant with odd inner capitals ("HomeLand Justice") loses to the same
    letters without them ("Homeland Justice"); otherwise the most frequent
    variant wins, then ``prefer`` (the spelling of the highest-ranked source).
    """
    def odd(v: str) -> bool:
        return any(_ODD_CAPS.search(w) and not w.isupper() for w in v.split())

    def penalty(v: str) -> bool:
        return odd(v) and any(o != v and o.lower() == v.lower() and not odd(o) for o in variants)
    return sorted(variants, key=lambda v: (penalty(v), -variants[v], v != prefer, v))[0]


def finish_actors(A: Actors, variant_counts: dict[str, collections.Counter]) -> tuple[list[dict], dict[str, str], list[list[str]]]:
    """Resolve surfaces to entries, pick display names and state links."""
    claims: dict[str, list[tuple[int, int, int, str]]] = collections.defaultdict(list)
    for e in A.entries.values():
        best: dict[str, int] = {}
        for s, w in e.names:
            k = norm_key(s)
            best[k] = max(best.get(k, 0), w)
        for k, w in best.items():
            claims[k].append((-w, ETYPE_RANK[e.etype], 0 if e.kb_id.startswith("attack:") else 1, e.kb_id))
    index: dict[str, str] = {}
    for k, cl in sorted(claims.items()):
        cl.sort()
        winner = cl[0][3]
        index[k] = winner
        for c in cl[1:]:
            A.entries[winner].related.add(c[3])
            A.entries[c[3]].related.add(winner)
    for e in A.entries.values():
        e.names.sort(key=lambda t: (-t[1], t[0]))
        e.primary = choose_display(variant_counts[norm_key(e.names[0][0])], e.names[0][0])
        if e.attributed_to:
            e.related.add(e.attributed_to)
            A.entries[e.attributed_to].related.add(e.kb_id)
    # state links: MISP votes, else the attributed group's link (campaigns), else the description
    for e in sorted(A.entries.values(), key=lambda e: (e.etype == "campaign", e.kb_id)):
        if e.votes:
            tally = collections.Counter()
            for iso, w, _ in e.votes:
                tally[iso] += w
            top = sorted(tally.items(), key=lambda t: (-t[1], t[0]))
            e.state_link, e.state_why = top[0][0], "misp"
        elif e.attributed_to and A.entries[e.attributed_to].state_link:
            e.state_link, e.state_why = A.entries[e.attributed_to].state_link, "attributed-group"
        else:
            for d in e.descs:
                iso = A.infer.infer(d)
                if iso:
                    e.state_link, e.state_why = iso, "description"
                    break
    for e in A.entries.values():  # campaigns inherit their group's link when they have none
        if e.etype == "campaign" and not e.state_link and e.attributed_to:
            g = A.entries[e.attributed_to]
            if g.state_link:
                e.state_link, e.state_why = g.state_link, "attributed-group"
    out = []
    surfaces: set[tuple[str, str]] = set()
    for e in sorted(A.entries.values(), key=lambda e: e.kb_id):
        aliases, seen = [], {norm_key(e.primary)}
        for s, _ in e.names:
            k = norm_key(s)
            if k in seen:
                continue
            seen.add(k)
            aliases.append(choose_display(variant_counts[k], s))
        for s, _ in e.names:
            k = norm_key(s)
            if index.get(k) == e.kb_id:
                for var in variant_counts[k]:
                    surfaces.add((var, e.kb_id))
        d = {"id": e.kb_id, "name": e.primary, "type": e.etype, "aliases": aliases,
             "state": e.state_link, "state_src": e.state_why,
             "related": sorted(e.related - {e.kb_id}), "sources": sorted(e.sources)}
        if e.clusters:
            d["misp"] = cluster_rows(e.clusters, e.primary)
        if e.attributed_to:
            d["attributed_to"] = e.attributed_to
        if e.first_seen or e.last_seen:
            d["first_seen"], d["last_seen"] = e.first_seen, e.last_seen
        if e.deprecated:
            d["deprecated"] = True
        out.append(d)
    return out, index, sorted([s, i] for s, i in surfaces)


# ----------------------------------------------------------------- malware, tools, ransomware

_FAKE = re.compile(r"\((?:[^)]*fake[^)]*)\)", re.IGNORECASE)
_PAREN = re.compile(r"\s*\(([^)]*)\)\s*")
_RANSOM_SUFFIX = re.compile(r"\s+(?:ransomware|ransom)$", re.IGNORECASE)


def build_malware(attack: dict, misp: dict[str, dict]) -> tuple[list[dict], dict[str, str], list[list[str]], collections.Counter]:
    objs = attack["objects"]
    by_stix = {o["id"]: o for o in objs}
    ents: dict[str, dict] = {}
    names: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    stats = collections.Counter()
    used_by: dict[str, set[str]] = collections.defaultdict(set)
    for r in attack.get("relationships") or []:
        if r["type"] == "uses":
            s, t = by_stix.get(r["source"]), by_stix.get(r["target"])
            if s and t and t["type"] in ("malware", "tool") and s["type"] in ("intrusion-set", "campaign"):
                used_by[t["external_id"]].add("attack:" + s["external_id"])
    revoked = []
    for o in sorted((o for o in objs if o["type"] in ("malware", "tool")), key=lambda o: o["external_id"]):
        if o.get("revoked"):
            revoked.append(o)
            continue
        kb_id = "attack:" + o["external_id"]
        desc = plain(o.get("description"))
        kind = o["type"]
        if kind == "malware" and re.search(r"\b(?:is|was)\s+(?:a|an)\s+(?:[\w-]+\s+){0,4}?ransomware\b", desc[:400], re.IGNORECASE):
            kind = "ransomware"
        ents[kb_id] = {"id": kb_id, "kind": kind, "sources": {"attack"}, "used_by": used_by.get(o["external_id"], set())}
        if o.get("deprecated"):
            ents[kb_id]["deprecated"] = True
        names[kb_id].append((clean_surface(o["name"]), 100))
        for a in o.get("aliases") or []:
            names[kb_id].append((clean_surface(a), 60))
        stats[kind] += 1
    idx = collections.defaultdict(set)
    for k, ns in names.items():
        for s, _ in ns:
            idx[norm_key(s)].add(k)
    for o in revoked:
        c = idx.get(norm_key(o["name"]), set())
        if len(c) == 1:
            names[next(iter(c))].append((clean_surface(o["name"]), 60))
    for v in sorted(misp["ransomware"]["values"], key=lambda v: v["uuid"]):
        value = v["value"].strip()
        if _FAKE.search(value) or re.search(r"\bunnamed\b", value, re.IGNORECASE):
            stats["ransomware:skipped"] += 1
            continue
        meta = v.get("meta") or {}
        forms: list[tuple[str, int]] = []
        base = value
        for p in _PAREN.findall(value):
            m = re.match(r"(?:formerly known as|aka|a\.k\.a\.)\s+(.+)", p.strip(), re.IGNORECASE)
            if m:
                forms.append((m.group(1), 40))
        base = _PAREN.sub(" ", base).strip()
        short = _RANSOM_SUFFIX.sub("", base).strip()
        if short and short != base:
            forms = [(short, 100), (base, 60)] + forms
        else:
            forms = [(base, 100)] + forms
        for s in meta.get("synonyms") or []:
            s = _PAREN.sub(" ", s).strip()
            forms.append((s, 40))
            s2 = _RANSOM_SUFFIX.sub("", s).strip()
            if s2 != s:
                forms.append((s2, 40))
        forms = [(clean_surface(s), w) for s, w in forms if clean_surface(s) and norm_key(s)]
        if not forms:
            continue
        # "medusa" is ATT&CK's "Medusa Ransomware", not its MEDUSA rootkit: the ransomware
        # spelling of the name is looked up first
        hit = idx.get(norm_key(forms[0][0] + " ransomware"), set()) or idx.get(norm_key(forms[0][0]), set())
        attack_hit = sorted(h for h in hit if h.startswith("attack:"))
        if attack_hit:
            kb_id = attack_hit[0]
            ents[kb_id]["kind"] = "ransomware" if ents[kb_id]["kind"] == "malware" else ents[kb_id]["kind"]
            if meta.get("links"):
                ents[kb_id]["gang"] = True
            ents[kb_id]["sources"].add("misp:ransomware")
            forms = [(s, min(w, 60)) for s, w in forms]
            stats["ransomware:merged-into-attack"] += 1
        else:
            kb_id = "misp:" + v["uuid"]
            ents[kb_id] = {"id": kb_id, "kind": "ransomware", "sources": {"misp:ransomware"}, "used_by": set()}
            if meta.get("links"):
                ents[kb_id]["gang"] = True
            stats["ransomware"] += 1
        ents[kb_id].setdefault("clusters", []).append(misp_cluster("ransomware", v))
        names[kb_id].extend(forms)
        for s, _ in forms:
            idx[norm_key(s)].add(kb_id)
    variant_counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for k, ns in names.items():
        for s, _ in ns:
            variant_counts[norm_key(s)][s] += 1
    claims = collections.defaultdict(list)
    for k, ns in names.items():
        best = {}
        for s, w in ns:
            best[norm_key(s)] = max(best.get(norm_key(s), 0), w)
        for key, w in best.items():
            # a name shared by a ransomware family and other software is the ransomware's
            # (news writes "Medusa" for the gang, not for the rootkit MEDUSA)
            claims[key].append((ents[k]["kind"] != "ransomware", -w, 0 if k.startswith("attack:") else 1, k))
    index = {key: sorted(cl)[0][3] for key, cl in sorted(claims.items())}
    out, surfaces = [], set()
    for k in sorted(ents):
        ns = sorted(names[k], key=lambda t: (-t[1], t[0]))
        primary = choose_display(variant_counts[norm_key(ns[0][0])], ns[0][0])
        if primary.islower():  # MISP's "rhysida": names are shown capitalised
            primary = primary[:1].upper() + primary[1:]
        aliases, seen = [], {norm_key(primary)}
        for s, _ in ns:
            kk = norm_key(s)
            if kk not in seen:
                seen.add(kk)
                aliases.append(choose_display(variant_counts[kk], s))
            if index.get(kk) == k:
                for var in variant_counts[kk]:
                    surfaces.add((var, k))
        d = dict(ents[k])
        d.update(name=primary, aliases=aliases, sources=sorted(d["sources"]), used_by=sorted(d["used_by"]))
        if "clusters" in d:
            d["misp"] = cluster_rows(d.pop("clusters"), primary)
        if not d["used_by"]:
            del d["used_by"]
        out.append(d)
    return out, index, sorted([s, i] for s, i in surfaces), stats


_GROUP_SUFFIX = re.compile(r"\s+(?:group|gang|team|ransomware)$", re.IGNORECASE)


def link_operators(malware: list[dict], actors: list[dict]) -> None:
    """A ransomware family and the ATT&CK group that runs it under its name are one attacker.

    ATT&CK keeps Playcrypt (software, used by the group Play) and Medusa
    Ransomware (used by Medusa Group) apart; news names the gang by the family's
    name. The family gets ``operator``: the group's kb id, when exactly one
    group using it (or one group of the same name) shares its name ("Play" is
    an alias of Playcrypt; "Medusa" both without their suffixes).
    """
    by_id = {a["id"]: a for a in actors}
    groups = collections.defaultdict(set)
    for a in actors:
        if a.get("type") == "intrusion-set":
            for n in [a["name"], *a.get("aliases", [])]:
                groups[norm_key(_GROUP_SUFFIX.sub("", n))].add(a["id"])
    for m in malware:
        if m.get("kind") != "ransomware":
            continue
        fam = {norm_key(_GROUP_SUFFIX.sub("", n)) for n in [m["name"], *m.get("aliases", [])]}
        fam.discard("")
        cands = set()
        for g in m.get("used_by", []):
            a = by_id.get(g)
            if a and a.get("type") == "intrusion-set":
                keys = {norm_key(_GROUP_SUFFIX.sub("", n)) for n in [a["name"], *a.get("aliases", [])]}
                if keys & fam:
                    cands.add(g)
        if not cands:
            named = set().union(*(groups.get(k, set()) for k in fam))
            cands = named if len(named) == 1 else set()
        if len(cands) == 1:
            m["operator"] = next(iter(cands))


# ----------------------------------------------------------------- techniques, sectors

def build_techniques(attack: dict) -> tuple[list[dict], dict[str, str]]:
    out = []
    for o in sorted((o for o in attack["objects"] if o["type"] == "attack-pattern"), key=lambda o: o["external_id"]):
        if o.get("revoked"):
            continue
        d = {"id": o["external_id"], "name": o["name"], "tactics": sorted(o.get("tactics") or [])}
        if o.get("deprecated"):
            d["deprecated"] = True
        out.append(d)
    known = {t["id"] for t in out}
    phrases: dict[str, str] = {}
    for t in out:
        if not t.get("deprecated"):
            phrases.setdefault(t["name"].lower(), t["id"])
    for p, tid in sorted((read_yaml("technique_phrases.yaml") or {}).items()):
        if tid in known:
            phrases[p.lower()] = tid
        else:
            print(f"warning: technique_phrases.yaml: unknown technique {tid} for {p!r}", file=sys.stderr)
    return out, dict(sorted(phrases.items()))


def build_sectors(misp_sector: dict) -> dict:
    lex = read_yaml("sectors.yaml")
    kw: dict[str, str] = {}
    mapping = lex.get("misp_sectors") or {}
    for v in sorted(misp_sector["values"], key=lambda v: v["value"]):
        sec = mapping.get(v["value"])
        if not sec:
            continue
        for n in [v["value"]] + list((v.get("meta") or {}).get("synonyms") or []):
            for part in re.split(r"\s+-\s+|,\s*", n):
                part = part.strip().lower()
                if len(part) >= 3 and part not in ("other", "unknown", "country", "citizens"):
                    kw.setdefault(part, sec)
    for k, s in (lex.get("keywords") or {}).items():
        kw[str(k).lower()] = s
    return {"keywords": dict(sorted(kw.items())), "priority": lex.get("priority") or []}


# ----------------------------------------------------------------- output

def _variant_counts(attack: dict, misp: dict[str, dict], entries) -> dict[str, collections.Counter]:
    """How often each spelling of each actor name occurs across all sources."""
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    keys = set()
    for e in entries.values():
        for s, _ in e.names:
            counts[norm_key(s)][s] += 1
            keys.add(s)
    # occurrences in descriptions, for names of two words or more (cheap and telling)
    blobs = [o.get("description") or "" for o in attack["objects"] if o["type"] in ("intrusion-set", "campaign")]
    for g in ("threat-actor", "mitre-intrusion-set", "tidal-campaigns", "microsoft-activity-group"):
        blobs += [v.get("description") or "" for v in misp[g]["values"]]
    text = "\n".join(blobs)
    multi = sorted({s for s in keys if " " in s}, key=len, reverse=True)
    by_lower = collections.defaultdict(list)
    for s in multi:
        by_lower[s.lower()].append(s)
    for low, forms in by_lower.items():
        if len({norm_key(f) for f in forms}) and len(counts[norm_key(forms[0])]) > 1:
            for m in re.finditer(re.escape(low), text, re.IGNORECASE):
                counts[norm_key(forms[0])][m.group(0)] += 1
    return counts


#: The MISP galaxies whose clusters the KB keeps for the exports (``misp`` rows of entries, countries, sectors).
EXPORTED_GALAXIES = ("threat-actor", "mitre-intrusion-set", "ransomware", "sector", "country")


def galaxies(misp: dict[str, dict]) -> dict[str, dict]:
    """What a MISP event needs to name a galaxy its clusters belong to (``Galaxy`` entries)."""
    out = {}
    for g in EXPORTED_GALAXIES:
        d = misp[g]
        out[d["type"]] = {"uuid": d["uuid"], "name": d["name"], "type": d["type"], "version": str(d.get("version") or "")}
    return out


def write_sources(out: Path, src: Path, attack: dict, misp: dict[str, dict], counts: dict) -> None:
    source_txt = (src / "misp-galaxy" / "SOURCE.txt").read_text(encoding="utf-8").strip()
    misp_license = (src / "misp-galaxy" / "LICENSE.md").read_text(encoding="utf-8").strip()
    attack_license = (src / "attack" / "ATTACK_LICENSE.txt").read_text(encoding="utf-8").strip()
    # keep the ATT&CK part of the license file (the CAPEC part does not apply)
    attack_part = attack_license.split("CAPEC", 1)[0].rstrip()
    lines = [
        "# Sources of the incidex knowledge base (`kb.json.gz`)",
        "",
        "Built by `scripts/build_kb.py` from the files below; rebuild with `python scripts/build_kb.py`.",
        "Hand-written lexicons in `src/incidex/extraction/lexicons/` (demonyms, cities, country names,",
        "sector keywords, technique phrases, ambiguous aliases) are part of incidex (Apache-2.0).",
        "",
        "| part | source | version | license |",
        "|---|---|---|---|",
    ]
    for g in ("threat-actor", "mitre-intrusion-set", "microsoft-activity-group", "tidal-campaigns", "ransomware",
              "sector", "country", "region"):
        lines.append(f"| {g} | MISP galaxy `clusters/{g}.json` | cluster version {misp[g].get('version')}; {source_txt} | CC0-1.0 or BSD-2-Clause |")
    lines.append(f"| intrusion sets, campaigns, malware, tools, techniques | MITRE ATT&CK enterprise (`attack_reduced.json`) | {attack.get('source')} | ATT&CK Terms of Use (below) |")
    lines.append("| country names | pycountry (ISO 3166) | " + getattr(pycountry, "__version__", "installed version") + " | LGPL-2.1 (data: ISO 3166 via Debian iso-codes) |")
    lines += [
        "",
        "Counts: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".",
        "",
        "## MISP galaxy",
        "",
        source_txt,
        "",
        misp_license,
        "",
        "## MITRE ATT&CK",
        "",
        attack.get("source", ""),
        "",
        attack_part,
        "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=Path, default=REPO.parent / "shared" / "data" / "kb", help="folder with misp-galaxy/ and attack/")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default src/incidex/data)")
    ap.add_argument("--report", action="store_true", help="print merge statistics and the hygiene counts by reason (the decisions are in KB_HYGIENE.tsv)")
    args = ap.parse_args(argv)
    t0 = time.time()
    src: Path = args.src
    attack = read_json(src / "attack" / "attack_reduced.json")
    misp = {g: read_json(src / "misp-galaxy" / f"{g}.json") for g in (
        "threat-actor", "mitre-intrusion-set", "microsoft-activity-group", "tidal-campaigns", "ransomware",
        "sector", "country", "region")}
    countries = build_countries(misp["country"])
    infer = StateInference(countries)
    A = build_actors(attack, misp, countries, infer)
    vc = _variant_counts(attack, misp, A.entries)
    actors, actor_index, actor_surfaces = finish_actors(A, vc)
    malware, malware_index, malware_surfaces, mstats = build_malware(attack, misp)
    link_operators(malware, actors)
    rules = kb_hygiene.Rules(LEXICONS / "kb_hygiene.yaml", kb_hygiene.place_names(countries, norm_key),
                             (LEXICONS / "kb_exclude.txt").read_text(encoding="utf-8").splitlines(), norm_key)
    decisions = kb_hygiene.apply({"actor": (actors, actor_index, actor_surfaces),
                                  "malware": (malware, malware_index, malware_surfaces)}, rules)
    techniques, phrases = build_techniques(attack)
    sectors = build_sectors(misp["sector"])
    sectors["clusters"] = {v["value"]: v["uuid"] for v in sorted(misp["sector"]["values"], key=lambda v: v["value"])}
    regions = {v["value"]: sorted(v.get("meta", {}).get("subregions") or []) for v in misp["region"]["values"]}
    country_clusters = {v["meta"]["ISO"]: [v["uuid"], v["value"]] for v in misp["country"]["values"]
                        if v["meta"].get("ISO")}
    country_rows = []
    for iso in sorted(countries.display):
        country_rows.append({
            "iso": iso, "name": countries.display[iso],
            "names": sorted(countries.names.get(iso, ())),
            "demonyms": sorted(d for d, i in countries.demonyms.items() if i == iso),
            "cities": sorted(c for c, i in countries.cities.items() if i == iso),
        })
        if iso in country_clusters:
            country_rows[-1]["misp"] = country_clusters[iso]
    kb = {
        "format": FORMAT,
        "sources": {
            "misp-galaxy": (src / "misp-galaxy" / "SOURCE.txt").read_text(encoding="utf-8").strip(),
            "attack": attack.get("source"),
            "misp_versions": {g: misp[g].get("version") for g in sorted(misp)},
        },
        "actors": actors,
        "actor_index": actor_index,
        "actor_surfaces": actor_surfaces,
        "context_only": kb_hygiene.context_only_keys(decisions, norm_key),
        "malware": malware,
        "malware_index": malware_index,
        "malware_surfaces": malware_surfaces,
        "techniques": techniques,
        "technique_phrases": phrases,
        "countries": country_rows,
        "country_case_sensitive": dict(sorted(countries.case_sensitive.items())),
        "country_ambiguous": sorted(countries.ambiguous),
        "sectors": sectors,
        "regions": regions,
        "galaxies": galaxies(misp),
    }
    payload = json.dumps(kb, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    args.out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="kb.json", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(payload)
    (args.out / "kb.json.gz").write_bytes(buf.getvalue())
    counts = collections.Counter(a["type"] for a in actors)
    summary = {
        "actors": len(actors), **{f"actors/{k}": v for k, v in sorted(counts.items())},
        "malware": len(malware), **{f"malware/{k}": v for k, v in sorted(collections.Counter(m["kind"] for m in malware).items())},
        "techniques": len(techniques), "countries": len(country_rows), "sector keywords": len(sectors["keywords"]),
    }
    hygiene_counts = kb_hygiene.counts(decisions)
    summary.update({f"names {k}": v for k, v in hygiene_counts.items() if "/" not in k})
    write_sources(args.out / "KB_SOURCES.md", src, attack, misp, summary)
    kb_hygiene.write_report(args.out / "KB_HYGIENE.tsv", decisions)
    size = len(buf.getvalue())
    print(f"wrote {args.out / 'kb.json.gz'}: {size / 1e6:.2f} MB (sha256 {hashlib.sha256(buf.getvalue()).hexdigest()[:12]}) "
          f"in {time.time() - t0:.1f}s")
    print("  " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    if args.report:
        print("  merge:", dict(sorted(A.stats.items())))
        print("  malware:", dict(sorted(mstats.items())))
        print("  state links:", collections.Counter(a.get("state_src") for a in actors))
        print("  hygiene (names of actor and malware entries):", hygiene_counts)
        by_reason = collections.Counter((d.decision, d.reason.split(" (")[0].rsplit(" ", 1)[0] if d.reason.startswith(("demonym", "city", "country")) else d.reason.split(" (")[0])
                                        for d in decisions)
        for (dec, why), n in sorted(by_reason.items()):
            print(f"    {dec:13} {n:6}  {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
