"""Phrases that are never the victim, whatever a proposer says: the dateline and people.

* A dateline ("GREENFIELD, Ind. (AP) —", "SPRING HILL, Tenn. (TNS) -") names where the story
  was filed and the agency that filed it; on CASIE dev the encoder marked its place as a victim
  in four articles.
* A place right after a victim ("Hancock Health in Greenfield", "the hospital, in Los Angeles")
  is where the victim is, not a second victim.
* A security vendor, research lab, authority or news agency (``lexicons/not_victims.yaml``)
  reports, researches or investigates; outside the headline it is never the victim.
* A name a lure pretends to come from ("emails posing as the tax agency", "purporting to be from
  Amazon", ``lexicons/impersonation.yaml``) is the brand abused, not the victim.
* A software or cloud platform before a part of an installation ("Amazon Web Services credentials",
  "a Kubernetes console") is what the victim ran, not the victim.
* A date ("Thursday afternoon"), a continent ("South America"), a possessive fragment ("'s Office of
  ...") or a lone lower-case word that names no kind of organisation ("use") is no victim
  (``lexicons/not_organisations.yaml``).
* A demonym alone ("Malaysian") is the remnant of a longer name, not a victim.
* A person named with a title ("Mayor ...", "CEO ...") speaks for the victim; incidents record
  organisations.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from .analyze import FOCUS, FOCUS_HEADS, SentenceFacts, is_attacker_word, not_org_lexicon

DATELINE = re.compile(
    r"^\s*\([A-Za-z .&-]{2,30}\)\s*[-—–:]+\s*|"  # "(AP) —" when the splitter cut after "Ore."
    r"^\s*(?:[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){0,3})(?:,\s*[A-Z][A-Za-z.]*\.?(?:\s+[A-Z][A-Za-z.]*\.?)?)*"
    r"\s*(?:\([A-Za-z .&-]{2,30}\))?\s*[-—–:]+\s*")
LOCATIVE = re.compile(r"^,?\s*(?:in|near|based in|headquartered in)\s+$")
PERSON_TITLE = re.compile(
    r"^(?:mayor|governor|gov\.|president|ceo|cfo|cio|ciso|cto|chief|director|minister|secretary|senator|sen\.|"
    r"rep\.|representative|dr\.?|mr\.?|mrs\.?|ms\.?|professor|prof\.|spokesperson|spokesman|spokeswoman|"
    r"sheriff|commissioner|superintendent|manager|judge|attorney general)\s+[A-Z]", re.IGNORECASE)


def dateline_end(f: SentenceFacts) -> int:
    """Body offset where the sentence's dateline ends (its start when it has none)."""
    m = DATELINE.match(f.sent.text)
    return f.sent.start + (m.end() if m and m.end() < len(f.sent.text) else 0)


_BARE_DATELINE = re.compile(r"[A-Z][A-Z .'’-]+,\s*[A-Z][A-Za-z.]*\.?(?:\s+[A-Z][A-Za-z.]*\.?)?")


def dateline_country(facts: list[SentenceFacts], gaz) -> str | None:
    """The country of the place a story was filed from ("RIVERTON, Wyo. (AP) —", also when the
    splitter cut after the state's abbreviation), or None."""
    for f in facts[:4]:
        text = f.sent.text
        m = DATELINE.match(text)
        part = text[:m.end()] if m else (text if _BARE_DATELINE.fullmatch(text.strip()) else "")
        for c in gaz.countries(part) if part else ():
            return c.key
    return None


def is_descriptor(name: str, gaz) -> bool:
    """"Indiana hospital", "Nordic retailer": no name but a place's (capitals prove nothing there)."""
    rest = name
    for m in sorted(gaz.countries(name), key=lambda m: -m.start):
        rest = rest[:m.start] + rest[m.end:]
    return rest.strip() != "" and not any(w[0].isupper() for w in rest.split())


def merge_appositions(f: SentenceFacts, gaz) -> None:
    """"Nordic retailer Kelto" read as two phrases: a description right before a name is that name."""
    out = []
    for v in sorted(f.victims, key=lambda v: v.start):
        prev = out[-1] if out else None
        if (prev is not None and prev.name != FOCUS and v.name != FOCUS and v.named and not is_descriptor(v.name, gaz)
                and (not prev.named or is_descriptor(prev.name, gaz))
                and f.sent.text[prev.end - f.sent.start:v.start - f.sent.start] in (" ", ", ")):
            v.sector = v.sector or prev.sector
            v.country = v.country or prev.country
            out[-1] = v
            continue
        out.append(v)
    f.victims = out


def drop_non_victims(facts: list[SentenceFacts], gaz=None) -> None:
    _drop_headline_common_nouns(facts)
    _drop_cut_word(facts)
    for f in facts:
        if not f.victims:
            continue
        if gaz is not None:
            merge_appositions(f, gaz)
        cut = dateline_end(f) if f.sent.index <= 2 else f.sent.start
        text, base = f.sent.text, f.sent.start
        f.victims = [v for v in f.victims if not _BASED_AFTER.match(text[max(0, v.end - base):])]
        located = {id(v) for v in f.victims for w in f.victims
                   if w is not v and w.end <= v.start and LOCATIVE.match(text[w.end - base:v.start - base])
                   and len(v.name.split()) <= 2}
        f.victims = [v for v in f.victims if v.start >= cut and not PERSON_TITLE.match(v.name) and id(v) not in located
                     and (f.headline or not is_reporter(v.name)) and not (gaz is not None and _demonym_alone(v.name, gaz))
                     and not is_impersonated(text[:max(0, v.start - base)]) and not names_no_organisation(v)
                     and not speaks_as_researcher(text[max(0, v.end - base):])
                     and not names_platform(v.name, text[max(0, v.end - base):])]


# a description cut mid-word says so with an ellipsis ("... at Westbury Medi…", "[…]"); a text that
# merely ends without a full stop (a headline alone) is not cut
_CUT_END = re.compile(r"\w\s?(?:…|\.\.\.|\[\.\.\.\]|\[…\])\s*$")


def _drop_cut_word(facts: list[SentenceFacts]) -> None:
    """A feed description cut off mid-word ("... on Thu…"): its last word may be a fragment, and
    a candidate ending in it is no name. (The last word before an ellipsis may also be whole: the
    name it ends is then lost here, and is usually named earlier in the item.)"""
    if not facts or facts[-1].headline:
        return
    last = facts[-1]
    text = last.sent.text.rstrip()
    if not _CUT_END.search(text):
        return
    word = re.search(r"\w[\w'’-]*\W*$", text)
    cut = last.sent.start + (word.start() if word else len(text))
    last.victims = [v for v in last.victims if v.end <= cut or v.name == FOCUS]


def _drop_headline_common_nouns(facts: list[SentenceFacts]) -> None:
    """A title-case headline capitalises common nouns ("Group Makes $50 Million ...", "... Hit
    Local Government"): a headline candidate the body writes only in lower case is no name."""
    heads = [f for f in facts if f.headline and f.victims]
    if not heads:
        return
    body = " ".join(f.sent.text for f in facts if not f.headline)
    for f in heads:
        f.victims = [v for v in f.victims if not (
            v.named and v.name != v.name.lower() and v.name not in body
            and re.search(r"\b" + re.escape(v.name.lower()) + r"\b", body))]


# "Greenfield, Indiana-based Hancock Health", "a Riga-based firm": the place a victim is based in
_BASED_AFTER = re.compile(r"^(?:,\s*(?:[A-Z][\w.’']*\s){0,2}[A-Z][\w.’']*)?-based\b")


def speaks_as_researcher(after: str) -> bool:
    """ "IBM's latest X-Force report", "Cisco's threat researchers": the name is the researcher's."""
    return bool(_research_after().match(after))


@lru_cache(maxsize=1)
def _research_after() -> re.Pattern:
    return re.compile(not_org_lexicon()["research_after"], re.IGNORECASE)


def names_platform(name: str, after: str) -> bool:
    """'exposed Amazon Web Services credentials', 'Tesla's Kubernetes console': a software or cloud
    platform before a part of an installation is what ran there, not whose it was."""
    return bool(_platform_part().match(name.strip() + after[:80]))


@lru_cache(maxsize=1)
def _platform_part() -> re.Pattern:
    lex = not_org_lexicon()
    names = "|".join(re.escape(n) for n in sorted(lex["platforms"], key=len, reverse=True))
    parts = "|".join(re.escape(p) for p in sorted(lex["platform_parts"], key=len, reverse=True))
    between = rf"(?:(?-i:[A-Z0-9][\w-]*)|security|management|admin|access|root|web|data|{parts})"
    return re.compile(rf"(?i)^(?:the\s+)?(?:{names})(?:\s+{between}){{0,3}}?\s+(?:{parts})\b")


_WORD = re.compile(r"[\w.'’-]+")


def names_no_organisation(v) -> bool:
    """A date, a continent, a pronoun, the attackers or the attack, a possessive fragment or a stray
    lower-case word (see the module doc)."""
    if v.name == FOCUS or v.is_ref:
        return False
    name = v.name.strip()
    if name[:2] in ("'s", "’s") or name[:1] in ("'", "’"):
        return True
    lex = not_org_lexicon()
    words = [w.lower() for w in _WORD.findall(name)]
    if words and all(w in lex["time"] or w.isdigit() for w in words):
        return True
    if words and (all(w in lex["pronouns"] for w in words) or words[0] in lex["person_possessives"]):
        return True  # "There", "My current address update"
    if len(name) < 2 or (words and (is_attacker_word(words[-1]) or words[0] in lex["attack_words"])):
        return True  # "K" (of "$55K"), "Ransomware crooks", "Ransomware Out"
    if words and all(w in lex["titles"] for w in words) and any(w not in ("the", "a", "an", "its", "their") for w in words):
        return True  # "CFO", "the chief executive": a person
    if name.lower() in lex["regions"] or (len(words) > 1 and words[-1] in lex["product_heads"]):
        return True
    return len(words) == 1 and name == name.lower() and words[0] not in lex["organisation_words"] \
        and words[0] not in FOCUS_HEADS and words[0].rstrip("s") not in FOCUS_HEADS


_LIST_GAP = re.compile(r"^[^;:!?]*[,]|^[^;:!?]*\b(?:and|or)\s+(?:the\s+)?$")
_CLAUSE_WORD = re.compile(r"(?i)\b(?:said|says|was|were|is|are|has|have|had|to|which|that|who|while|but|hit|attacked)\b")


def is_impersonated(before: str) -> bool:
    """Whether the sentence text right before a candidate ends in a lure's "posing as" phrase,
    or in a list that one began ("pretending to be from the agency, the ministry and X")."""
    window = before[-160:]
    cues = list(_impersonation().finditer(window))
    if not cues:
        return False
    gap = window[cues[-1].end():]
    return bool(_JUST_ARTICLE.fullmatch(gap) or (_LIST_GAP.search(gap) and not _CLAUSE_WORD.search(gap)))


_JUST_ARTICLE = re.compile(r"(?i)(?:(?:the|a|an|either|one of the)\s+)?")


@lru_cache(maxsize=1)
def _impersonation() -> re.Pattern:
    """Any cue of ``lexicons/impersonation.yaml`` with the space after it."""
    items = yaml.safe_load(resources.files("incidex.extraction").joinpath("lexicons/impersonation.yaml").read_text("utf-8"))
    return re.compile(r"(?i)(?<![\w-])(?:" + "|".join(f"(?:{p})" for p in items) + r")\s+")


def _demonym_alone(name: str, gaz) -> bool:
    """"Malaysian", "Russian": an adjective left of a name the proposer cut, not a victim."""
    ms = gaz.countries(name)
    return len(ms) == 1 and ms[0].kind == "demonym" and ms[0].end - ms[0].start >= len(name.strip()) - 1


@lru_cache(maxsize=1)
def _not_victims() -> re.Pattern:
    data = yaml.safe_load(resources.files("incidex.extraction").joinpath("lexicons/not_victims.yaml").read_text("utf-8"))
    extra = os.environ.get("INCIDEX_NOT_VICTIMS")
    if extra:
        for k, v in (yaml.safe_load(Path(extra).read_text("utf-8")) or {}).items():
            data.setdefault(k, []).extend(v or [])
    names = sorted({n for v in data.values() for n in v or []}, key=len, reverse=True)
    return re.compile(r"(?i)^(?:the\s+)?(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w-])")


_LIST_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+")


def is_reporter(name: str) -> bool:
    """A security vendor, research lab, authority or news agency (lexicons/not_victims.yaml),
    or a list of three or more names with one among them ("Google, Chainalysis and NYU")."""
    if _not_victims().match(name.strip()):
        return True
    items = [x for x in _LIST_SPLIT.split(name) if x.strip()]
    return len(items) >= 3 and any(_not_victims().match(x.strip()) for x in items)
