"""The knowledge base (KB): threat actors, campaigns, malware, techniques, countries, sectors.

The KB is a compact file, ``incidex/data/kb.json.gz``, built by
``scripts/build_kb.py`` from the MISP galaxy and MITRE ATT&CK (see
``incidex/data/KB_SOURCES.md``) plus the hand-written lexicons next to this
module (``lexicons/*.yaml``, ``lexicons/kb_exclude.txt``). :func:`load_kb` reads
it once per process (cached) and returns a :class:`KnowledgeBase`.

Name lookups (``resolve_actor``, ``resolve_malware``, ``country``) are
insensitive to case, spacing, punctuation, zero-width characters and Unicode
compatibility forms (NFKC): ``"apt 28"``, ``"APT-28"`` and ``"APT\u200b28"`` all find
APT28.

Free-text matching uses a stricter *ambiguity policy* (see
:meth:`KnowledgeBase.actor_surfaces`): multi-word names match in any case,
except those made of ordinary words (``lexicons/kb_case_sensitive.txt``:
"Charming Kitten" but not "a charming kitten"); single-word names only in
their own case; names shorter than 3 characters never; names listed in
``lexicons/kb_exclude.txt`` (ordinary words such as "Tick", "Equation",
"ping", "Play") never alone, only in a fallback phrase ("Tick group", "Play
ransomware"). Ordinary prose yields no actor or malware match.

User extensions:

* extra actors: a YAML or JSON file with a list of ``{name, aliases, state_link,
  kind, kb_id?, related?}`` (or ``{"actors": [...]}``); their names take
  precedence over the built-in KB. Pass ``load_kb(extra_actors=path)`` or set
  ``INCIDEX_KB_EXTRA`` (several paths separated by ``os.pathsep``).
* exclusions: a plain-text file, one surface per line (``#`` comments), of names
  that must never match nor resolve (false positives). Pass
  ``load_kb(exclude=path)`` or set ``INCIDEX_KB_EXCLUDE``.
"""
from __future__ import annotations

import functools
import gzip
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Iterator

from incidex.records import Actor, IncidexError
from incidex.textfold import fold, fold_key, fold_string, is_invisible, lower_same_length

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
KB_PATH = DATA_DIR / "kb.json.gz"
LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
EXCLUDE_PATH = LEXICON_DIR / "kb_exclude.txt"
CASE_SENSITIVE_PATH = LEXICON_DIR / "kb_case_sensitive.txt"
ENV_EXTRA = "INCIDEX_KB_EXTRA"
ENV_EXCLUDE = "INCIDEX_KB_EXCLUDE"
MIN_MATCH_LEN = 3
# No KB name is longer than ~90 characters; longer "names" (a REST query, a runaway
# mention) are not looked up, which also bounds the suffix patterns run on them.
MAX_NAME_LEN = 200
# Fallback phrases offered for a name that is too ambiguous alone ("Tick" -> "Tick group").
# "Akira claims breach of ...": a name that claims an attack is the actor's (feed headlines).
CLAIM_FALLBACKS = ("claims", "claimed", "claims responsibility", "claimed responsibility")
ACTOR_FALLBACKS = ("group", "Group", "hackers", "gang", "APT", "threat actor", "threat group") + CLAIM_FALLBACKS
MALWARE_FALLBACKS = {"ransomware": ("ransomware", "Ransomware", "ransomware gang", "ransomware group") + CLAIM_FALLBACKS,
                     "malware": ("malware", "backdoor", "trojan", "Trojan", "RAT", "loader", "botnet", "wiper", "implant"),
                     "tool": ()}
_MALWARE_SUFFIX = re.compile(r"\s+(?:ransomware|malware|backdoor|trojan|wiper|loader|botnet|rat|implant|stealer|infostealer)"
                             r"(?:\s+(?:gang|group|operators?|strain|variant|family|payload|attack|attacks))?$", re.IGNORECASE)
_ACTOR_SUFFIX = re.compile(r"\s+(?:hacker group|hacking group|threat actors?|threat group|hacktivist group|hacktivists|"
                           r"group|gang|hackers|crew|collective|apt|actors?|operators?|campaign|operation)$", re.IGNORECASE)

# ----------------------------------------------------------------- normalisation

def _strip_invisible(s: str) -> str:
    if s.isascii():
        return s
    return "".join(ch for ch in s if not is_invisible(ch))


def clean_surface(s: str) -> str:
    """A display form: NFKC, no invisible characters, straight quotes, single spaces
    (look-alike letters are kept: this is what is shown, not what is matched)."""
    return fold_string(s or "", look_alikes=False).strip()


def norm_key(s: str) -> str:
    """The lookup key of a name: NFKC, invisible characters removed, case-folded,
    letters and digits only, look-alike letters folded ("Fancy-Bear ", "fancy bear"
    and "Fаncy Bear" with a Cyrillic а share one key)."""
    s = _strip_invisible(unicodedata.normalize("NFKC", s or "")).casefold()
    return fold_key("".join(ch for ch in s if ch.isalnum()))


def _read_list(path: Path) -> list[str]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = re.split(r"\s+#", line, maxsplit=1)[0].strip()
        if line:
            out.append(line)
    return out


# ----------------------------------------------------------------- records

@dataclass(frozen=True)
class ActorInfo:
    """A resolved threat actor or campaign.

    ``name`` is the canonical display name and ``kb_id`` the stable id
    (``attack:G0007``, ``attack:C0038``, ``misp:<uuid>`` or ``user:<slug>``).
    ``kind`` follows the incident schema (``group``, ``state``, ``individual``,
    ``unknown``); ``entry_type`` tells where the entry comes from
    (``intrusion-set``, ``campaign``, ``threat-actor``, ``activity-group``,
    ``user``). ``state_link`` is the ISO 3166-1 alpha-2 code of the state the
    actor is linked to. ``related`` / ``related_ids`` list other entries that
    share a name, are the campaign's attributed group, or are linked in MISP.
    Campaigns carry ``first_seen`` / ``last_seen`` (``YYYY-MM-DD``).
    """

    name: str
    kb_id: str
    aliases: tuple[str, ...] = ()
    state_link: str | None = None
    kind: str = "group"
    entry_type: str = "threat-actor"
    related: tuple[str, ...] = ()
    related_ids: tuple[str, ...] = ()
    attributed_to: str | None = None
    attributed_to_id: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    sources: tuple[str, ...] = ()

    def to_actor(self, mention: str | None = None) -> Actor:
        """The :class:`incidex.records.Actor` for this entry."""
        kind = self.kind if self.kind in ("group", "state", "individual", "unknown") else "unknown"
        return Actor(name=self.name, mention=mention, aliases=list(self.aliases), kind=kind,
                     state_link=self.state_link, kb_id=self.kb_id)


@dataclass(frozen=True)
class MalwareInfo:
    """A malware family, tool or ransomware (``kind``: ``malware`` | ``tool`` | ``ransomware``).

    ``gang`` marks ransomware names that are also extortion groups (MISP
    entries with leak sites); ``used_by`` lists ATT&CK actor ids using it.
    """

    name: str
    kb_id: str
    aliases: tuple[str, ...] = ()
    kind: str = "malware"
    gang: bool = False
    used_by: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    operator: str | None = None  # the kb id of the group that runs this ransomware under its name


@dataclass(frozen=True)
class Technique:
    """An ATT&CK technique: ``id`` (``T1485``, ``T1566.001``), ``name``, ``tactics``."""

    id: str
    name: str
    tactics: tuple[str, ...] = ()
    deprecated: bool = False


@dataclass(frozen=True)
class CountryInfo:
    """A country: ISO2 code, display name, alternative names, demonyms, cities."""

    iso2: str
    name: str
    names: tuple[str, ...] = ()
    demonyms: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """One free-text match: ``text[start:end]`` names ``key`` (a kb_id or ISO2)."""

    start: int
    end: int
    text: str
    kind: str  # actor | malware | country | demonym | city
    key: str


# ----------------------------------------------------------------- the KB

class KnowledgeBase:
    """Read-only lookups over the KB. Get one with :func:`load_kb`."""

    def __init__(self, raw: dict[str, Any], *, ambiguous: Iterable[str] = (), case_sensitive: Iterable[str] = (),
                 extra_actors: list[dict] | None = None, exclude: Iterable[str] = ()):
        """``ambiguous``: lines of ``kb_exclude.txt`` (plain = any case, ``=Name`` = that
        spelling only, ``!Name`` = no fallback phrases); ``case_sensitive``:
        multi-word names matched only as written; ``extra_actors``: user
        actor specs; ``exclude``: user surfaces that never match nor resolve."""
        self._raw = raw
        amb_key, amb_exact, no_fb = set(), set(), set()
        for line in ambiguous:
            line = line.strip()
            if line.startswith("="):
                amb_exact.add(clean_surface(line[1:]))
            elif line.startswith("!"):
                amb_key.add(norm_key(line[1:]))
                no_fb.add(norm_key(line[1:]))
            elif line:
                amb_key.add(norm_key(line))
        for keys in (raw.get("context_only") or {}).values():  # build_kb.py's hygiene step (KB_HYGIENE.tsv)
            amb_key.update(keys)
        self._ambiguous = frozenset(amb_key)
        self._ambiguous_exact = frozenset(amb_exact)
        self._no_fallback = frozenset(no_fb)
        self._cs_multi = frozenset(norm_key(s) for s in case_sensitive)
        self._fallback_set: set[str] = set()
        self._surface_cache: dict[str, list[tuple[str, str, bool]]] = {}
        self._exclude = frozenset(norm_key(s) for s in exclude)
        self._actors: dict[str, dict] = {a["id"]: a for a in raw["actors"]}
        self._actor_index: dict[str, str] = dict(raw["actor_index"])
        self._actor_surfaces: list[tuple[str, str]] = [tuple(x) for x in raw["actor_surfaces"]]
        self._malware: dict[str, dict] = {m["id"]: m for m in raw["malware"]}
        self._malware_index: dict[str, str] = dict(raw["malware_index"])
        self._malware_surfaces: list[tuple[str, str]] = [tuple(x) for x in raw["malware_surfaces"]]
        self._techniques = {t["id"]: Technique(t["id"], t["name"], tuple(t.get("tactics") or ()), bool(t.get("deprecated")))
                            for t in raw["techniques"]}
        self._technique_phrases: dict[str, str] = dict(raw["technique_phrases"])
        self._countries = {c["iso"]: CountryInfo(c["iso"], c["name"], tuple(c["names"]), tuple(c["demonyms"]), tuple(c["cities"]))
                           for c in raw["countries"]}
        self._country_cs: dict[str, str] = dict(raw["country_case_sensitive"])
        self._country_amb = frozenset(raw.get("country_ambiguous") or ())
        self._country_index: dict[str, tuple[str, str]] = {}
        for kind, attr in (("city", "cities"), ("demonym", "demonyms"), ("country", "names")):
            for c in self._countries.values():
                for s in getattr(c, attr):
                    self._country_index[norm_key(s)] = (c.iso2, kind)
        self._sector_kw: dict[str, str] = dict(raw["sectors"]["keywords"])
        self._sector_priority = {s: i for i, s in enumerate(raw["sectors"].get("priority") or [])}
        self._sector_re: re.Pattern | None = None
        self._matcher: _Automaton | None = None
        self._operated: dict[str, list[str]] | None = None
        for spec in extra_actors or ():
            self._add_user_actor(spec)

    # ---------------------------------------------------------------- actors

    def _add_user_actor(self, spec: dict) -> None:
        name = clean_surface(str(spec.get("name") or ""))
        if not norm_key(name):
            raise IncidexError(f"extra actor without a name: {spec!r}")
        kb_id = str(spec.get("kb_id") or "user:" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"))
        aliases = [clean_surface(str(a)) for a in spec.get("aliases") or [] if norm_key(str(a))]
        state = spec.get("state_link")
        state = str(state).upper() if state else None
        displaced = set()
        for s in [name] + aliases:
            k = norm_key(s)
            old = self._actor_index.get(k)
            if old and old != kb_id:
                displaced.add(old)
            self._actor_index[k] = kb_id
            self._actor_surfaces.append((s, kb_id))
        related = sorted(displaced | set(spec.get("related") or ()))
        self._actors[kb_id] = {"id": kb_id, "name": name, "type": "user", "aliases": aliases, "state": state,
                               "kind": spec.get("kind") or "group", "related": related, "sources": ["user"]}
        self._matcher = None
        self._surface_cache.pop("actor", None)

    def _actor_info(self, kb_id: str) -> ActorInfo:
        a = self._actors[kb_id]
        rel = tuple(r for r in a.get("related") or () if r in self._actors)
        att = a.get("attributed_to")
        return ActorInfo(
            name=a["name"], kb_id=kb_id, aliases=tuple(a.get("aliases") or ()), state_link=a.get("state"),
            kind=a.get("kind") or "group", entry_type=a.get("type") or "threat-actor",
            related=tuple(self._actors[r]["name"] for r in rel), related_ids=rel,
            attributed_to=self._actors[att]["name"] if att in self._actors else None, attributed_to_id=att,
            first_seen=a.get("first_seen"), last_seen=a.get("last_seen"), sources=tuple(a.get("sources") or ()))

    def resolve_actor(self, surface: str) -> ActorInfo | None:
        """The actor or campaign a name refers to, or ``None``.

        Insensitive to case, spacing, punctuation, zero-width characters and
        NFKC forms; a possessive ("APT28's") is accepted. When a name is both an
        entry of its own (a campaign, a persona) and an alias of another entry,
        the entry of its own wins and lists the other in ``related``.
        """
        if len(surface or "") > MAX_NAME_LEN:
            return None
        k = self._key(surface)
        if not k or k in self._exclude:
            return None
        kb_id = self._actor_index.get(k)
        if kb_id is None:
            base = _strip_possessive(clean_surface(surface))
            base = re.sub(r"^the\s+", "", base, flags=re.IGNORECASE)
            for cand in (base, _ACTOR_SUFFIX.sub("", base)):
                k2 = self._key(cand)
                if k2 and k2 not in self._exclude and k2 in self._actor_index:
                    kb_id = self._actor_index[k2]
                    break
        return self._actor_info(kb_id) if kb_id else None

    def actor(self, kb_id: str) -> ActorInfo | None:
        """The entry with this kb_id (``attack:G0007``...), or ``None``."""
        return self._actor_info(kb_id) if kb_id in self._actors else None

    def actors(self) -> Iterator[ActorInfo]:
        """Every actor and campaign entry, sorted by kb_id."""
        for kb_id in sorted(self._actors):
            yield self._actor_info(kb_id)

    def actor_surfaces(self, case_sensitive: bool | None = None) -> list[tuple[str, str]]:
        """``(surface, kb_id)`` pairs for a PhraseMatcher / Aho-Corasick automaton.

        The ambiguity policy is already applied: excluded and too-short names
        are gone (an excluded name comes back inside fallback phrases such as
        "Tick group"). Multi-word surfaces are meant to match
        case-insensitively (``case_sensitive=False`` returns only those),
        single-word surfaces and multi-word names made of ordinary words
        case-sensitively, exactly as given (``case_sensitive=True``); ``None``
        returns both. :meth:`is_case_sensitive` tells which is which, and
        :meth:`matcher` gives a ready-made matcher.
        """
        return self._surfaces(self._actor_surfaces, self._actor_index, case_sensitive, "actor")

    def campaign_dates(self, entry: ActorInfo | str) -> tuple[str | None, str | None] | None:
        """``(first_seen, last_seen)`` as ``YYYY-MM-DD`` strings for a campaign
        (an :class:`ActorInfo`, a kb_id or a name); ``None`` when unknown."""
        kb_id = entry.kb_id if isinstance(entry, ActorInfo) else (entry if entry in self._actors else None)
        if kb_id is None and isinstance(entry, str):
            info = self.resolve_actor(entry)
            kb_id = info.kb_id if info else None
        a = self._actors.get(kb_id or "")
        if not a or not (a.get("first_seen") or a.get("last_seen")):
            return None
        return a.get("first_seen"), a.get("last_seen")

    def active_period(self, kb_id: str) -> tuple[date | None, date | None] | None:
        """Like :meth:`campaign_dates` but with :class:`datetime.date` values; for a
        group, the span of the campaigns attributed to it."""
        span = self.campaign_dates(kb_id)
        if span is None and kb_id in self._actors:
            firsts, lasts = [], []
            for a in self._actors.values():
                if a.get("attributed_to") == kb_id:
                    if a.get("first_seen"):
                        firsts.append(a["first_seen"])
                    if a.get("last_seen"):
                        lasts.append(a["last_seen"])
            if firsts or lasts:
                span = (min(firsts) if firsts else None, max(lasts) if lasts else None)
        if span is None:
            return None
        return tuple(date.fromisoformat(d) if d else None for d in span)  # type: ignore[return-value]

    # ---------------------------------------------------------------- malware & techniques

    def resolve_malware(self, surface: str) -> MalwareInfo | None:
        """The malware family, tool or ransomware a name refers to, or ``None``.
        "LockBit ransomware" and "LockBit 3.0" style variants are tried too."""
        if len(surface or "") > MAX_NAME_LEN:
            return None
        for cand in (surface, _strip_possessive(surface)):
            k = self._key(cand)
            if not k or k in self._exclude:
                return None
            kb_id = self._malware_index.get(k)
            if kb_id is None:
                s = _MALWARE_SUFFIX.sub("", clean_surface(cand))
                kb_id = self._malware_index.get(norm_key(s))
                if kb_id is None:
                    kb_id = self._malware_index.get(norm_key(re.sub(r"\s*v?\d+(?:\.\d+)*$", "", s)))
            if kb_id:
                m = self._malware[kb_id]
                return self._malware_info(kb_id)
        return None

    def _malware_info(self, kb_id: str) -> MalwareInfo:
        m = self._malware[kb_id]
        op = m.get("operator")
        return MalwareInfo(m["name"], kb_id, tuple(m.get("aliases") or ()), m.get("kind") or "malware",
                           bool(m.get("gang")), tuple(m.get("used_by") or ()), tuple(m.get("sources") or ()),
                           op if op in self._actors else None)

    def malware(self, kb_id: str) -> MalwareInfo | None:
        """The malware, tool or ransomware entry with this kb_id, or ``None``."""
        return self._malware_info(kb_id) if kb_id in self._malware else None

    def family_attacker(self, family: MalwareInfo, mention: str | None = None) -> Actor:
        """The attacker a ransomware family stands for, once the text says a group used it.

        The group that runs the family under its name when the KB links one
        (Playcrypt -> the group Play, Medusa Ransomware -> Medusa Group), else the
        family's own entry as a group; always under the KB's display name, the
        words of the text kept as ``mention``.
        """
        if family.operator:
            return self._actor_info(family.operator).to_actor(mention)
        return Actor(name=family.name, mention=mention, aliases=list(family.aliases)[:12], kind="group",
                     kb_id=family.kb_id)

    def canonical_actor_id(self, kb_id: str | None) -> str | None:
        """The kb id an attacker is filed under: a ransomware family's operating group, else itself."""
        if kb_id in self._malware:
            op = self._malware[kb_id].get("operator")
            if op in self._actors:
                return op
        return kb_id

    def display_name(self, kb_id: str | None) -> str | None:
        """The one display name of an actor, campaign or malware entry (``None`` when unknown)."""
        entry = self._actors.get(kb_id) or self._malware.get(kb_id) if kb_id else None
        return entry["name"] if entry else None

    def operated_families(self, actor_id: str) -> list[str]:
        """Kb ids of the ransomware families a group runs under its name."""
        if self._operated is None:
            ops: dict[str, list[str]] = {}
            for mid, m in self._malware.items():
                if m.get("operator"):
                    ops.setdefault(m["operator"], []).append(mid)
            self._operated = ops
        return sorted(self._operated.get(actor_id, ()))

    def malware_surfaces(self, case_sensitive: bool | None = None) -> list[tuple[str, str]]:
        """``(surface, kb_id)`` pairs of malware/tools/ransomware, same policy as :meth:`actor_surfaces`."""
        return self._surfaces(self._malware_surfaces, self._malware_index, case_sensitive, "malware")

    def technique(self, tid: str) -> Technique | None:
        """The ATT&CK technique with this id (``T1485``, ``t1566.001``), or ``None``."""
        return self._techniques.get((tid or "").strip().upper())

    def technique_phrases(self) -> dict[str, str]:
        """Lower-case phrase -> technique id: ATT&CK names plus news wording
        (``"phishing"`` -> ``T1566``, ``"data destruction"`` -> ``T1485``)."""
        return dict(self._technique_phrases)

    def technique_for(self, phrase: str) -> Technique | None:
        """The technique a phrase names (exact phrase, case-insensitive), or ``None``."""
        tid = self._technique_phrases.get(clean_surface(phrase).lower())
        return self._techniques.get(tid) if tid else None

    # ---------------------------------------------------------------- countries

    def country(self, text: str, *, scan: bool = True) -> str | None:
        """ISO2 for a country name, demonym, city or abbreviation.

        ``"Albania"``, ``"Albanian"``, ``"Tehran"``, ``"U.S."``, ``"the UK"``,
        ``"Iran's"`` are exact lookups; abbreviations such as "US" only in
        their own case. With ``scan`` (default), a longer phrase falls back on
        the first place named in it (``"Albanian parliament"`` -> ``AL``).
        """
        s = clean_surface(text)
        if not s:
            return None
        for cand in (s, _strip_possessive(s), re.sub(r"^the\s+", "", _strip_possessive(s), flags=re.IGNORECASE)):
            if cand in self._country_cs:
                return self._country_cs[cand]
            hit = self._country_index.get(norm_key(cand))
            if hit and norm_key(cand) not in self._exclude:
                return hit[0]
        if scan and " " in s:
            for m in self.matcher().find(s, kinds=("country", "demonym", "city")):
                return m.key
        return None

    def country_info(self, iso2: str) -> CountryInfo | None:
        return self._countries.get((iso2 or "").upper())

    def country_name(self, iso2: str) -> str | None:
        """Display name of a country (``"IR"`` -> ``"Iran"``)."""
        c = self._countries.get((iso2 or "").upper())
        return c.name if c else None

    def country_surfaces(self) -> list[tuple[str, str]]:
        """``(surface, iso2)`` of names, demonyms, cities and abbreviations for
        free-text matching (ambiguous ones such as "Georgia" or "Jersey" left out)."""
        return [(s, iso) for s, _kind, iso, _cs in self._country_entries()]

    def _country_entries(self) -> list[tuple[str, str, str, bool]]:
        out = []
        seen = set()
        for c in sorted(self._countries.values(), key=lambda c: c.iso2):
            for kind, attr in (("country", "names"), ("demonym", "demonyms"), ("city", "cities")):
                for s in getattr(c, attr):
                    k = norm_key(s)
                    if len(k) < MIN_MATCH_LEN or k in self._country_amb or k in self._exclude or (s, kind) in seen:
                        continue
                    if self._country_index.get(k, (None,))[0] != c.iso2:
                        continue
                    seen.add((s, kind))
                    out.append((s, kind, c.iso2, " " not in s))
        for s, iso in sorted(self._country_cs.items()):
            if norm_key(s) not in self._country_amb and norm_key(s) not in self._exclude:
                out.append((s, "country", iso, True))
        return out

    # ---------------------------------------------------------------- sectors

    def sector_keywords(self) -> dict[str, str]:
        """Lower-case keyword -> sector of the incident schema taxonomy."""
        return dict(self._sector_kw)

    def sector(self, text: str) -> str | None:
        """The sector a noun phrase names ("Albanian parliament" -> legislature,
        "telecom company" -> telecom, "flag carrier" -> aviation), or ``None``.

        Keywords match on word boundaries with an optional plural; the
        right-most keyword (the head of an English noun phrase) wins, then the
        longest, then the more specific sector.
        """
        if self._sector_re is None:
            kws = sorted({_sector_norm(k) for k in self._sector_kw}, key=len, reverse=True)
            self._sector_map = {}
            for k, v in self._sector_kw.items():
                self._sector_map.setdefault(_sector_norm(k), v)
            self._sector_re = re.compile(r"(?<![\w])(" + "|".join(re.escape(k) for k in kws) + r")(?:s|es)?(?![\w])")
        low = _sector_norm(clean_surface(text))
        best = None
        for m in self._sector_re.finditer(low):
            sec = self._sector_map[m.group(1)]
            rank = (m.end(), len(m.group(1)), -self._sector_priority.get(sec, 99))
            if best is None or rank > best[0]:
                best = (rank, sec)
        return best[1] if best else None

    # ---------------------------------------------------------------- matching

    def gazetteer_entries(self) -> Iterator[tuple[str, str, str, bool]]:
        """Every matchable surface as ``(surface, kind, key, case_sensitive)``:
        kind ``actor`` / ``malware`` (key = kb_id), ``country`` / ``demonym`` /
        ``city`` (key = ISO2). The ambiguity policy is applied."""
        for s, k in self.actor_surfaces():
            yield s, "actor", k, self.is_case_sensitive(s)
        for s, k in self.malware_surfaces():
            yield s, "malware", k, self.is_case_sensitive(s)
        yield from ((s, kind, iso, cs) for s, kind, iso, cs in self._country_entries())

    def matcher(self) -> "_Automaton":
        """A cached Aho-Corasick matcher over :meth:`gazetteer_entries`."""
        if self._matcher is None:
            self._matcher = _Automaton(self.gazetteer_entries())
        return self._matcher

    def find(self, text: str, kinds: Iterable[str] | None = None) -> list[Match]:
        """Non-overlapping, longest-first matches of KB names in ``text`` (offsets into ``text``)."""
        return self.matcher().find(text, kinds=kinds)

    def is_matchable(self, surface: str) -> bool:
        """Whether the ambiguity policy lets ``surface`` match free text."""
        return self._matchable(surface)

    def is_case_sensitive(self, surface: str) -> bool:
        """Whether ``surface`` is to be matched only as written: single words and
        multi-word names made of ordinary words."""
        return _single_token(surface) or norm_key(surface) in self._cs_multi or surface in self._fallback_set

    def _matchable(self, s: str) -> bool:
        k = norm_key(s)
        if len(k) < MIN_MATCH_LEN or k in self._ambiguous or k in self._exclude or clean_surface(s) in self._ambiguous_exact:
            return False
        if k.isdigit():
            return False
        if _single_token(s) and not any(ch.isalpha() for ch in s):
            return False
        return True

    def _fallbacks(self, s: str, kb_id: str, kind: str) -> list[str]:
        """Phrases that make an ambiguous name safe to match ("Tick" -> "Tick group")."""
        k = norm_key(s)
        if k in self._no_fallback or k in self._exclude or len(k) < MIN_MATCH_LEN:
            return []
        if self._country_index.get(k, ("", ""))[1] == "demonym":  # "Russian ransomware" is not a name
            return []
        if not (k in self._ambiguous or clean_surface(s) in self._ambiguous_exact) or s.islower():
            return []
        if kind == "actor":
            words = ACTOR_FALLBACKS
        else:
            words = MALWARE_FALLBACKS.get(self._malware[kb_id].get("kind") or "malware", ())
        out = [p for p in (f"{s} {w}" for w in words)
               if norm_key(p) not in self._ambiguous and norm_key(p) not in self._exclude]
        self._fallback_set.update(out)
        return out

    def _surfaces(self, pairs, index, case_sensitive, kind):
        cache = self._surface_cache.get(kind)
        if cache is None:
            cache = self._surface_cache[kind] = self._compute_surfaces(pairs, index, kind)
        return [(c, k) for c, k, cs in cache if case_sensitive is None or cs == case_sensitive]

    def _compute_surfaces(self, pairs, index, kind):
        out = []
        seen = set()
        for s, kb_id in pairs:
            if index.get(norm_key(s)) != kb_id:
                continue
            if self._matchable(s):
                cands = _case_variants(s, multi_cs=norm_key(s) in self._cs_multi)
            else:
                cands = self._fallbacks(s, kb_id, kind)
            for c in cands:
                if index.get(norm_key(c), kb_id) != kb_id or c in self._ambiguous_exact:
                    continue
                cs = self.is_case_sensitive(c) or c in self._fallback_set
                key = (c if cs else c.lower(), kb_id)
                if key in seen:
                    continue
                seen.add(key)
                out.append((c, kb_id, cs))
        return out

    # ---------------------------------------------------------------- misc

    @staticmethod
    def _key(surface: str) -> str:
        return norm_key(surface)

    @property
    def sources(self) -> dict[str, Any]:
        """Source versions the KB was built from."""
        return dict(self._raw.get("sources") or {})

    def stats(self) -> dict[str, int]:
        """Entry counts (actors by type, malware by kind, techniques, countries)."""
        out: dict[str, int] = {"actors": len(self._actors)}
        for a in self._actors.values():
            out[f"actors/{a.get('type')}"] = out.get(f"actors/{a.get('type')}", 0) + 1
        out["malware"] = len(self._malware)
        for m in self._malware.values():
            out[f"malware/{m.get('kind')}"] = out.get(f"malware/{m.get('kind')}", 0) + 1
        out["techniques"] = len(self._techniques)
        out["countries"] = len(self._countries)
        out["sector_keywords"] = len(self._sector_kw)
        return out


def _case_variants(s: str, multi_cs: bool = False) -> list[str]:
    """A name and the spellings news also uses for it.

    Single words: "QakBot" -> "Qakbot", "QAKBOT"; "qilin" -> "Qilin".
    Multi-word names matched as written (``multi_cs``): "Lazarus Group" ->
    "Lazarus group", "LAZARUS GROUP". Other multi-word names are returned as is
    (they match in any case).
    """
    out = [s]
    if not _single_token(s):
        if multi_cs:
            first, rest = s.split(" ", 1)
            out += [f"{first} {rest.lower()}", s.upper()]
        return list(dict.fromkeys(out))
    if re.search(r"[a-z][A-Z]", s) or (s.islower() and s[:1].isalpha()):
        out.append(s[:1].upper() + s[1:].lower())
    if any(ch.islower() for ch in s) and sum(ch.isalpha() for ch in s) >= 4:
        out.append(s.upper())
    return list(dict.fromkeys(out))


def _single_token(s: str) -> bool:
    return len(s.split()) == 1


def _strip_possessive(s: str) -> str:
    return re.sub(r"(?:'s|’s|'|’)$", "", (s or "").strip())


def _sector_norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.lower().replace("-", " ").replace("’", "'")).strip()


# ----------------------------------------------------------------- Aho-Corasick

class _Automaton:
    """Word-bounded, longest-first matching of KB surfaces (pyahocorasick).

    Case-insensitive surfaces are matched on a lower-cased copy, case-sensitive
    ones on the text itself; invisible characters and runs of spaces in the
    text are skipped so that offsets still point into the original text.
    """

    ORDER = {"actor": 0, "malware": 1, "country": 2, "demonym": 3, "city": 4}

    def __init__(self, entries: Iterable[tuple[str, str, str, bool]]):
        import ahocorasick

        self._ci = ahocorasick.Automaton()
        self._cs = ahocorasick.Automaton()
        table: dict[tuple[bool, str], list[tuple[str, str]]] = {}
        for surface, kind, key, cs in entries:
            s = fold_string(surface).strip()
            if not s:
                continue
            k = (cs, s if cs else lower_same_length(s))
            vals = table.setdefault(k, [])
            if (kind, key) not in vals:
                vals.append((kind, key))
        for (cs, s), vals in table.items():
            (self._cs if cs else self._ci).add_word(s, (len(s), vals))
        for a in (self._ci, self._cs):
            if len(a) == 0:
                a.add_word("\x00\x00", (2, []))
            a.make_automaton()

    def find(self, text: str, kinds: Iterable[str] | None = None) -> list[Match]:
        kinds = set(kinds) if kinds else None
        folded = fold(text)
        norm = folded.text
        low = lower_same_length(norm)
        found = []
        for auto, hay in ((self._ci, low), (self._cs, norm)):
            for end, (n, vals) in auto.iter(hay):
                start = end - n + 1
                if start > 0 and (hay[start - 1].isalnum() or hay[start - 1] == "_"):
                    continue
                if end + 1 < len(hay) and (hay[end + 1].isalnum() or hay[end + 1] == "_"):
                    continue
                for kind, key in vals:
                    if kinds is None or kind in kinds:
                        s0, e0 = folded.span(start, end + 1)
                        found.append(Match(s0, e0, text[s0:e0], kind, key))
        found.sort(key=lambda m: (m.start, -(m.end - m.start), self.ORDER.get(m.kind, 9)))
        kept, taken = [], -1
        for m in found:
            if m.start >= taken:
                kept.append(m)
                taken = m.end
        return kept


# ----------------------------------------------------------------- loading

@functools.lru_cache(maxsize=1)
def _raw_kb(path: str) -> dict[str, Any]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise IncidexError(f"knowledge base not found at {path}: run scripts/build_kb.py") from None


def _read_extra(path: Path) -> list[dict]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise IncidexError(f"{p}: cannot read extra actors: {e}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as e:  # noqa: BLE001 - any parse error is the user's to fix
        raise IncidexError(f"{p}: cannot parse extra actors: {e}") from None
    if isinstance(data, dict):
        data = data.get("actors", [data] if "name" in data else [])
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise IncidexError(f"{p}: extra actors must be a list of {{name, aliases, state_link, kind}}")
    return data


def _paths(arg: Path | str | None, env: str) -> tuple[str, ...]:
    if arg is not None:
        return (str(arg),)
    val = os.environ.get(env, "").strip()
    return tuple(p for p in val.split(os.pathsep) if p) if val else ()


@functools.lru_cache(maxsize=8)
def _load(kb_path: str, extras: tuple[str, ...], excludes: tuple[str, ...]) -> KnowledgeBase:
    raw = _raw_kb(kb_path)
    ambiguous = _read_list(EXCLUDE_PATH) if EXCLUDE_PATH.exists() else []
    case_sensitive = _read_list(CASE_SENSITIVE_PATH) if CASE_SENSITIVE_PATH.exists() else []
    extra_actors: list[dict] = []
    for p in extras:
        extra_actors += _read_extra(Path(p))
    exclude: list[str] = []
    for p in excludes:
        try:
            exclude += _read_list(Path(p))
        except OSError as e:
            raise IncidexError(f"{p}: cannot read exclusion list: {e}") from None
    return KnowledgeBase(raw, ambiguous=ambiguous, case_sensitive=case_sensitive, extra_actors=extra_actors,
                         exclude=exclude)


def load_kb(extra_actors: Path | None = None, exclude: Path | None = None) -> KnowledgeBase:
    """The knowledge base, loaded once per process and per set of extension files.

    ``extra_actors``: YAML/JSON file of additional actors (default: the paths in
    ``$INCIDEX_KB_EXTRA``). ``exclude``: plain-text list of surfaces that must
    never match nor resolve (default: ``$INCIDEX_KB_EXCLUDE``).
    """
    return _load(str(KB_PATH), _paths(extra_actors, ENV_EXTRA), _paths(exclude, ENV_EXCLUDE))


__all__ = ["ActorInfo", "CountryInfo", "KnowledgeBase", "Match", "MalwareInfo", "Technique", "clean_surface",
           "load_kb", "norm_key"]
