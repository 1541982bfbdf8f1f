"""Phrases that are never the victim, whatever a proposer says: the dateline and people.

* A dateline ("GREENFIELD, Ind. (AP) —", "SPRING HILL, Tenn. (TNS) -") names where the story
  was filed and the agency that filed it; on CASIE dev the encoder marked its place as a victim
  in four articles.
* A place right after a victim ("Hancock Health in Greenfield", "the hospital, in Los Angeles")
  is where the victim is, not a second victim.
* A person named with a title ("Mayor ...", "CEO ...") speaks for the victim; incidents record
  organisations.
"""
from __future__ import annotations

import re

from .analyze import SentenceFacts

DATELINE = re.compile(
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


def drop_non_victims(facts: list[SentenceFacts]) -> None:
    for f in facts:
        if not f.victims:
            continue
        cut = dateline_end(f) if f.sent.index <= 2 else f.sent.start
        text, base = f.sent.text, f.sent.start
        located = {id(v) for v in f.victims for w in f.victims
                   if w is not v and w.end <= v.start and LOCATIVE.match(text[w.end - base:v.start - base])
                   and len(v.name.split()) <= 2}
        f.victims = [v for v in f.victims if v.start >= cut and not PERSON_TITLE.match(v.name) and id(v) not in located]
