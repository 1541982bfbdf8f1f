"""Entity mentions: knowledge-base names (Aho-Corasick), CVEs, money, counts.

The gazetteer runs one Aho-Corasick pass per sentence over every actor, malware,
country, demonym and city surface of the knowledge base (pyahocorasick:
~15,000 articles/s for 10k names here, against 1,800-2,100 for spaCy's
EntityRuler), then keeps matches on word boundaries, longest first. Text and
names are folded the same way first (``incidex.textfold``: zero-width and
look-alike characters), and matches are reported with their original offsets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick
import yaml
from importlib import resources

from ..records import Actor
from ..textfold import fold, fold_string, lower_same_length
from .kb import CLAIM_FALLBACKS

@lru_cache(maxsize=1)
def _regions_data() -> dict:
    return yaml.safe_load(resources.files("incidex.extraction").joinpath("lexicons/regions.yaml").read_text("utf-8"))


def _regions() -> list[tuple[str, str, str, bool]]:
    """States, provinces and more cities (lexicons/regions.yaml), matched as written."""
    return [(name, "city", iso, True) for name, iso in (_regions_data().get("regions") or {}).items()]


def _after_comma() -> tuple[re.Pattern, dict[str, str]]:
    """'SPRING HILL, Tenn.', 'Dayton, OH': a state's abbreviation after a place (regions.yaml)."""
    data = _regions_data()
    iso = {str(a): code for code, abbrevs in (data.get("after_comma") or {}).items() for a in abbrevs}
    alts = "|".join(re.escape(a) for a in sorted(iso, key=len, reverse=True))
    # after a capitalised word; a postal code not before another word in capitals ("HACKERS, IN THE END")
    return re.compile(rf"(?<=[A-Z])[\w'’-]*,\s+({alts})(?![\w])(?!\.\w)(?<!\.)(?!\s+[A-Z]{{2,}}\b)|"
                      rf"(?<=[A-Z])[\w'’-]*,\s+({alts})(?<=\.)"), iso


_AFTER_COMMA = _after_comma()


@dataclass(frozen=True)
class Mention:
    kind: str  # actor | malware | country | demonym | city
    key: str  # kb key or ISO code
    start: int
    end: int
    text: str


_CLAIM_TAIL = re.compile(r"\s+(?:" + "|".join(re.escape(w) for w in sorted(CLAIM_FALLBACKS, key=len, reverse=True))
                         + r")$", re.IGNORECASE)  # the words kb.py appended to make a name safe to match


class Gazetteer:
    """Knowledge-base lookups over raw sentence text."""

    def __init__(self, kb, org_heads: set[str]):
        self.kb = kb
        self.org_heads = org_heads
        self._ci = ahocorasick.Automaton()  # case-insensitive surfaces, keyed lowercase
        self._cs = ahocorasick.Automaton()  # case-sensitive surfaces
        entries: dict[tuple[bool, str], list[tuple[str, str]]] = {}
        for surface, kind, key, case_sensitive in list(kb.gazetteer_entries()) + _regions():
            s = fold_string(surface).strip()
            if len(s) < 2:
                continue
            k = (case_sensitive, s if case_sensitive else lower_same_length(s))
            entries.setdefault(k, []).append((kind, key))
        for (cs, s), vals in entries.items():
            (self._cs if cs else self._ci).add_word(s, (s, vals))
        for a in (self._ci, self._cs):
            if len(a) == 0:
                a.add_word("\x00\x00", ("\x00\x00", []))
            a.make_automaton()

    def _scan(self, text: str) -> list[Mention]:
        # Names are matched in the folded text (zero-width and look-alike characters
        # cannot hide a name) and reported with their span in ``text`` as written.
        folded = fold(text)
        norm = folded.text
        low = lower_same_length(norm)
        found: list[Mention] = []
        for auto, hay in ((self._ci, low), (self._cs, norm)):
            for end, (s, vals) in auto.iter(hay):
                start = end - len(s) + 1
                if start > 0 and (hay[start - 1].isalnum() or hay[start - 1] in "_"):
                    continue
                after = hay[end + 1:end + 2]
                if after and (after.isalnum() or after == "_"):
                    continue
                s0, e0 = folded.span(start, end + 1)
                for kind, key in vals:
                    found.append(Mention(kind, key, s0, e0, text[s0:e0]))
        # Longest match wins; among equals, actors before malware before places.
        order = {"actor": 0, "malware": 1, "country": 2, "demonym": 3, "city": 4}
        found.sort(key=lambda m: (m.start, -(m.end - m.start), order.get(m.kind, 9)))
        kept: list[Mention] = []
        taken_end = -1
        for m in found:
            if m.start < taken_end:
                continue
            taken_end = m.end
            claim = _CLAIM_TAIL.search(m.text)
            if claim and m.kind in ("actor", "malware"):
                # "Akira claims": the claim made the name safe to match; the name is what it mentions
                m = Mention(m.kind, m.key, m.start, m.start + claim.start(), m.text[:claim.start()])
            kept.append(m)
        if "," in text:
            for m in _AFTER_COMMA[0].finditer(text):
                g = 1 if m.group(1) else 2
                if not any(x.start <= m.start(g) < x.end for x in kept):
                    kept.append(Mention("city", _AFTER_COMMA[1][m.group(g)], m.start(g), m.end(g), m.group(g)))
            kept.sort(key=lambda m: m.start)
        return kept

    def scan(self, text: str) -> list[Mention]:
        return self._scan(text)

    def actors(self, text: str) -> list[Mention]:
        return [m for m in self._scan(text) if m.kind == "actor"]

    def malware(self, text: str) -> list[Mention]:
        return [m for m in self._scan(text) if m.kind == "malware"]

    def countries(self, text: str) -> list[Mention]:
        return [m for m in self._scan(text) if m.kind in ("country", "demonym", "city")]

    def actor(self, m: Mention) -> Actor | None:
        return self.actor_named(m.text)

    def actor_named(self, surface: str) -> Actor | None:
        """The knowledge base's actor for a surface, with that surface as its mention, or None."""
        info = self.kb.resolve_actor(surface)
        if info is None:
            return None
        return Actor(name=info.name, mention=surface, aliases=list(info.aliases)[:12], kind=info.kind or "group",
                     state_link=info.state_link, kb_id=info.kb_id)

    def family_attacker(self, surface: str, after: str, claimed_after: bool = False) -> Actor | None:
        """The attacker a malware or ransomware name stands for, or ``None``.

        A family is an attacker only where the text says a group used it: a
        group word follows the name ("the LockBit gang", "Play ransomware
        operators", "BlackCat affiliates") or a claim comes after it in the
        sentence ("LockBit claimed the attack": ``claimed_after``). Otherwise it
        stays malware on the incident ("the servers were encrypted with LockBit").
        Only ransomware families (or names the text calls ransomware) qualify; the
        attacker is filed under the group that runs the family (see
        :meth:`KnowledgeBase.family_attacker`), under one display name.
        """
        info = self.kb.resolve_malware(surface)
        if info is None or not (info.kind == "ransomware" or info.gang or surface.lower().endswith(" ransomware")):
            return None
        if not (_GROUP_AFTER.match(after[:40]) or claimed_after):
            return None
        bare = _FAMILY_TAIL.sub("", surface)
        return self.kb.family_attacker(info, mention=bare)

    def malware_name(self, m: Mention) -> str:
        info = self.kb.resolve_malware(m.text)
        return info.name if info else m.text

    def sector(self, text: str) -> str | None:
        return self.kb.sector(text)

    def country_name(self, iso2: str) -> str:
        return self.kb.country_name(iso2) or iso2

    def is_country_name(self, text: str, kind: str = "country") -> bool:
        """Whether the text is one place name and nothing else: a country, or with ``kind="city"``
        a city, state or province ("Baltimore", "Ontario")."""
        ms = self.countries(text)
        return len(ms) == 1 and ms[0].kind == kind and ms[0].end - ms[0].start >= len(text.strip()) - 1


# ----------------------------------------------------------------- regexes

# Words after a family name that make it a group: "the LockBit gang", "Play ransomware operators".
_GROUP_AFTER = re.compile(r"(?i)^\W{0,2}\s*(?:ransomware\s+)?(?:gang|group|operators?|crew|affiliates?|cartel|hackers|"
                          r"hacking group|extortion group|actors?)\b")
_FAMILY_TAIL = re.compile(r"(?i)(?:\s+(?:ransomware|gang|group|operators?|operation|crew|affiliates?))+$")

_CVE = re.compile(r"\bCVE-(?:19|20)\d{2}-\d{4,7}\b", re.IGNORECASE)
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9}
# A number starts where no digit precedes it, and the spaces before a scale word are taken
# only with the word: each run of digits or spaces is then tried once (both were rescanned
# from every position, quadratic: 1,000 characters of "0" or " " took 0.1 s).
_NUMBER = r"(?<![\d,.])(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(?P<scale>thousand|million|billion|mn|bn|[kmb]\b))?"
_COUNT = re.compile(
    rf"(?:more than |over |nearly |almost |about |around |up to |at least |some |roughly |approximately )?{_NUMBER}\s+"
    r"(?:(?:of\s+)?(?:its\s+|their\s+|the\s+)?)?(?P<noun>(?:(?!(?:and|or|were|was|from|to|in|on|at|by|with|of|gigabytes?|terabytes?|megabytes?|gb|tb|mb)\b)\w+[- ]|(?:current|former|past) and (?=\w)){0,3}?(?:records|accounts|customers|users|patients|people|individuals|persons|"
    r"employees|members|students|citizens|subscribers|clients|voters|passengers|residents|email addresses|passwords|files|documents))\b",
    re.IGNORECASE)
_MONEY = re.compile(
    rf"(?P<cur>\$|US\$|USD\s?|€|EUR\s?|£|GBP\s?)\s?{_NUMBER}(?:\s*(?P<cur2>dollars|euros|pounds|bitcoins?|BTC))?|"
    rf"{_NUMBER.replace('?P<num>', '?P<num2>').replace('?P<scale>', '?P<scale2>')}\s*(?P<cur3>dollars|euros|pounds|bitcoins?|BTC)",
    re.IGNORECASE)
_USD_RATE = {"$": 1.0, "us$": 1.0, "usd": 1.0, "dollars": 1.0, "€": 1.08, "eur": 1.08, "euros": 1.08,
             "£": 1.27, "gbp": 1.27, "pounds": 1.27}
_MONTH_BEFORE = re.compile(r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+$")
PEOPLE_NOUNS = {"customers", "users", "patients", "people", "individuals", "persons", "employees", "members",
                "students", "citizens", "subscribers", "clients", "voters", "passengers", "residents"}


def _value(num: str, scale: str | None) -> float:
    v = float(num.replace(",", ""))
    return v * _SCALE.get((scale or "").lower(), 1)


def find_cves(text: str) -> list[str]:
    return sorted({m.group(0).upper() for m in _CVE.finditer(text)})


# Files and documents are records affected when they were taken or exposed.
_TAKEN = re.compile(r"(?i)\b(?:stol(?:e|en)|steal\w*|exfiltrat\w+|leak\w*|expos\w+|download\w*|dump\w*|publish\w*|"
                    r"posted|copied|accessed|obtained|breach\w*)\b")


def find_counts(text: str) -> tuple[int | None, int | None]:
    """Records and people affected, the largest figure of each in the text."""
    records = people = None
    for m in _COUNT.finditer(text):
        n = int(_value(m.group("num"), m.group("scale")))
        if n < 2 or _MONTH_BEFORE.search(text[max(0, m.start() - 12):m.start()]):
            continue  # "May 6 ... files" is a date, not a count
        noun = m.group("noun").lower().split()[-1].split("-")[-1]
        if noun in ("files", "documents") and not _TAKEN.search(text):
            continue  # "encrypted 1,400 files": what was locked, not records affected
        if noun in PEOPLE_NOUNS:
            people = max(people or 0, n)
        else:
            records = max(records or 0, n)
    return records, people


def find_money(text: str, near: tuple[str, ...] = ()) -> float | None:
    """A money amount in USD, only when a ransom word is near (30 characters)."""
    low = text.lower()
    best = None
    for m in _MONEY.finditer(text):
        window = low[max(0, m.start() - 60):m.end() + 60]
        if near and not any(w in window for w in near):
            continue
        cur = (m.group("cur") or m.group("cur3") or "").strip().lower()
        rate = _USD_RATE.get(cur)
        if rate is None:
            continue  # bitcoin: no rate without a date; kept in impact facts
        num, scale = (m.group("num"), m.group("scale")) if m.group("num") else (m.group("num2"), m.group("scale2"))
        v = _value(num, scale) * rate
        best = max(best or 0.0, v)
    return best
