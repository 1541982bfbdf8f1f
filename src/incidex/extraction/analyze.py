"""Facts of one sentence: triggers, actors, victims, dates, attribution, responses.

Who did what to whom comes from dependency patterns over spaCy's parse of the
sentence (attack verbs and their objects or passive subjects, attack nouns and
their "on/against/at" objects, "X suffered an attack"); names, countries and
sectors come from the knowledge base; cues from ``lexicons/cues.yaml``.
Only sentences with a cue go through the statistical pipeline.
"""
from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field

from spacy.tokens import Doc, Span, Token

from ..records import Actor, Response
from .cues import Cue, CueSet
from .dates import DateMention, find_dates
from .entities import Gazetteer, Mention, find_money, find_counts, find_cves
from .sentences import Sentence
from .persons import is_person, maybe_person
from .syntax import Lemmas, pos as _pos

REPORTING_VERBS = {"say", "report", "announce", "confirm", "attribute", "blame", "accuse", "state", "assess", "tell", "warn", "claim"}

VICTIM_VERBS = {
    "target", "attack", "hit", "breach", "compromise", "hack", "infiltrate", "disrupt", "paralyze",
    "paralyse", "cripple", "strike", "penetrate", "encrypt", "deface", "affect", "infect", "ddos",
    "impact", "steal", "knock", "spy", "victimize", "lock", "shut", "take", "wipe", "extort", "drain", "siphon",
    "break", "gain", "get",
}
# Attack verbs whose active subject is the attacker: those that say what was done to a victim, but
# not those whose subject may be the victim acting or the attack itself ("took its systems offline",
# "shut down", "locked down its network", "the breach affected")
AGENT_VERBS = VICTIM_VERBS - {"take", "shut", "lock", "get", "affect", "impact"} | {"phish", "phishe"}
SUFFER_VERBS = {
    "suffer", "experience", "face", "disclose", "report", "confirm", "detect", "discover", "fall",
    "announce", "notify", "admit", "reveal", "sustain", "endure", "investigate", "acknowledge",
    "say", "stop", "block", "thwart", "repel", "foil", "prevent", "contain", "mitigate", "hit", "target",
}
ATTACK_NOUNS = {
    "attack", "cyberattack", "cyber-attack", "breach", "hack", "intrusion", "incident", "compromise",
    "ransomware", "ddos", "outage", "infection", "campaign", "operation", "cyberattacks", "attacks",
    "defacement", "leak", "theft", "espionage", "phishing", "wiper", "disruption", "attempt", "takeover",
}
VICTIM_PREPS = {"on", "against", "at", "of", "into", "targeting", "affecting", "hitting", "from"}
PRONOUNS = {"it", "they", "we", "its", "their", "our", "itself"}
GENERIC_HEADS = {"system", "network", "server", "computer", "website", "site", "infrastructure", "service", "portal",
                 "database", "account", "datum", "data", "information", "file", "record", "detail", "email", "device",
                 "workstation", "platform", "application", "app", "operation", "production", "environment", "software",
                 "channel", "feed", "page", "handle", "profile",
                 "entity", "victim", "target"}
GENERIC_VICTIMS: set[str] = set()
FOCUS_HEADS = {"company", "firm", "hospital", "city", "bank", "university", "authority", "ministry", "agency",
               "retailer", "maker", "manufacturer", "insurer", "operator", "provider", "council", "school", "college",
               "department", "organization", "organisation", "county", "port", "airline", "airport", "utility",
               "exchange", "lab", "laboratory", "chain", "business", "municipality", "district", "clinic",
               "network", "institute", "center", "centre", "government", "administration", "office", "supplier",
               "developer", "vendor", "platform", "service", "carrier", "insurer", "publisher", "broadcaster",
               "town", "village", "township", "borough"}
ATTACKER_HEAD_WORDS = {"hacker", "attacker", "actor", "criminal", "cybercriminal", "gang", "operator", "hacktivist",
                       "intruder", "operative", "spy", "apt", "affiliate", "crew", "extortionist", "adversary",
                       "crook", "scammer", "fraudster", "phisher", "thief", "spammer"}
_ATTACKER_HEAD = re.compile(r"(?:.*\s)?(?:hackers?|hacker groups?|hacking groups?|threat actors?|attackers?|cyber ?criminals?|gangs?|operatives|hacktivists?|intruders|crews?|(?:cyber-?)?espionage groups?|threat groups?|ransomware groups?|apt groups?|hacktivist groups?|extortion groups?|operators|(?:hacking|cyber|military|intelligence) units?)(?:\s+\S+)?")
AUTHORITY_NAME = re.compile(r"(?i)^(?:the\s+)?(?:fbi|cisa|nsa|ncsc|europol|interpol|researchers?|investigators?|officials?|authorities|mandiant|crowdstrike|microsoft threat intelligence|security researchers?)\b|\b(?:field office|security firm|cybersecurity (?:firm|company|agency|authority)|security researchers?|threat intelligence|cyber ?security (?:centre|center)|cyber (?:agency|directorate|command|centre|center|defen[cs]e)|directorate|cert\b|csirt|security service|intelligence\b|security agency|\bsi-cert|national cyber)")
DETERMINERS = {"a", "an", "the", "this", "that", "these", "those", "its", "their", "his", "her", "our",
               "some", "several", "many", "two", "three", "four", "five", "other", "another", "both",
               "one", "all", "few", "multiple", "numerous", "various", "major", "large", "big",
               "unnamed", "unidentified", "undisclosed", "certain", "more", "than", "at", "least", "over",
               "about", "around", "nearly", "almost", "some"}
_NEGATION = re.compile(r"(?:n't|\b(?:not|no|never|neither|nor|without|yet to))\b", re.IGNORECASE)


@dataclass
class VictimCandidate:
    name: str
    start: int  # body offsets of the name
    end: int
    head: str
    country: str | None = None
    sector: str | None = None
    named: bool = True
    is_state: bool = False
    org_evidence: bool = False  # an appositive or modifier says it is an organisation
    source: str = "rules"  # which proposer found it: "rules", "encoder" or "rules+encoder"
    is_ref: bool = False  # "the company", "it": resolved to the organisation the lead is about
    score: float | None = None  # the victim scorer's probability (victim_scorer.py), when it ran
    ref_head: str | None = None  # a reference's noun ("the town" -> "town"): the kind of organisation meant


@dataclass
class SentenceFacts:
    sent: Sentence
    triggers: list[Cue] = field(default_factory=list)
    types: set[str] = field(default_factory=set)
    anaphoric: bool = False
    new_incident: bool = False
    generic: bool = False
    dates: list[DateMention] = field(default_factory=list)
    actors: list[tuple[Actor, int, int]] = field(default_factory=list)
    victims: list[VictimCandidate] = field(default_factory=list)
    countries: list[Mention] = field(default_factory=list)
    attribution: list[tuple[str, list[str]]] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    attempted: bool = False
    successful: bool = False
    strong_success: bool = False
    impact: dict = field(default_factory=dict)
    impact_fact: str | None = None
    techniques: set[str] = field(default_factory=set)
    malware: list[Mention] = field(default_factory=list)
    cves: list[str] = field(default_factory=list)
    reporters: list[str] = field(default_factory=list)
    pred: object | None = None  # the incident encoder's reading (incidex.extraction.learned), when it ran
    vetoed: bool = False  # a cue phrase the encoder read as no actual attack
    learned_trigger: bool = False  # an attack the encoder found without a cue phrase
    headline: bool = False  # the article's headline, read as the first sentence (headline.py)

    @property
    def has_trigger(self) -> bool:
        return bool(self.triggers)

    @property
    def is_candidate(self) -> bool:
        return bool(self.triggers or self.responses or self.attribution or self.actors)


def cheap_facts(sent: Sentence, cues: CueSet, gaz: Gazetteer) -> SentenceFacts:
    """Facts found without the parser: cues, dates, gazetteer mentions, numbers."""
    t = sent.text
    f = SentenceFacts(sent)
    non_cyber = list(cues.find("non_cyber_context", t))
    for c in cues.find("attack_triggers", t):
        if (any(n.start <= c.start < n.end for n in non_cyber) or _NOT_TRIGGER.search(t[max(0, c.start - 30):c.start])
                or _negated(t, c.start)):
            continue
        f.triggers.append(c)
    # Specific triggers win over the generic ones they overlap ("ransomware attack");
    # a way in ("through a phishing email") is a technique, not the attack's type.
    specific = [c for c in f.triggers if c.label != "other"
                and not (c.label == "phishing" and _VECTOR_BEFORE.search(t[max(0, c.start - 40):c.start]))]
    f.types = {c.label for c in specific} or ({"other"} if f.triggers else set())
    f.anaphoric = cues.any("anaphora", t)
    f.new_incident = cues.any("new_incident", t)
    f.generic = cues.any("generic", t)
    f.dates = find_dates(t)
    mentions = gaz.scan(t)
    for m in mentions:
        if m.kind == "actor":
            actor = gaz.actor(m)
            if actor is not None:
                f.actors.append((actor, sent.start + m.start, sent.start + m.end))
    f.countries = [m for m in mentions if m.kind in ("country", "demonym", "city")]
    f.malware = [m for m in mentions if m.kind == "malware"]
    _gang_actors(f, t, mentions, gaz, cues)
    # "the LockBit ransomware gang" names an actor; its "ransomware" opens no incident
    spans = [(s - sent.start, e - sent.start) for _, s, e in f.actors]
    named = [c for c in f.triggers
             if any(a <= c.start <= b + 2 for a, b in spans)
             and re.match(r"(?i)^\s*(?:gang|group|operators?|operation|crew|affiliates?|hackers|cartel)\b", t[c.end:c.end + 20])]
    if named and len(named) < len(f.triggers):
        f.triggers = [c for c in f.triggers if c not in named]
    elif named:
        f.types |= {c.label for c in named if c.label != "other"}
        f.triggers = []
    f.cves = find_cves(t)
    for status, c in ((c.label, c) for c in cues.find("attribution", t)):
        if _negated(t, c.start):
            continue
        if status in ("suspected", "attributed") and _ACTOR_DESCRIPTION.search(t[max(0, c.start - 70):c.start]):
            continue  # "X, which officials have linked to Iran": about the actor, not this incident
        f.attribution.append((status, []))
    att = [c for c in cues.find("attempted", t) if not _negated(t, c.start)]
    f.attempted = bool(att)
    succ = [c for c in cues.find("successful", t) if not _negated(t, c.start)]
    f.successful = bool(succ)
    f.strong_success = any(re.match(r"(?i)stol|exfil|leak|encrypt|wiped", c.text) for c in succ)
    for c in cues.find("techniques", t):
        if not _negated(t, c.start):
            f.techniques.add(c.label)
    for c in cues.find("impact", t):
        if not _negated(t, c.start):
            f.impact[c.label] = True
    records, people = find_counts(t)
    if records:
        f.impact["records_affected"] = records
    if people:
        f.impact["people_affected"] = people
    ransom = find_money(t, near=("ransom", "extort", "demand", "pay"))
    if ransom:
        f.impact["ransom_usd"] = ransom
    if f.impact:
        f.impact_fact = t if len(t) <= 240 else t[:237] + "..."
    f.responses = _responses(t, cues, gaz, f.countries)
    return f


# Name words are bounded (40 characters): in one long token ("CVE-CVE-CVE-...") each word
# start used to rescan the token to its end, quadratic in the token.
_NAMED_GANG = re.compile(r"\b(?!(?:The|A|An|This|That)\b)([A-Z][\w.()-]{2,40}(?:\s[A-Z][\w.()-]{1,40})?)\s+(?:ransomware\s+)?(?:gang|group|operators|crew|hackers|hacking group|hacker group|extortion group)\b")


def _gang_actors(f: SentenceFacts, t: str, mentions, gaz: Gazetteer, cues: CueSet) -> None:
    """Ransomware families act as gangs ('the LockBit gang claimed ...'), and names
    too ambiguous to match alone ('Play', 'Akira') count when a gang word follows."""
    claim = next((c for c in cues.find("attribution", t) if c.label == "claimed"), None)
    taken = [(s - f.sent.start, e - f.sent.start) for _, s, e in f.actors]
    for m in list(f.malware):
        actor = gaz.family_attacker(m.text, t[m.end:m.end + 40], claim is not None and m.end <= claim.start)
        if actor is not None:
            f.actors.append((actor, f.sent.start + m.start, f.sent.start + m.end))
            taken.append((m.start, m.end))
    for g in _NAMED_GANG.finditer(t):
        s0, e0 = g.start(1), g.end(1)
        if any(a < e0 and s0 < b for a, b in taken):
            continue
        surface = g.group(1)
        actor = gaz.actor_named(surface)
        if actor is None:
            mal = gaz.kb.resolve_malware(surface)
            if mal is None or getattr(mal, "kind", None) != "ransomware":
                continue
            actor = gaz.kb.family_attacker(mal, mention=surface)
        f.actors.append((actor, f.sent.start + s0, f.sent.start + e0))
        taken.append((s0, e0))
    for c in cues.find("self_named", t):
        m = _SELF_NAME.match(t, c.end)
        if m is None or any(a < m.end(1) and m.start(1) < b for a, b in taken):
            continue
        surface = m.group(1)
        if not (m.group(0).rstrip()[-1:] in "\"”'’" or any(ch.isupper() or ch.isdigit() for ch in surface)):
            continue  # "a hacker known as the leader": no name
        actor = gaz.actor_named(surface) or Actor(name=surface, mention=surface, kind="individual" if re.search(
            r"(?i)^(?:hacker|attacker|individual|person|user)\b", c.text) else "group")
        f.actors.append((actor, f.sent.start + m.start(1), f.sent.start + m.end(1)))
        taken.append((m.start(1), m.end(1)))


# the name after a self-naming cue: quoted, or one or two words in capitals or with digits
_SELF_NAME = re.compile(r"\s*[\"“'‘]?((?!(?i:the|a|an|its|his|her|their)\b)[\w@][\w.@-]{1,30}(?:\s(?-i:[A-Z])[\w.-]+){0,2})[\"”'’]?")


_NOT_TRIGGER = re.compile(r"(?i)(?:\bnot (?:a |an )?|no (?:evidence|sign|indication)s? (?:of |that )?(?:a |an )?|rather than (?:a |an )?|unlike (?:\w+ ){0,2}|instead of (?:a |an )?)$")
_VECTOR_BEFORE = re.compile(r"(?i)\b(?:through|via|using|with|by means of|by sending|in)\s+(?:a |an |the )?(?:\w+\s+){0,2}$")


_ACTOR_DESCRIPTION = re.compile(r"(?i),\s+(?:which|who|whom|a (?:\w+\s+){0,3}(?:group|unit|gang|actor|crew) (?:that|which|whom))\b[^,]*$")


def _negated(text: str, pos: int) -> bool:
    """'no data was taken', 'they do not believe any customer information was stolen'."""
    window = text[max(0, pos - 25):pos]
    return bool(_NEGATION.search(window) or _NEGATED_ANY.search(text[max(0, pos - 90):pos]))


_NEGATED_ANY = re.compile(r"(?:n't|\b(?:not|no|never))\b[^.;,]{0,40}\bany\b[^.;,]{0,40}$", re.IGNORECASE)


_SHUTDOWN_CONTEXT = re.compile(r"(?i)prompt|forc|author|precaution|in response|response|government|officials|decided")
# "shut down its computer systems", "took their websites offline": a victim taking systems offline
_OWN_SYSTEMS = re.compile(r"(?i)\b(?:its|their|the|all|some|\d[\d,]*)\s+(?:\w+\s+){0,3}(?:systems?|computers?|networks?|"
                          r"servers?|sites?|websites?|operations|services|workstations|machines)\b|"
                          # "infected servers have been taken offline": the passive says the same
                          r"\b(?:systems|computers|networks|servers|sites|websites|services|workstations|machines)\s+"
                          r"(?:have |has |had |were |was )?(?:been )?(?:taken|shut|pulled|knocked|disconnected)\b")
_LAW_ENFORCEMENT = re.compile(r"(?i)\b(?:police|fbi|europol|interpol|authorities|law enforcement|seiz|arrest|prosecutors?|"
                              r"department of justice|doj|justice department|investigators|operation)\b")


def _responses(text: str, cues: CueSet, gaz: Gazetteer, countries: list[Mention]) -> list[Response]:
    out: list[Response] = []
    for c in cues.find("responses", text):
        if _negated(text, c.start):
            continue
        label = c.label
        if label == "takedown" and re.match(r"(?i)t[a-z]+ down", c.text) and not _LAW_ENFORCEMENT.search(text):
            label = "shutdown"  # "the city took down its website": the victim's own response
        if label == "shutdown" and not (_SHUTDOWN_CONTEXT.search(text) or _OWN_SYSTEMS.search(text)):
            continue
        clause_start = max(text.rfind(",", 0, c.start), text.rfind(";", 0, c.start), text.rfind(" while ", 0, c.start), -1) + 1
        before = [m for m in countries if clause_start <= m.start < c.start]
        after = [m for m in countries if m.start >= c.end]
        by = before[-1].key if before else None
        against = after[0].key if after else None
        if by is None and re.search(r"(?i)\bauthorities\b|\bgovernment\b|\bofficials\b", text[clause_start:c.start]):
            by = "authorities"
        if against == by:
            against = None
        if any(r.kind == label for r in out):
            continue
        out.append(Response(kind=label, by=by, against=against, mention=c.text))
    return out


# ----------------------------------------------------------------- parsed facts

def parsed_facts(f: SentenceFacts, doc: Doc, cues: CueSet, gaz: Gazetteer) -> None:
    """Add victims, attacker states and attribution sources from the parse."""
    base = f.sent.start
    actor_spans = [(s - base, e - base) for _, s, e in f.actors] + [(m.start, m.end) for m in f.malware]
    seen: set[tuple[int, int]] = set()
    for tok in doc:
        heads: list[Token] = []
        lemma = _lemma(tok)
        if _pos(tok) in ("VERB", "AUX") and lemma in VICTIM_VERBS and _is_trigger_token(tok, f):
            passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in tok.children)
            if tok.dep_ == "amod" and _pos(tok.head) in ("NOUN", "PROPN") and tok.head.i > tok.i:
                if tok.tag_ != "VBG":  # "hacking claims", "hacking tools" are no victims
                    heads.append(tok.head)  # "targeted computer systems": the small model's amod reading
            elif passive:
                heads += [c for c in tok.children if c.dep_ == "nsubjpass"]
                # "three hospitals were hit, including X and Y": the parser hangs the list on the verb
                heads += [p for c in tok.children if c.dep_ == "prep" and c.lower_ == "including"
                          for p in c.children if p.dep_ == "pobj"]
            elif (tok.dep_ == "acl" and _pos(tok.head) in ("NOUN", "PROPN") and tok.head.i < tok.i
                  and (tok.tag_ == "VBN" or any(c.dep_ == "agent" for c in tok.children))):
                heads.append(tok.head)  # the headline's reduced passive: "Town X defaced by Y", "Hospital hit by ..."
            else:
                heads += [c for c in tok.children if c.dep_ in ("dobj", "obj")]
                stealing = lemma in ("steal", "take", "drain", "siphon", "exfiltrate")
                preps = ("into", "on", "from", "at") if stealing else ("into", "on", "at")
                heads += [p for c in tok.children if c.dep_ == "prep" and c.lower_ in preps for p in c.children if p.dep_ == "pobj"]
                if stealing:  # "stole 300 gigabytes of data from X": the parser hangs "from" on the data
                    heads += [p for d in tok.children if d.dep_ in ("dobj", "obj") for c in d.subtree
                              if c.dep_ == "prep" and c.lower_ == "from" for p in c.children if p.dep_ == "pobj"]
        elif _pos(tok) in ("NOUN", "PROPN") and lemma in ATTACK_NOUNS and _is_trigger_token(tok, f):
            for c in tok.children:
                if c.dep_ == "prep" and c.lower_ in VICTIM_PREPS:
                    heads += [p for p in c.children if p.dep_ == "pobj"]
                elif c.dep_ == "poss" or (c.dep_ in ("compound", "nmod") and (c.ent_type_ in ("ORG", "GPE", "FAC") or _pos(c) == "PROPN")):
                    heads.append(c)  # "the Equifax breach"; a family named so is an actor span, dropped below
                elif c.dep_ == "compound" and _lemma(c) in ATTACK_NOUNS | {"data", "cyber", "security"}:
                    # "the CDOT ransomware attack": the name modifies the modifier
                    heads += [g for g in c.children if g.dep_ in ("compound", "nmod") and _pos(g) == "PROPN"]
                elif c.dep_ == "acl" and _lemma(c) in ("target", "affect", "hit"):
                    heads += [p for p in c.children if p.dep_ in ("dobj", "obj")]
            head = tok.head
            if tok.dep_ == "nsubj" and _pos(head) == "VERB":
                # "an attack crippled its systems", "a ransomware attack encrypted the servers"
                heads += [c for c in head.children if c.dep_ in ("dobj", "obj")]
            if tok.dep_ in ("dobj", "pobj") and _pos(head) == "VERB":
                # "attributed an intrusion into the email system of X to Y", "the theft of $41m from X"
                preps = ("into", "on", "against", "from") if lemma in ("theft", "heist") else ("into", "on", "against")
                heads += [p for c in head.children if c.dep_ == "prep" and c.lower_ in preps
                          for p in c.children if p.dep_ == "pobj"]
            if tok.dep_ in ("dobj", "obj", "attr") and _lemma(head) in SUFFER_VERBS:
                heads += [c for c in head.children if c.dep_ in ("nsubj",)]
            elif tok.dep_ == "pobj" and head.lower_ in ("by", "in") and _lemma(head.head) in VICTIM_VERBS | {"affect", "hit", "catch"}:
                verb = head.head
                heads += [c for c in verb.children if c.dep_ == "nsubjpass"]
                if verb.dep_ == "acl" and verb.tag_ == "VBN" and _pos(verb.head) in ("NOUN", "PROPN"):
                    heads.append(verb.head)  # "providers caught by the breach include ...", "firms hit in the attack"
            elif tok.dep_ == "pobj" and head.lower_ in ("of", "to") and _lemma(head.head) in ("victim", "target"):
                verb = head.head.head
                heads += [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
        if tok.lower_ in OUTAGE_WORDS and _is_trigger_token(tok, f) and tok.dep_ in ("acomp", "advmod", "prt", "oprd", "xcomp", "attr"):
            # "the websites of X were unreachable", "made X's portal unavailable"
            verb = tok.head
            heads += [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass", "dobj")]
        elif tok.lower_ in OUTAGE_WORDS and _is_trigger_token(tok, f) and tok.dep_ == "amod":
            heads.append(tok.head)  # "made several government websites unreachable" (amod reading)
        classes = {x.i: h for h in heads for x in _exemplars(h)}  # member -> the class it exemplifies
        heads += [doc[i] for i in classes]
        for h in heads:
            for v in _expand_conj(h) + _later_conjuncts(h):
                cand = _victim_from_token(v, doc, base, cues, gaz, actor_spans, national_class=f.headline)
                if cand and h.i in classes and cand.sector is None:
                    cand.sector = gaz.sector(_np_span(classes[h.i], doc).text)  # "telecom providers ... include X"
                if cand and (cand.start, cand.end) not in seen:
                    seen.add((cand.start, cand.end))
                    f.victims.append(cand)
    if (f.triggers and not f.generic and not any(v.name != FOCUS for v in f.victims)
            and (f.sent.index < 3 or _AFTER_ATTACK.search(f.sent.text))
            and not _ATTRIBUTING_VERB.search(f.sent.text)  # that subject attributes, it was not hit
            and all(r.kind == "shutdown" for r in f.responses)):  # nor does one that imposes sanctions
        # (one that takes its own systems offline is the victim: "X takes websites offline after hack")
        cand = root_subject(doc, base, cues, gaz, actor_spans) or (headline_subject(doc, base, cues, gaz, actor_spans)
                                                                  if f.headline or f.sent.index == 0 else None)
        if cand and (cand.start, cand.end) not in seen:
            f.victims = [v for v in f.victims if v.name != FOCUS] + [cand] if cand.name != FOCUS else f.victims + [cand]
    f.victims = [v for v in f.victims if not (v.named and not v.org_evidence and maybe_person(v.name)
                                             and is_person(f.sent.text, v.start - base, v.end - base))]
    _state_actors(f, doc, cues, gaz)
    _attribution_sources(f, doc, gaz)
    # a victim named as its own attacker is a parsing slip ("Dutch intelligence attributed ...")


def _is_trigger_token(tok: Token, f: SentenceFacts) -> bool:
    i = tok.idx
    return any(c.start <= i < c.end for c in f.triggers)


def _expand_conj(tok: Token) -> list[Token]:
    out = [tok]
    stack = [tok]
    while stack:
        t = stack.pop()
        joined = _ampersand_part(t)
        for c in t.children:
            if c.dep_ == "conj" and c is joined:
                stack.append(c)  # "Marks & Spencer": one name; what is joined to it is still conjoined
            elif c.dep_ == "conj":
                out.append(c)
                stack.append(c)
            elif c.dep_ == "prep" and c.lower_ == "as" and _pos(t) in ("NOUN", "PROPN"):
                # "X, as well as Y": spaCy hangs Y under "as"
                for g in c.subtree:
                    if g.dep_ in ("pobj", "conj") and _pos(g) in ("NOUN", "PROPN") and g.head != t:
                        out.append(g)
    return out


def _exemplars(h: Token) -> list[Token]:
    """'organisations such as X, Y and Z', 'several hospitals, including X', 'providers caught by the
    breach include X, Y': a class of victims named by its members (the class alone is no victim)."""
    out = [p for c in h.children if c.dep_ == "prep" and (
        c.lower_ == "including" or (c.lower_ == "as" and any(g.lower_ == "such" for g in c.children)))
        for p in c.children if p.dep_ == "pobj"]
    if h.dep_ == "nsubj" and _lemma(h.head) == "include":
        objs = [c for c in h.head.children if c.dep_ in ("dobj", "obj")]
        out += objs or _listed_names(h.head)
    return out


def _listed_names(tok: Token) -> list[Token]:
    """The last word of each name in the list right after ``tok`` ("include Altel, Celcom and XoX"),
    read from the words when the parser hung the list elsewhere."""
    out: list[Token] = []
    run: Token | None = None
    for t in tok.doc[tok.i + 1:]:
        if _pos(t) == "PROPN" or (t.is_title and t.lower_ not in DETERMINERS) or (run is not None and t.lower_ in ("of", "&")):
            run = t
        elif t.lower_ in (",", "and", "or", "the") and not (t.lower_ == "the" and run is not None):
            if run is not None:
                out.append(run)
            run = None
        else:
            break
    if run is not None:
        out.append(run)
    return out


def _later_conjuncts(h: Token) -> list[Token]:
    """'the attack on X, as well as Y and Z': the parser often hangs Y on an ancestor of X."""
    ancestors = set(a.i for a in h.ancestors)
    out = []
    for t in h.doc[h.i + 1:]:
        if t.dep_ == "conj" and t.head.i in ancestors and _pos(t) in ("NOUN", "PROPN"):
            out += _expand_conj(t)
    return out


def _national(words, gaz: Gazetteer) -> bool:
    """A word of them is a country's adjective ("Danish", "Norwegian"), the whole word."""
    return any(_pos(w) in ("ADJ", "PROPN") and any(m.start == 0 and m.end == len(w.text) for m in gaz.countries(w.text))
               for w in words)


def _ampersand_part(tok: Token) -> Token | None:
    """'Spencer' of 'Marks & Spencer', 'Gamble' of 'Procter & Gamble': the parser reads the
    ampersand of a name as a conjunction; the name after it is part of the same name."""
    if _pos(tok) != "PROPN":
        return None
    amp = next((c for c in tok.rights if c.dep_ == "cc" and c.text == "&"), None)
    if amp is None:
        return None
    return next((c for c in tok.rights if c.dep_ == "conj" and c.i == amp.i + 1 and _pos(c) == "PROPN"), None)


# "Kansas City-based", "Iran-linked": what follows the hyphen describes, it is no part of a name
_HYPHEN_MODIFIERS = {"based", "linked", "owned", "run", "backed", "headquartered", "born", "sponsored", "affiliated",
                     "aligned", "operated", "led", "funded", "controlled", "focused", "area", "wide"}


def _np_span(tok: Token, doc: Doc) -> Span:
    """The noun phrase a head token stands for: its modifiers, possessor and compounds."""
    left = tok.i
    for c in tok.lefts:
        if c.dep_ in ("amod", "compound", "poss", "nmod", "det", "nummod", "quantmod", "case", "punct") and c.i < left:
            left = min(left, c.left_edge.i) if c.dep_ in ("poss", "compound", "nmod") else min(left, c.i)
    right = tok.i
    for c in tok.rights:
        if c.dep_ in ("compound",) or (c.dep_ == "case"):
            right = max(right, c.i)
        elif c.dep_ == "prep" and c.lower_ == "of" and (_pos(tok) == "PROPN" or _lemma(tok) in FOCUS_HEADS) and c.i == right + 1:
            # "Ministry of Energy and Infrastructure", "City of Brookhaven Falls"
            objs = [p for p in c.children if p.dep_ == "pobj" and _pos(p) == "PROPN"]
            if objs:
                right = max(right, max(t.i for t in objs[0].subtree if _pos(t) in ("PROPN", "CCONJ") or t.dep_ in ("conj", "compound", "cc")))
    joined = _ampersand_part(tok)
    if joined is not None and joined.i > right:
        right = joined.i
    while (right + 2 < len(doc) and not doc[right].whitespace_ and doc[right + 1].text in ("-", "–")
           and not doc[right + 1].whitespace_ and doc[right + 2].is_alpha and doc[right + 2].lower_ not in _HYPHEN_MODIFIERS):
        right += 2  # "Co-op", "Rolls-Royce": the parser cuts the name at its hyphen
    return doc[left:right + 1]


PEOPLE_OF = {"customer", "user", "patient", "client", "subscriber", "passenger", "member", "student",
             "policyholder", "accountholder", "shopper", "guest", "traveler", "traveller"}
FIXING_VERBS = {"patch", "fix", "release", "issue", "publish", "disclose", "discover", "uncover", "find", "detail",
                "warn", "urge", "advise", "update", "analyze", "analyse", "track", "spot", "detect", "observe", "expose"}
FIXING_WORDS = FIXING_VERBS | {"warning", "advisory", "report", "research", "study"}  # the nouns of such news
SUB_UNITS = {"department", "unit", "division", "branch", "office", "facility", "plant", "campus", "subsidiary",
             "site", "clinic", "hospital", "location", "store", "factory", "warehouse", "terminal"}
# "X was forced offline after an attack ...": the subject was hit, wherever the sentence stands
_AFTER_ATTACK = re.compile(r"(?i)\b(?:after|following|amid|due to)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}(?:cyber-?)?attack\b")
_ATTRIBUTING_VERB = re.compile(r"(?i)\b(?:attribut\w*|blam\w*|accus\w*|pinned|linked|tied)\b")
OUTAGE_WORDS = {"unreachable", "inaccessible", "unavailable", "offline", "down"}
ROLE_HEADS = {"spokesperson", "spokesman", "spokeswoman", "official", "executive", "employee", "staff", "researcher",
              "analyst", "expert", "director", "manager", "officer", "minister", "mayor", "president", "chief", "ceo",
              "representative", "lawyer", "attorney", "reporter", "journalist", "editor", "customer", "user", "member"}
DATE_WORD = re.compile(r"(?i)^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|today|yesterday|weekend|week|month|year)s?$")
FOCUS = "@focus"  # placeholder name: the organisation the article is about


def _victim_from_token(tok: Token, doc: Doc, base: int, cues: CueSet, gaz: Gazetteer,
                       actor_spans: list[tuple[int, int]], depth: int = 0,
                       national_class: bool = False) -> VictimCandidate | None:
    """The victim a head token names, or None. ``national_class``: a bare plural with its
    country's adjective is a victim too ("DDoS attacks on Danish ministries"): asked for headlines,
    whose victims are often told so; in a story's body such a plural is more often a class beside
    the names ("targeted American defense contractors, energy companies ...")."""
    if depth > 4:
        return None
    if AUTHORITY_NAME.search(_np_span(tok, doc).text):
        return None  # the FBI, the SBU, researchers: who speaks, not who was hit
    if tok.lower_ in PRONOUNS:
        ante = _antecedent(tok, doc, actor_spans)
        if ante is None:
            return _focus_ref(tok, base)
        tok = ante
    if _pos(tok) not in ("NOUN", "PROPN"):
        return None
    # "computer systems used by the national police": the owner is the victim
    if _lemma(tok) in GENERIC_HEADS or tok.lower_ in GENERIC_HEADS:
        owner = _owner(tok)
        if owner is not None:
            return _victim_from_token(owner, doc, base, cues, gaz, actor_spans, depth + 1)
        if any(c.lower_ == "same" for c in tok.lefts):
            return _focus_ref(tok, base)  # "the same site": the one the article is about
        return _modifier_owner(tok, doc, base, gaz)
    if _lemma(tok) in PEOPLE_OF and _pos(tok) == "NOUN":
        # "data of 5.7 million Qantas customers", "patients of X": the organisation they belong to
        owner = _owner(tok)
        if owner is not None:
            return _victim_from_token(owner, doc, base, cues, gaz, actor_spans, depth + 1)
        found = _modifier_owner(tok, doc, base, gaz)
        if found is not None:
            return found
    if _lemma(tok) in SUB_UNITS and _pos(tok) == "NOUN":
        # "the health network's two emergency departments": the owner is the victim
        poss = next((c for c in tok.children if c.dep_ == "poss"), None)
        if poss is not None:
            return _victim_from_token(poss, doc, base, cues, gaz, actor_spans, depth + 1)
    span = _np_span(tok, doc)
    words = list(span)
    while words and (words[0].lower_ in DETERMINERS or words[0].like_num or words[0].is_punct):
        words = words[1:]
    while words and words[-1].is_punct:
        words = words[:-1]
    if not words:
        return None
    if _pos(words[-1]) == "NOUN" and words[-1].i == tok.i:
        # "breach of Italian manufacturer Fornelli": the small parser hangs the name elsewhere
        k = tok.i + 1
        while k < len(doc) and doc[k].tag_ in ("NNP", "NNPS") and (
                doc[k].dep_ in ("appos", "compound", "npadvmod", "dep") or _lemma(tok) in gaz.org_heads):
            words.append(doc[k])
            k += 1
    # "Riga-based shipping company Baltic Freight Lines": the proper name is the name
    propn_tail = []
    for w in reversed(words):
        if (_pos(w) == "PROPN" or (w.is_title and w.i > 0)
                or (propn_tail and w.lower_ in ("&", "of", "and", "'s", "’s") and w.i > words[0].i)):
            propn_tail.insert(0, w)
        else:
            break
    while propn_tail and propn_tail[0].lower_ in ("&", "of", "and"):
        propn_tail = propn_tail[1:]
    lowered = [w for w in words[:len(words) - len(propn_tail)] if not w.is_title and not w.is_punct
               and w.lower_ not in DETERMINERS and w.lower_ not in ("of", "the", "and", "&")]
    if propn_tail and len(propn_tail) < len(words) and lowered and not gaz.countries(propn_tail[0].text):
        words = propn_tail  # "Riga-based shipping company Baltic Freight Lines", "exchange Zentrix"
    start, end = words[0].idx, words[-1].idx + len(words[-1].text)
    name = doc.text[start:end]
    if any(s <= start < e or s < end <= e for s, e in actor_spans):
        return None
    low = name.lower()
    if _ATTACKER_HEAD.fullmatch(low) or _lemma(words[-1]) in ATTACKER_HEAD_WORDS:
        return None
    if low in set(cues.words("generic_victims")) or (_lemma(words[-1]) in GENERIC_HEADS and len(words) == 1) or _lemma(words[-1]) in ("sector", "industry"):
        return None
    if (tok.tag_ == "NNS" and not any(_pos(w) == "PROPN" for w in words)
            and not (span[0].like_num or span[0].lower_ in ("the", "two", "three", "several", "both", "its", "their", "these", "those"))
            and not (national_class and _national(words[:-1], gaz)
                     and (_lemma(tok) in gaz.org_heads or gaz.sector(tok.text)))):
        return None  # a bare plural is a class ("telecom operators"), not a victim
    if _lemma(tok) in ROLE_HEADS:
        # "a Hollis spokesperson", "Atlanta officials": people speaking for the organisation they name
        found = _modifier_owner(tok, doc, base, gaz) or _place_government(tok, doc, base, gaz)
        return found if found is not None and found.named and not AUTHORITY_NAME.search(found.name) else None
    named = any(_pos(w) == "PROPN" or (w.is_title and w.lower_ not in DETERMINERS and (w.i > 0 or any(c.dep_ == "appos" for c in w.children)))
                for w in words)
    if not named and span[0].lower_ in ("the", "its", "their") and _lemma(words[-1]) in FOCUS_HEADS and len(words) <= 2:
        return _focus_ref(tok, base, start, end, doc)  # "the company", "the hospital"
    if AUTHORITY_NAME.search(name):
        return None  # the FBI, researchers: who speaks, not who was hit
    is_state = False
    country = None
    for m in gaz.countries(name):
        country = m.key
        break
    if country is None:
        for c in tok.subtree:
            if c.dep_ == "pobj" and c.head.lower_ in ("in", "of", "from") and c.i > tok.i:
                for m in gaz.countries(doc[c.left_edge.i:c.right_edge.i + 1].text):
                    country = m.key
                    break
                if country is None and c.lower_ in ("country", "nation"):
                    country = "@context"
    sector = _sector(name, gaz) or _described_sector(tok, doc, span, gaz)
    if is_state or (country and gaz.is_country_name(name)):
        is_state = True
        sector = sector or "government"
    if not named and sector is None and not is_state:
        head = _lemma(words[-1])
        if head not in gaz.org_heads:
            return None
    if name.endswith(("'s", "’s")):
        name, end = name[:-2], end - 2
    if _lemma(tok) in ATTACK_NOUNS or DATE_WORD.match(name.rstrip(".")):
        return None
    if not named and len(words) == 1 and (gaz.sector(name) or low in ("sector", "industry")):
        return None  # "healthcare": a sector, not an organisation
    org_evidence = bool(sector) or any(
        (c.dep_ == "appos" and (_lemma(c) in gaz.org_heads or _lemma(c) in FOCUS_HEADS)) or c.lower_.endswith("-based")
        for c in tok.children) or any(w.lower_ in ("based",) for w in tok.lefts)
    return VictimCandidate(name=name, start=base + start, end=base + end, head=_lemma(tok),
                           country=country, sector=sector, named=named or is_state, is_state=is_state,
                           org_evidence=org_evidence)


_HEAD_OF = re.compile(r"(?i)^(?:the\s+)?(?:[\w'-]+\s+)?(?:ministry|city|town|county|council|municipality|government|parliament)\s+of\b")


def _sector(name: str, gaz: Gazetteer) -> str | None:
    """The head decides in 'Ministry of the Interior' (government, not law enforcement)."""
    m = _HEAD_OF.match(name)
    if m:
        return gaz.sector(m.group(0)[:-3].strip()) or "government"
    return gaz.sector(name)


def ref_sector(noun: str, gaz: Gazetteer) -> str | None:
    """The sector a reference's noun gives the organisation it points to ("the hospital"), a
    place's noun its local government ("the town", ``sectors.yaml`` place_nouns)."""
    return "government" if noun in place_nouns() else gaz.sector(noun)


@lru_cache(maxsize=1)
def place_nouns() -> frozenset[str]:
    import yaml
    from importlib import resources

    data = yaml.safe_load(resources.files("incidex.extraction").joinpath("lexicons/sectors.yaml").read_text("utf-8"))
    return frozenset(data.get("place_nouns") or ())


def _described_sector(tok: Token, doc: Doc, span: Span, gaz: Gazetteer) -> str | None:
    """'Harbor & Finch, the home furnishings retailer', 'a Bavarian maker of gearboxes'."""
    texts = [span.text]
    for c in tok.children:
        if c.dep_ in ("appos", "relcl", "acl"):
            texts.append(doc[c.left_edge.i:c.right_edge.i + 1].text)
    for t in texts:
        sec = gaz.sector(t)
        if sec:
            return sec
    return None


def is_system_acronym(word: str) -> bool:
    """'CAD', 'RDP', 'SCADA': capitals naming a kind of system (lexicons/not_organisations.yaml)."""
    return word.lower() in not_org_lexicon()["system_acronyms"]


@lru_cache(maxsize=1)
def not_org_lexicon() -> dict:
    """``lexicons/not_organisations.yaml``, read once: each word list as a lower-case frozenset,
    patterns (``research_after``) as they are written."""
    import yaml
    from importlib import resources

    data = yaml.safe_load(resources.files("incidex.extraction").joinpath("lexicons/not_organisations.yaml").read_text("utf-8"))
    return {k: frozenset(str(x).lower() for x in v) if isinstance(v, list) else v for k, v in data.items()}


def _place_government(tok: Token, doc: Doc, base: int, gaz: Gazetteer) -> VictimCandidate | None:
    """'Atlanta officials', 'Baltimore city officials': a place's officials speak for its government."""
    mods = [c for c in tok.lefts if c.dep_ in ("compound", "nmod") and _pos(c) == "PROPN"]
    if not mods:
        return None
    start, end = mods[0].left_edge.idx, mods[-1].idx + len(mods[-1].text)
    name = doc.text[start:end]
    places = gaz.countries(name)
    if (not places or sum(m.end - m.start for m in places) < len(name.strip()) - 1 or gaz.is_country_name(name)
            or name.strip().lower() in not_org_lexicon()["states"]):
        return None  # a country's or a state's officials speak for many agencies, not one victim
    return VictimCandidate(name=name, start=base + start, end=base + end, head=_lemma(mods[-1]), country=places[0].key,
                           sector="government", named=True, org_evidence=True)


def _modifier_owner(tok: Token, doc: Doc, base: int, gaz: Gazetteer) -> VictimCandidate | None:
    """'several Czech government websites': the owner is in the modifiers."""
    mods = [c for c in tok.lefts if c.dep_ in ("compound", "amod", "nmod")]
    if not mods:
        return None
    words = [w for w in doc[mods[0].left_edge.i:tok.i] if w.lower_ not in DETERMINERS and not w.like_num]
    def proper(w) -> bool:  # the small tagger often reads an acronym ("CDOT computers") as a common noun
        return _pos(w) == "PROPN" or (len(w.text) >= 2 and w.text.isupper() and w.text.isalpha()
                                      and not is_system_acronym(w.text))

    if not words or not any(_lemma(w) in gaz.org_heads or proper(w) for w in words):
        return None
    if any(_lemma(w) in GENERIC_HEADS for w in words):
        return None  # "bank account details": what was taken, not whose
    propers = [k for k, w in enumerate(words) if proper(w)]
    tail = words[propers[-1] + 1:] if propers else []
    if any(w.lower_ in not_org_lexicon()["product_heads"] for w in tail + [tok]):
        return None  # "a Tor proxy service": a product, not its maker
    if propers and not any(_lemma(w) in gaz.org_heads for w in tail):
        # "Collins Aerospace check-in software": the name ends where its proper nouns end
        words = words[:propers[-1] + 1]
    if any(w.lower_ in ("and", "or") or w.is_punct for w in words):
        return None  # "government, transport and banking websites": a list of sectors, not an owner
    start, end = words[0].idx, words[-1].idx + len(words[-1].text)
    name = doc.text[start:end]
    country = next((m.key for m in gaz.countries(name)), None)
    sector = gaz.sector(name)
    if sector is None and not any(proper(w) for w in words if not gaz.countries(w.text)):
        return None
    return VictimCandidate(name=name, start=base + start, end=base + end, head=_lemma(words[-1]), country=country,
                           sector=sector, named=any(proper(w) for w in words), org_evidence=True)


def _focus_ref(tok: Token, base: int, start: int | None = None, end: int | None = None, doc: Doc | None = None) -> VictimCandidate:
    s = tok.idx if start is None else start
    e = tok.idx + len(tok.text) if end is None else end
    noun = _lemma(tok) if _pos(tok) in ("NOUN", "PROPN") else None
    return VictimCandidate(name=FOCUS, start=base + s, end=base + e, head=FOCUS, named=False, ref_head=noun)


def _antecedent(tok: Token, doc: Doc, actor_spans) -> Token | None:
    """'X said it was hit', 'X halted production after an attack encrypted its servers':
    the nearest organisation-like subject before the pronoun in the sentence, else
    the nearest proper name before it ('an attack on X, which disrupted care at its hospitals')."""
    for t in doc[:tok.i]:
        if t.dep_ in ("nsubj", "nsubjpass") and t.lower_ not in PRONOUNS and _pos(t) in ("PROPN", "NOUN"):
            if any(s <= t.idx < e for s, e in actor_spans) or _lemma(t) in ATTACKER_HEAD_WORDS:
                continue
            if _pos(t) == "PROPN" or _lemma(t) in FOCUS_HEADS:
                return t
    for t in reversed(doc[:tok.i]):
        if (_pos(t) == "PROPN" and t.dep_ in ("pobj", "dobj", "nsubj", "nsubjpass", "appos")
                and not DATE_WORD.match(t.text.rstrip("."))):
            if any(s <= t.idx < e for s, e in actor_spans) or (t.head.dep_ == "prep" and t.head.lower_ == "in"):
                continue  # an actor, or a place ("in Pennsylvania")
            return t
    return None


def victim_from_span(doc: Doc, start: int, end: int, base: int, cues: CueSet, gaz: Gazetteer,
                     actor_spans) -> VictimCandidate | None:
    """The victim named by a phrase another component marked (sentence offsets ``start:end``):
    its syntactic head read as the rules read a victim phrase (owner of generic heads, the
    organisation behind "the company", sector and country)."""
    toks = [t for t in doc if t.idx < end and t.idx + len(t.text) > start]
    if not toks:
        return None
    inside = {t.i for t in toks}
    heads = [t for t in toks if t.head.i not in inside or t.head.i == t.i]
    head = next((t for t in heads if _pos(t) in ("NOUN", "PROPN")), None) or next(
        (t for t in reversed(toks) if _pos(t) in ("NOUN", "PROPN")), None) or (heads[0] if heads else toks[-1])
    if _attacks_something(head):
        return None  # "North Korean IT workers extorted US firms": who does it is not who is hit
    if _locative(head):
        return None  # "systems at airports in Brussels, Berlin and London": where, not who
    return _victim_from_token(head, doc, base, cues, gaz, actor_spans)


def _locative(tok: Token) -> bool:
    """The object of 'in', 'near', 'across' (or a conjunct of one) naming a place."""
    while tok.dep_ == "conj" and tok.head.i != tok.i:
        tok = tok.head
    return (tok.dep_ == "pobj" and tok.head.lower_ in ("in", "near", "across", "throughout", "around")
            and (tok.ent_type_ in ("GPE", "LOC") or _pos(tok) == "PROPN"))


def _attacks_something(tok: Token) -> bool:
    """The subject of an attack verb with an object ("IT workers extorted US firms"). Without
    one the verb may be a headline's reduced passive the small parser reads as active ("Spring
    Hill Hit with Ransomware Attack"), whose subject is the victim."""
    verb = tok.head
    return (tok.dep_ == "nsubj" and _lemma(verb) in AGENT_VERBS
            and any(c.dep_ in ("dobj", "obj") for c in verb.children))


def root_subject(doc: Doc, base: int, cues: CueSet, gaz: Gazetteer, actor_spans) -> VictimCandidate | None:
    """When an attack sentence names no victim, its main subject usually is one
    ('Harbor & Finch said hackers stole ...', 'The city will not pay the ransom ...')."""
    for t in doc:
        main = t.head.dep_ == "ROOT" or (t.head.dep_ in ("ccomp", "advcl", "conj") and t.head.head.dep_ == "ROOT")
        if t.dep_ in ("nsubj", "nsubjpass") and (main or _lemma(t.head) in REPORTING_VERBS):
            if t.lower_ in PRONOUNS or _pos(t) not in ("PROPN", "NOUN"):
                continue
            if _lemma(t.head) in FIXING_VERBS:
                continue  # "Microsoft patches zero-day exploited in attacks": the vendor fixes, it was not hit
            if _by_attacking(t.head) or _attacks_something(t):
                continue  # "Group makes $50 million by phishing bitcoin users", "IT workers extorted firms"
            if any(a <= c.idx < b for c in t.subtree for a, b in actor_spans):
                continue  # "The RansomHub ransomware operation says ...": the attacker speaks
            if (_pos(t) != "PROPN" and not t.is_title and _lemma(t) not in FOCUS_HEADS
                    and not any(_pos(c) == "PROPN" for c in t.subtree)):
                continue
            return _victim_from_token(t, doc, base, cues, gaz, actor_spans)
    return _untagged_subject(doc, base, gaz, actor_spans)


def _by_attacking(verb: Token) -> bool:
    """'... by phishing users', '... by hacking banks': the verb's subject did it by attacking."""
    return any(c.dep_ == "prep" and c.lower_ == "by" and any(
        p.dep_ in ("pcomp", "pobj") and (_lemma(p) in AGENT_VERBS or p.lower_ in ATTACK_NOUNS)
        for p in c.children) for c in verb.children)


def _untagged_subject(doc: Doc, base: int, gaz: Gazetteer, actor_spans) -> VictimCandidate | None:
    """'Ticketfly takes websites offline ...', 'Lakemoor has paid ...': the small tagger reads an
    unknown name before the main verb as an adverb or adjective, and the verb is left without a
    subject or with that word as one; the capitalised words are the subject."""
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None or _pos(root) != "VERB" or root.i == 0 or root.i > 4 or _lemma(root) in FIXING_VERBS:
        return None
    subj = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass", "csubj")), None)
    if subj is not None and not (subj.i < root.i and subj.is_title and _pos(subj) in ("ADJ", "ADV", "X")):
        return None  # a subject the tagger read; "Lakemoor (JJ) has paid": one it misread
    words = list(doc[subj.left_edge.i:subj.i + 1] if subj is not None else doc[:root.i])
    if not words:
        return None
    if not all((w.text[:1].isupper() or w.text[:1].isdigit()) and w.lower_ not in PRONOUNS and w.lower_ not in DETERMINERS
               and _pos(w) not in ("VERB", "AUX", "ADP") for w in words):
        return None
    start, end = words[0].idx, words[-1].idx + len(words[-1].text)
    if any(a < end and start < b for a, b in actor_spans):
        return None
    name = doc.text[start:end]
    if AUTHORITY_NAME.search(name) or _ATTACKER_HEAD.fullmatch(name.lower()):
        return None
    country = next((m.key for m in gaz.countries(name)), None)
    return VictimCandidate(name=name, start=base + start, end=base + end, head=words[-1].lower_, country=country,
                           sector=gaz.sector(name), named=True, org_evidence=False)


def headline_subject(doc: Doc, base: int, cues: CueSet, gaz: Gazetteer, actor_spans) -> VictimCandidate | None:
    """A headline without a verb of its own: "X production halted after cyberattack", "X software
    disrupted by ransomware": the noun phrase the headline stands on is what was hit."""
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None or _pos(root) not in ("NOUN", "PROPN") or _lemma(root) in FIXING_WORDS:
        return None  # "Microsoft patches zero-day exploited in attacks": the fix is the news, not a victim
    if not any(c.dep_ == "acl" and c.tag_ == "VBN" for c in root.children):
        return None
    if any(a <= c.idx < b for c in root.subtree if c.i <= root.i for a, b in actor_spans):
        return None
    return _victim_from_token(root, doc, base, cues, gaz, actor_spans)


def _owner(tok: Token) -> Token | None:
    """Whose systems: 'used by X', 'of X', 'at X', then 'X's'."""
    for c in tok.children:
        if c.dep_ in ("acl", "relcl") and _lemma(c) not in VICTIM_VERBS:  # "disrupted by ransomware": the attacker
            for a in c.children:
                if a.dep_ == "agent" or (a.dep_ == "prep" and a.lower_ == "by"):
                    for p in a.children:
                        if p.dep_ == "pobj":
                            return p
            for a in c.children:  # "the systems it uses", "servers that run its planning"
                if a.dep_ == "nsubj" and a.lower_ not in ("that", "which", "who"):
                    return a
            for a in c.subtree:
                if a.dep_ == "poss":
                    return a
    for c in tok.children:
        if c.dep_ == "prep" and c.lower_ in ("of", "at", "belonging"):
            for p in c.children:
                if p.dep_ == "pobj":
                    return p
    for c in tok.children:
        if c.dep_ == "poss":
            return c
    return None


_STATE_HEADS = re.compile(
    r"(?i)\b(?:state[- ](?:sponsored|backed|linked)\s+)?(?:hackers?|hacker groups?|hacking groups?|threat actors?|actors?|attackers?|"
    r"cyber ?criminals?|operatives|spies|apts?|military intelligence|state hackers|government hackers)\b")
_LINK_BEFORE = re.compile(r"(?i)(?:linked|tied|connected|attributed|traced|blamed on|backed|sponsored|directed|employed|working)\s+(?:\w+\s+){0,2}(?:to|by|for|on)?\s*(?:the\s+)?$")
_LINK_ADJ = re.compile(r"(?i)^[- ](?:linked|backed|sponsored|affiliated|aligned|state[- ](?:sponsored|backed|hackers|actors?)|government[- ](?:backed|hackers|linked)|nexus)\b")


# "originated from Iran or Ukraine", "hackers based in Russia": where the attackers are, which is
# not where the victim is.
_ORIGIN_BEFORE = re.compile(r"(?i)\b(?:originat\w*|based|located|operating|hail\w*|routed|coming|came|come|launched|"
                            r"believed to be|thought to be|traced(?: back)?)\s+(?:from|in|out of|to)\s+(?:the\s+)?"
                            r"(?:[\w.-]+\s+(?:or|and)\s+|[\w.-]+,\s+)*$")


def attacker_origin(f: SentenceFacts, m) -> bool:
    """The place mention ``m`` of the sentence says where the attack came from."""
    return bool(_ORIGIN_BEFORE.search(f.sent.text[max(0, m.start - 60):m.start]))


def _state_actors(f: SentenceFacts, doc: Doc, cues: CueSet, gaz: Gazetteer) -> None:
    """'hackers linked to Iran's government', 'Russian state hackers', 'attributed to Iran'."""
    if not (f.triggers or f.attribution):
        return
    t = f.sent.text
    for m in f.countries:
        before = t[max(0, m.start - 40):m.start]
        after = t[m.end:m.end + 60]
        state = False
        if re.search(r"(?i)\bpro[- ]$", before):
            continue  # "pro-Russian hacktivists" are not a state
        if _LINK_BEFORE.search(before):
            state = True
        elif _LINK_ADJ.match(after) or (m.kind == "demonym" and _STATE_HEADS.match(after.lstrip(" -'s"))):
            state = True
        elif after.startswith("'s") and re.match(r"(?i)'s\s+(?:\w+\s+){0,2}(?:government|military|intelligence|state)", after) and _STATE_HEADS.search(before[-25:] + " "):
            state = True
        elif re.search(r"(?i)\b(?:blamed|accused)\s+$", before):
            state = True
        if not state:
            continue
        # A victim country is not its own attacker ("Albania accused Iran").
        if any(v.country == m.key and v.is_state for v in f.victims):
            continue
        name = gaz.country_name(m.key)
        actor = Actor(name=name, mention=m.text, kind="state", state_link=m.key)
        f.actors.append((actor, f.sent.start + m.start, f.sent.start + m.end))


def _attribution_sources(f: SentenceFacts, doc: Doc, gaz: Gazetteer) -> None:
    """Who speaks: the subject of a reporting verb ('Albania reported that ...')."""
    reporters = []
    for tok in doc:
        if _lemma(tok) in REPORTING_VERBS and _pos(tok) == "VERB":
            for c in tok.children:
                if c.dep_ == "nsubj" and c.lower_ not in PRONOUNS:
                    span = _np_span(c, doc)
                    reporters.append(span.text)
        if tok.lower_ == "according" and tok.nbor(1).lower_ == "to" if tok.i + 1 < len(doc) else False:
            for p in tok.nbor(1).children:
                if p.dep_ == "pobj":
                    reporters.append(_np_span(p, doc).text)
    f.reporters = reporters


# Inflected forms of every word the rules compare lemmas with (see syntax.py).
_lemma = Lemmas(VICTIM_VERBS | SUFFER_VERBS | ATTACK_NOUNS | REPORTING_VERBS | GENERIC_HEADS | FOCUS_HEADS
                | ATTACKER_HEAD_WORDS | SUB_UNITS | ROLE_HEADS | {
                    "victim", "target", "record", "file", "company", "customer", "user", "hacker", "use", "affect",
                    "attack", "own", "operate", "run", "manage", "sector", "industry"})


def is_attacker_word(word: str) -> bool:
    """'crooks', 'hackers', 'thieves': a word for the attackers (ATTACKER_HEAD_WORDS, any inflection)."""
    return _lemma.of(word.lower()) in ATTACKER_HEAD_WORDS
