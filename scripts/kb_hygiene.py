"""Knowledge-base hygiene: which actor and malware names may match news text on their own.

A build step of ``scripts/build_kb.py``. The MISP galaxy and ATT&CK carry
aliases that are words of ordinary news prose: demonyms ("Russian", an alias
of the Zlader ransomware), countries and cities, everyday English words
("Tick", "Play"), product names ("Windows"), one- and two-letter codes. Each
name of each entry gets one decision, written as data with its reason
(``src/incidex/data/KB_HYGIENE.tsv``):

* ``kept``: matches free text as the KB's case rules allow;
* ``context-only``: matches only inside actor phrasing ("the Tick group",
  "Play ransomware gang"); an exact lookup ("/actors/Tick") still resolves it;
* ``dropped``: removed from the entry (never matched, resolved or shown).

A primary (display) name is never dropped: where a rule would drop it, it
becomes context-only. The rules and word lists are in
``src/incidex/extraction/lexicons/kb_hygiene.yaml``; English word frequency comes
from ``wordfreq`` (Zipf scale). The reviewed ambiguity list ``kb_exclude.txt``
(read by the runtime too) is reported as context-only.
"""
from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import yaml
from wordfreq import zipf_frequency

KEPT, CONTEXT, DROPPED = "kept", "context-only", "dropped"


@dataclass(frozen=True)
class Decision:
    section: str  # actor | malware
    kb_id: str
    entry: str  # the entry's display name
    surface: str
    decision: str
    reason: str


class Rules:
    """The hygiene rules of ``kb_hygiene.yaml`` plus the place names of the build."""

    def __init__(self, path: Path, places: dict[str, str], exclude_lines: Iterable[str],
                 norm_key: Callable[[str], str]):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        self.norm_key = norm_key
        self.zipf = float(data.get("common_word_zipf", 3.5))
        self.min_len = int(data.get("min_key_length", 3))
        self.keep = {norm_key(s) for s in data.get("keep") or ()}
        self.products = {norm_key(s) for s in data.get("products") or ()}
        self.affixes = [a.lower() for a in data.get("place_affixes") or ()]
        self.places = places  # norm_key -> "demonym of RU" / "country RU" / "city RU"
        self.excluded: dict[str, str] = {}
        for line in exclude_lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name = line[1:] if line[0] in "=!" else line
            self.excluded.setdefault(norm_key(name), "reviewed ambiguity list kb_exclude.txt")

    def _place(self, surface: str) -> str | None:
        low = surface.lower()
        for a in self.affixes:
            if a.startswith("-") and low.endswith(a):
                low = low[: -len(a)]
            elif a.endswith("-") and low.startswith(a):
                low = low[len(a):]
        return self.places.get(self.norm_key(low))

    def decide(self, surface: str, section: str, primary: bool) -> tuple[str, str]:
        """``(decision, reason)`` for one name of one entry."""
        k = self.norm_key(surface)
        if k in self.keep:
            return KEPT, "keep list"
        if len(k) < self.min_len:
            return (CONTEXT if primary else DROPPED), f"too short ({len(k)} letters or digits)"
        place = self._place(surface)
        if place:
            return (CONTEXT if primary else DROPPED), place
        if section == "actor" and k in self.products:
            return CONTEXT, "product name"
        word = surface.strip()
        if re.fullmatch(r"[A-Za-z]+", word) and not (word.isupper() and len(word) > 4):
            z = zipf_frequency(word.lower(), "en")
            if z >= self.zipf:
                return CONTEXT, f"common English word (wordfreq Zipf {z:.2f})"
        if k in self.excluded:
            return CONTEXT, self.excluded[k]
        return KEPT, "no rule"


def place_names(countries, norm_key: Callable[[str], str]) -> dict[str, str]:
    """Every demonym, country and city name of the build's country index, by lookup key
    (a country name wins over a demonym, a demonym over a city)."""
    out: dict[str, str] = {}
    for table, label in ((countries.cities, "city of"), (countries.demonyms, "demonym of")):
        for s, iso in table.items():
            out[norm_key(s)] = f"{label} {iso}"
    for iso, names in countries.names.items():
        for s in names:
            out[norm_key(s)] = f"country name {iso}"
    return out


def apply(sections: dict[str, tuple[list[dict], dict[str, str], list[list[str]]]], rules: Rules) -> list[Decision]:
    """Decide every name of every entry and apply the decisions in place.

    ``sections`` maps ``actor`` / ``malware`` to the build's ``(entries, index,
    surfaces)``. A dropped name leaves the entry's aliases, the index (where it
    pointed at this entry) and the surfaces; context-only keys are returned in
    the decisions for the KB's ``context_only`` list.
    """
    nk = rules.norm_key
    out: list[Decision] = []
    for section, (entries, index, surfaces) in sections.items():
        dropped: set[tuple[str, str]] = set()
        for e in entries:
            seen: set[str] = set()
            keep_aliases = []
            for i, s in enumerate([e["name"], *e.get("aliases", [])]):
                k = nk(s)
                if k in seen:
                    if i:
                        keep_aliases.append(s)
                    continue
                seen.add(k)
                decision, reason = rules.decide(s, section, primary=(i == 0))
                out.append(Decision(section, e["id"], e["name"], s, decision, reason))
                if decision == DROPPED:
                    dropped.add((k, e["id"]))
                    if index.get(k) == e["id"]:
                        del index[k]
                elif i:
                    keep_aliases.append(s)
            e["aliases"] = keep_aliases
        surfaces[:] = [x for x in surfaces if (nk(x[0]), x[1]) not in dropped]
    return out


def context_only_keys(decisions: Iterable[Decision], norm_key: Callable[[str], str]) -> dict[str, list[str]]:
    """``{"actor": [keys], "malware": [keys]}`` of the context-only names."""
    out: dict[str, set[str]] = collections.defaultdict(set)
    for d in decisions:
        if d.decision == CONTEXT:
            out[d.section].add(norm_key(d.surface))
    return {s: sorted(v) for s, v in sorted(out.items())}


def counts(decisions: Iterable[Decision]) -> dict[str, int]:
    c = collections.Counter()
    for d in decisions:
        c[f"{d.section}/{d.decision}"] += 1
        c[d.decision] += 1
    return dict(sorted(c.items()))


def write_report(path: Path, decisions: list[Decision]) -> None:
    """The decisions as a tab-separated table, one name a line, sorted (deterministic)."""
    rows = sorted(decisions, key=lambda d: (d.section, d.decision, d.reason, d.kb_id, d.surface))
    lines = ["section\tkb_id\tentry\tsurface\tdecision\treason"]
    for d in rows:
        if d.decision == KEPT and d.reason == "no rule":
            continue  # the report lists decisions; a plain kept name is counted, not listed
        lines.append("\t".join(x.replace("\t", " ") for x in (d.section, d.kb_id, d.entry, d.surface, d.decision, d.reason)))
    c = counts(decisions)
    lines.append("# counts: " + ", ".join(f"{k} {v}" for k, v in c.items()))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
