"""Group sentence facts into incident frames and turn frames into incidents.

An article often tells a new incident and older ones as background. Sentences
are read in order; a sentence with an attack trigger opens a new frame when it
is not anaphoric ("the attack", "that breach") and its date does not overlap
the current frame's, or when it says "another"/"separate" about new victims.
Everything else (responses, attribution, impact, "that attack") attaches to the
current frame. Dates resolve against the publication date and, inside a
background story, against the date of the frame being told (the anchor).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from ..limits import no_check
from ..records import Actor, Attribution, DateValue, Evidence, Impact, Incident, Response, Victim
from .analyze import SentenceFacts, VictimCandidate, attacker_origin
from .dates import date_range, resolve, to_date
from .victim_filters import is_descriptor

# An incident whose attack sentence the encoder reads as an actual attack at least this likely,
# with no cue that it failed, was successful (63 of 69 incidents of real news are).
ACTUAL_SUCCESS = 0.5
SPECIFICITY = {"day": 0, "week": 1, "month": 2, "year": 3}
AUTHORITY = re.compile(
    r"(?i)\b(?:government|ministry|agency|police|fbi|cisa|nsa|ncsc|cert|officials?|authorities|prosecutors?|"
    r"department|white house|microsoft|google|mandiant|crowdstrike|researchers|security firm|investigators|"
    r"national security|intelligence)\b")


@dataclass
class Frame:
    facts: list[SentenceFacts] = field(default_factory=list)
    date: DateValue | None = None
    date_kind: str | None = None
    date_sentence: SentenceFacts | None = None
    date_span: tuple[int, int] | None = None
    # attackers of the story this frame was split from (split_by_victim), for a part that names none
    inherited: list[tuple[Actor, int, int, SentenceFacts]] = field(default_factory=list)

    @property
    def victims(self) -> list[VictimCandidate]:
        return [v for f in self.facts for v in f.victims]

    @property
    def actors(self) -> list[Actor]:
        return [a for f in self.facts for a, _, _ in f.actors]


def _overlap(a: DateValue, b: DateValue) -> bool:
    a0, a1 = date_range(a)
    b0, b1 = date_range(b)
    if not (a0 and b0):
        return True
    return not (a1 < b0 or b1 < a0)


def _months_apart(a: DateValue, b: DateValue) -> bool:
    """Dates over 45 days apart: the same victim hit again is another incident."""
    a0, a1 = date_range(a)
    b0, b1 = date_range(b)
    if not (a0 and b0):
        return False
    gap = max((to_date(b0) - to_date(a1)).days, (to_date(a0) - to_date(b1)).days)
    return gap > 45


def _other_attackers(f: SentenceFacts, frame: Frame) -> bool:
    mine = {a.name for a, _, _ in f.actors if a.kind != "state"}
    theirs = {a.name for a in frame.actors if a.kind != "state"}
    return bool(mine and theirs and not mine & theirs)


def _victims_overlap(f: SentenceFacts, frame: Frame) -> bool:
    heads = {v.head for v in frame.victims}
    names = {v.name.lower() for v in frame.victims}
    if any(v.head in heads or v.name.lower() in names for v in f.victims):
        return True
    if any(is_acronym_of(a.name, b.name) or is_acronym_of(b.name, a.name) for a in f.victims for b in frame.victims):
        return True  # "CDOT" in the headline, "Colorado Department of Transportation" in the story
    # the sentence names a victim of the frame in passing ("added Kessler to its leak site")
    words = set(re.findall(r"[A-Z][\w&'-]{3,}", f.sent.text))
    return any(w in words for v in frame.victims if v.named and not v.is_state
               for w in re.findall(r"[A-Z][\w&'-]{3,}", v.name))


_REPORTING_BEFORE = re.compile(
    r"(?i)(?:\b(?:said|says|told(?: \w+)?|announced|confirmed|disclosed|reported|revealed|warned|stated|attributed|"
    r"claimed|claiming|listed|posted|leak site|"
    r"unsealed|published|notified|filed|wrote|added|acknowledged|statement(?: released)?|notice|filing|update|"
    r"interview|press conference|publicly)\b[^.;]{0,12}|\b(?:founded|established|active since|created)\s*)$")
_REPORTING_AFTER = re.compile(r"(?i)^\s*(?:\w+\s+){0,3}(?:said|says|told|announced|confirmed|disclosed|reported|attributed|publicly|unsealed|charged|indicted|issued|released|sanctioned|published|filed|notified|claimed|claiming|listed|posted|imposed|announced|unveiled)\b")


_DAY_KINDS = {"weekday", "yesterday", "md", "dm", "mdy", "dmy", "iso", "this_unit", "weekend"}


def _is_event_date(f: SentenceFacts, m) -> bool:
    """Dates of speaking ('said on Tuesday', 'on Monday unsealed') and of founding
    ('since 2019') are not incident dates."""
    t = f.sent.text
    before = t[max(0, m.start - 45):m.start]
    if re.search(r"(?i)\b(?:founded|established|active since|operating since|created)\s+(?:in\s+)?(?:at least |as early as |around |about )?$", before):
        return False
    if (re.search(r"(?i)\bsince\s+(?:at least |as early as |around |about )?(?:late |early )?$", before) or re.match(r"(?i)since\b", m.text)) \
            and m.kind not in _DAY_KINDS:
        return False  # "since 2019" is how long; "held hostage since late Thursday" is when it began
    if m.kind not in _DAY_KINDS:
        return True
    return not (_REPORTING_BEFORE.search(before) or _REPORTING_AFTER.match(t[m.end:m.end + 40]))


def _sentence_date(f: SentenceFacts, published: date | None, anchor: DateValue | None):
    """The finest incident date of the sentence ('earlier this year ... in March' is March),
    leaving out dates counted from the narrative and dates of speaking."""
    best = None
    for m in f.dates:
        if m.relative_to_anchor or not _is_event_date(f, m):
            continue
        d = resolve(m, published, anchor)
        if d is not None and (best is None or SPECIFICITY[d.precision] < SPECIFICITY[best[0].precision]):
            best = (d, m)
    return best if best else (None, None)


# "More recently, in January": the months that follow count from the publication date, not
# from the older story the narrative was telling.
_FRESH = re.compile(r"(?i)\b(?:more|most) recently\b")


def group_frames(facts: list[SentenceFacts], published: date | None, gaz, check=no_check) -> list[Frame]:
    kb = gaz.kb
    frames: list[Frame] = []
    cur: Frame | None = None
    for f in facts:
        check()
        if f.generic and not f.responses:
            continue  # advice, statistics, habits: not facts of an incident
        opener = f.has_trigger and not f.generic
        if f.learned_trigger and cur is not None and not f.victims:
            opener = False  # the encoder's attack with no victim of its own tells more of the current one
        if cur is None:
            if not opener:
                continue
            cur = Frame()
            frames.append(cur)
            _add(cur, f, published, kb)
            continue
        anchor = None if _FRESH.search(f.sent.text) else cur.date
        sdate, _ = _sentence_date(f, published, anchor)
        new = False
        if opener and not (f.anaphoric and not f.new_incident):
            if sdate is not None and cur.date is not None and not _overlap(sdate, cur.date):
                new = not _victims_overlap(f, cur) or f.new_incident or _months_apart(sdate, cur.date)
            elif f.new_incident and f.victims and not _victims_overlap(f, cur):
                new = True
            elif f.victims and not _victims_overlap(f, cur) and _other_attackers(f, cur):
                new = True  # new victims hit by another named attacker: another incident
        if new:
            cur = Frame()
            frames.append(cur)
        _add(cur, f, published, kb, anchor)
    return [sub for fr in frames for sub in split_by_victim(fr, published, gaz)]


def _victim_key(v: VictimCandidate) -> str | None:
    if v.name == "@focus":
        return None
    return " ".join(re.findall(r"\w+", v.name.lower()))


def _same_org(a: VictimCandidate, b: VictimCandidate) -> bool:
    ka, kb_ = _victim_key(a), _victim_key(b)
    if not ka or not kb_:
        return False
    ta, tb = ka.split(), kb_.split()
    if is_acronym_of(a.name, b.name) or is_acronym_of(b.name, a.name):
        return True
    if ka == kb_ or ta[:len(tb)] == tb or tb[:len(ta)] == ta or ta[-len(tb):] == tb or tb[-len(ta):] == ta:
        return True
    return (not a.named or not b.named) and a.head == b.head


_SAME_STRAIN = re.compile(r"(?i)\b(?:same (?:ransomware|malware|strain|group|gang|hackers|attackers)|"
                          r"similar (?:attack|incident|fate)|also (?:been )?(?:hit|struck|infected|targeted)|"
                          r"other victims?|previous(?:ly)?|earlier|(?:more|most) recently|last (?:year|month|week)|in \d{4}|"
                          r"like (?:the )?[A-Z]|elsewhere)")


def _another_attack(f: SentenceFacts, current: Frame, published: date | None) -> bool:
    """The sentence tells of an attack on a new victim at another time (the manual's rule for
    separate incidents), rather than of more victims of the attack being told."""
    if not f.has_trigger and not f.new_incident:
        return False
    if f.new_incident or _SAME_STRAIN.search(f.sent.text):
        return True
    d, _ = _sentence_date(f, published, current.date)
    return d is not None and current.date is not None and not _overlap(d, current.date)


_ATTACK_AFTER_NAME = re.compile(r"^(?:'s|’s)?\s+(?:[\w-]+\s+){0,2}?(?:cyber-?)?(?:attack|cyberattack|breach|hack|intrusion|incident|infection)\b",
                                re.IGNORECASE)


def _named_attack(f: SentenceFacts, vs: list[VictimCandidate]) -> bool:
    """'the CDOT ransomware attack', 'the Equifax breach': an attack known by its victim's name is
    that victim's own incident, not more victims of the one being told."""
    text, base = f.sent.text, f.sent.start
    return any(v.named and not v.is_ref and _ATTACK_AFTER_NAME.match(text[v.end - base:]) for v in vs)


def _described_only(v: VictimCandidate, gaz) -> bool:
    """A victim told by description, not by name ("the hospital", "an Indiana hospital")."""
    return not v.named or is_descriptor(v.name, gaz)


def split_by_victim(frame: Frame, published: date | None, gaz) -> list[Frame]:
    """One incident per attacked organisation (the coding manual's rule): a frame whose
    sentences tell of attacks on different organisations in different sentences becomes one
    frame per organisation. Organisations named together in one sentence stay one incident
    (one attack on several victims); sentences naming no victim stay with the story being told."""
    subs: list[tuple[Frame, list[VictimCandidate]]] = []
    cur: tuple[Frame, list[VictimCandidate]] | None = None
    pending: list[SentenceFacts] = []
    for f in frame.facts:
        vs = [v for v in f.victims if _victim_key(v)]
        if vs:
            known = [next((s for s in subs if any(_same_org(v, w) for w in s[1])), None) for v in vs]
            home = next((s for s in known if s is not None), None)
            if home is None and cur is not None and not _another_attack(f, cur[0], published) and not _named_attack(f, vs):
                home = cur  # more victims of the attack being told (one DDoS wave, one breach)
            if (home is None and cur is not None and cur[1] and all(_described_only(w, gaz) for w in cur[1])
                    and not _named_attack(f, vs) and not f.new_incident):
                home = cur  # "An Indiana hospital paid ..." then "... the network of Hancock Health": its name
            if home is None:
                if cur is not None and not cur[1]:
                    home = cur  # the story so far had no victim: this is its victim
                else:
                    home = (Frame(), [])
                    subs.append(home)
                    for p in pending:
                        _add(home[0], p, published, gaz.kb)
                    pending = []
            for v, k in zip(vs, known):
                if k is None or k is home:
                    home[1].append(v)
            cur = home
        if cur is None:
            pending.append(f)
            continue
        _add(cur[0], f, published, gaz.kb, None if cur[0].date else frame.date)
    if len(subs) <= 1:
        return [frame]
    story = [(a, x, y, f) for f in frame.facts for a, x, y in f.actors]
    for sub, _ in subs:
        if not sub.actors:
            sub.inherited = story
    return [s[0] for s in subs]


def _add(frame: Frame, f: SentenceFacts, published: date | None, kb, anchor: DateValue | None = None) -> None:
    frame.facts.append(f)
    if frame.date is None:
        d, m = _sentence_date(f, published, anchor)
        if d is not None:
            frame.date, frame.date_kind, frame.date_sentence = d, m.kind, f
            frame.date_span = (f.sent.start + m.start, f.sent.start + m.end)
    _settle_year(frame, published, kb)


def _near_trigger(f: SentenceFacts, m, chars: int = 40) -> bool:
    """'began on Saturday' dates the attack; 'the announcement last week' in the same sentence does not."""
    return any(c.start - chars <= m.end and m.start <= c.end + chars for c in f.triggers)


def _earliest_date(frame: Frame, published: date | None) -> None:
    """The attack began before it was discovered, disclosed and claimed: of the event
    dates in the frame's attack sentences, keep the earliest within a year of the first."""
    if frame.date is None:
        return
    first0, _ = date_range(frame.date)
    best = (first0, frame.date, frame.date_sentence, frame.date_span)
    for f in frame.facts:
        if not (f.triggers or f.anaphoric):
            continue
        for m in f.dates:
            if m.relative_to_anchor or not _is_event_date(f, m) or not _near_trigger(f, m):
                continue
            d = resolve(m, published, frame.date)
            if d is None:
                continue
            lo, hi = date_range(d)
            if not (lo and best[0]) or (to_date(first0) - to_date(lo)).days > 45:
                continue
            _, best_hi = date_range(best[1])
            earlier = hi < best[0]
            finer = lo >= best[0] and hi <= best_hi and SPECIFICITY[d.precision] < SPECIFICITY[best[1].precision]
            if earlier or finer:
                best = (lo, d, f, (f.sent.start + m.start, f.sent.start + m.end))
    _, frame.date, frame.date_sentence, frame.date_span = best


def _settle_year(frame: Frame, published: date | None, kb) -> None:
    """A bare month ("in July") takes its year from a KB campaign of the actor."""
    if frame.date is None or frame.date_kind not in ("in_month", "md", "dm") or frame.date.confidence > 0.6:
        return
    month = to_date(frame.date.value).month
    for actor in frame.actors:
        # only a campaign's known period settles a year; a group's activity spans too long
        if not (actor.kb_id or "").startswith("attack:C"):
            continue
        span = kb.active_period(actor.kb_id)
        if not span:
            continue
        first, last = span
        limit = min(last, published) if published and last else (last or published)
        if limit is None:
            continue
        year = limit.year if month <= limit.month else limit.year - 1
        if first and date(year, month, 1) < date(first.year, first.month, 1):
            continue
        value = f"{year:04d}-{month:02d}" + frame.date.value[7:]
        frame.date = DateValue(value, frame.date.precision, 0.7, frame.date.mention)
        return


# ----------------------------------------------------------------- frame -> incident

def frame_to_incident(frame: Frame, index: int, article_id: str, body: str, published: date | None,
                      context_country: str | None, gaz, check=no_check, dateline_country: str | None = None) -> Incident | None:
    """One frame's incident. ``dateline_country``: the country of the place the story was filed
    from ("RIVERTON, Wyo. (AP) —"), the country of a named victim of the lead that names none."""
    ev: list[Evidence] = []
    ev_seen: set[tuple[str, int]] = set()

    def evidence(field_name: str, f: SentenceFacts) -> None:
        if (field_name, f.sent.start) not in ev_seen:
            ev_seen.add((field_name, f.sent.start))
            ev.append(Evidence(field_name, f.sent.start, f.sent.end, f.sent.text, article_id))

    # attackers: one per name; a state is folded into a group linked to it
    attackers: list[Actor] = []
    actor_sent: dict[str, SentenceFacts] = {}
    for f in frame.facts:
        for a, _, _ in f.actors:
            existing = next((x for x in attackers if x.name == a.name), None)
            if existing is None:
                attackers.append(a)
                actor_sent[a.name] = f
    for a, _, _, f in frame.inherited:
        if not any(x.name == a.name for x in attackers):
            attackers.append(a)
            actor_sent[a.name] = f
    groups_states = {a.state_link for a in attackers if a.kind != "state" and a.state_link}
    attackers = [a for a in attackers if not (a.kind == "state" and a.state_link in groups_states)]
    attacker_states = {a.state_link for a in attackers if a.state_link}
    for i, a in enumerate(attackers):
        f = actor_sent[a.name]
        evidence(f"attackers[{i}]", f)
        for x, s, e in f.actors:
            if x.name == a.name:
                ev.append(Evidence(f"attackers[{i}].mention", s, e, body[s:e], article_id))
                break

    # context country: the most named country of the frame that is not the attacker's
    counts = Counter(m.key for f in frame.facts for m in f.countries if m.key not in attacker_states
                     and not attacker_origin(f, m)
                     and not re.search(r"(?i)\bpro-\s*$", f.sent.text[max(0, m.start - 5):m.start]))
    for f in frame.facts:
        for r in f.responses:
            if r.against in counts:
                counts[r.against] -= 1
    ctx = counts.most_common(1)[0][0] if counts and counts.most_common(1)[0][1] > 0 else context_country
    if ctx in attacker_states:
        ctx = None

    victims: list[Victim] = []
    victim_sent: list[SentenceFacts] = []
    heads: dict[int, str] = {}
    for f in frame.facts:
        check()
        sent_countries = {m.key for m in f.countries}
        for c in f.victims:
            if c.is_state and c.country in attacker_states:
                continue
            country = c.country
            if country == "@context":
                country = ctx
            if country is None and (not c.named or (ctx and ctx in sent_countries)):
                country = ctx
            if country is None and c.named and dateline_country and f.sent.index <= 2:
                country = dateline_country
            merged = _merge_victim(victims, c, country, heads, gaz)
            if not merged:
                victims.append(Victim(name=c.name, country=country, sector=c.sector, mention=c.name, named=c.named))
                heads[id(victims[-1])] = c.head
                victim_sent.append(f)
    specific_countries = {v.country for v in victims if v.country and not _is_country_victim(v, gaz)}
    keep = [k for k, v in enumerate(victims) if not (_is_country_victim(v, gaz) and v.country in specific_countries)]
    victims = [victims[k] for k in keep]
    victim_sent = [victim_sent[k] for k in keep]
    victims, victim_sent = _fold_descriptors(victims, victim_sent, heads, gaz)
    places = [v for v in victims if gaz.is_country_name(v.name, kind="city")]
    for v in victims:
        _spell_out(v, body, gaz)
        if v.sector is None and v in places and len(places) == len(victims):
            v.sector = "government"  # "Atlanta was hit": the city, its local government (beside a company, its place)
    victims, victim_sent = _one_per_name(victims, victim_sent)
    for i, f in enumerate(victim_sent):
        evidence(f"victims[{i}]", f)
    for f in frame.facts:
        check()
        for c in f.victims:
            i = next((k for k, v in enumerate(victims) if v.name == c.name or _same_victim(v, c, heads)), None)
            if i is not None:
                ev.append(Evidence(f"victims[{i}].mention", c.start, c.end, body[c.start:c.end], article_id))
    victim_countries = {v.country for v in victims if v.country}
    for f in frame.facts:
        for m in f.countries:
            if m.key in victim_countries:
                s0 = f.sent.start + m.start
                ev.append(Evidence("place", s0, s0 + (m.end - m.start), body[s0:s0 + m.end - m.start], article_id))

    specific = {t for f in frame.facts for t in f.types if t != "other"}
    if {"ransomware", "data-breach"} <= specific and not any(
            "data-breach" in f.types for f in frame.facts if not f.learned_trigger):
        # the encoder's "data" in a ransomware story is data held for ransom; theft or exposure
        # (the manual's data-breach) is what a cue phrase names ("records were stolen")
        specific.discard("data-breach")
    types = sorted(specific) or (["other"] if any(f.types for f in frame.facts) else [])
    if "malware" in types and len(types) > 1:
        types.remove("malware")  # the means of a more specific attack
    for f in frame.facts:
        if f.types & set(types):
            evidence("attack_types", f)

    if not victims and not (attackers and (specific or frame.date)):
        return None

    # attribution
    status, by, att_sent = _attribution(frame, attackers)
    if not attackers:
        status, by, att_sent = "unknown", [], None  # no one named: nothing is attributed
    if att_sent is not None:
        evidence("attribution", att_sent)

    outcome, outcome_sent = _outcome(frame, status)
    if outcome == "unknown" and status != "claimed":
        # the encoder read an attack that happened, and nothing says it failed
        reported = next((f for f in frame.facts if f.pred is not None and f.pred.actual >= ACTUAL_SUCCESS), None)
        if reported is not None:
            outcome, outcome_sent = "successful", reported
    if outcome_sent is not None:
        evidence("outcome", outcome_sent)

    impact = Impact()
    for f in frame.facts:
        for k, v in f.impact.items():
            if k in ("records_affected", "people_affected"):
                setattr(impact, k, max(getattr(impact, k) or 0, v))
            elif k == "ransom_usd":
                impact.ransom_usd = max(impact.ransom_usd or 0, v)
            elif v is True:
                setattr(impact, k, True)
        if f.impact_fact and f.impact_fact not in impact.facts:
            impact.facts.append(f.impact_fact)
            evidence("impact", f)
    if outcome == "attempted" and impact.data_destroyed:
        impact.data_destroyed = False  # "tried to delete data but failed"

    responses: list[Response] = []
    for f in frame.facts:
        for r in f.responses:
            if any(x.kind == r.kind for x in responses):
                continue
            if r.by == "authorities":
                r = Response(r.kind, ctx, r.against, r.date, r.mention)
            if r.against is None and r.kind in ("sanctions", "diplomatic", "indictment") and attacker_states:
                r = Response(r.kind, r.by, sorted(attacker_states)[0], r.date, r.mention)
            rel = [m for m in f.dates if m.relative_to_anchor]
            if rel and frame.date and r.date is None:
                r = Response(r.kind, r.by, r.against, resolve(rel[0], published, frame.date), r.mention)
            responses.append(r)
            evidence(f"responses[{len(responses) - 1}]", f)

    _earliest_date(frame, published)
    date_value = frame.date
    if date_value is not None and frame.date_sentence is not None:
        evidence("date", frame.date_sentence)
        s0, e0 = frame.date_span
        ev.append(Evidence("date.mention", s0, e0, body[s0:e0], article_id))

    techniques = sorted({t for f in frame.facts for t in f.techniques})
    malware = sorted({gaz.malware_name(m) for f in frame.facts for m in f.malware})
    cves = sorted({c for f in frame.facts for c in f.cves})
    for f in frame.facts:
        if f.techniques:
            evidence("techniques", f)
        if f.malware:
            evidence("malware", f)
        if f.cves:
            evidence("cves", f)

    background = bool(published and date_value and (published - to_date(date_value.value)).days > 90)
    conf = 0.35 + 0.2 * bool(victims) + 0.15 * bool(attackers) + 0.1 * bool(date_value) + 0.1 * bool(specific)
    summary = _summary(types, attackers, victims, date_value)
    ev.sort(key=lambda e: (e.start, e.field))
    return Incident(
        id=f"{article_id}-{index}", summary=summary, attack_types=types, attackers=attackers,
        attribution=Attribution(status, by), victims=victims, date=date_value, outcome=outcome,
        impact=impact, responses=responses, techniques=techniques, malware=malware, cves=cves,
        evidence=ev, confidence=min(conf, 0.95), background=background,
    )


_CAPITALISED_RUN = re.compile(r"[A-Z][\w&'’-]*(?:\s+(?:(?:of|the|and|for|&)\s+)*[A-Z][\w&'’-]*)+")


_PLACE_ACRONYM = re.compile(r"^([A-Z][a-z]+)(?:'s|’s)?\s+([A-Z]{2,7})$")


def _one_per_name(victims: list[Victim], sents: list[SentenceFacts]) -> tuple[list[Victim], list[SentenceFacts]]:
    """An acronym spelled out can meet the full name told elsewhere: one entry, both aliases."""
    kept: list[Victim] = []
    kept_sents: list[SentenceFacts] = []
    for v, f in zip(victims, sents):
        same = next((k for k in kept if k.name == v.name), None)
        if same is None:
            kept.append(v)
            kept_sents.append(f)
            continue
        same.aliases = sorted(set(same.aliases) | set(v.aliases))
        same.country = same.country or v.country
        same.sector = same.sector or v.sector
    return kept, kept_sents


def _spell_out(v: Victim, body: str, gaz) -> None:
    """'CDOT' when the article also writes 'Colorado Department of Transportation': the victim
    takes the most specific name the text gives (the coding manual's rule), the acronym as an alias."""
    short, place = v.name, ""
    owned = _PLACE_ACRONYM.match(v.name)
    if owned:  # "Colorado's DOT" is "CDOT" told with its state
        place = owned.group(1)
        short = place[0] + owned.group(2)
    if not (2 <= len(short) <= 8 and short.isalpha() and short.isupper()):
        return
    for m in _CAPITALISED_RUN.finditer(body):
        words = list(re.finditer(r"\S+", m.group(0)))
        for k in range(len(words) - 1):  # "Last month the Colorado Department of ...": try each start
            full = re.sub(r"['’]s?$", "", m.group(0)[words[k].start():])  # "... of Transportation’s back-end"
            if full.startswith(place) and is_acronym_of(short, full):
                v.aliases = sorted(set(v.aliases) | {v.name})
                v.name = full
                v.sector = v.sector or gaz.sector(full)
                return


def _is_country_victim(v: Victim, gaz) -> bool:
    return gaz.is_country_name(v.name)


def _tokens(name: str) -> list[str]:
    return re.findall(r"\w+", name.lower())


def is_acronym_of(short: str, long: str) -> bool:
    """'CDOT' and 'Colorado Department of Transportation', 'NHS' and 'National Health Service':
    the capitals are the initials of the name's words (with or without its small words)."""
    short = short.strip()
    if not (2 <= len(short) <= 8 and short.isalpha() and short.isupper()):
        return False
    words = re.findall(r"[A-Za-z]+", long)
    if len(words) < 2:
        return False
    every = "".join(w[0] for w in words).upper()
    content = "".join(w[0] for w in words if w.lower() not in ("of", "the", "and", "for", "&")).upper()
    return short in (every, content)


def _same_victim(v: Victim, c: VictimCandidate, heads: dict[int, str]) -> bool:
    """One organisation under two mentions: 'the ministry' and 'Ministry of Interior',
    'Lakeshore' and 'Lakeshore Children's Hospital', 'CDOT' and 'Colorado Department of Transportation'."""
    vt, ct = _tokens(v.name), _tokens(c.name)
    if vt == ct or is_acronym_of(v.name, c.name) or is_acronym_of(c.name, v.name):
        return True
    if vt and ct and (vt[:len(ct)] == ct or ct[:len(vt)] == vt or vt[-len(ct):] == ct or ct[-len(vt):] == vt):
        return v.named == c.named or min(len(vt), len(ct)) >= 1
    head = heads.get(id(v))
    if head == c.head and (not v.named or not c.named):
        return True
    if not c.named and c.sector and c.sector == v.sector and not c.is_state:
        return True
    return False


def _fold_descriptors(victims: list[Victim], sents: list[SentenceFacts], heads: dict[int, str], gaz
                      ) -> tuple[list[Victim], list[SentenceFacts]]:
    """One entry per organisation: where an incident names one organisation, a singular
    description beside it ("the Indiana hospital" beside "Hancock Health") is that organisation
    described, unless its sector says otherwise. Plural classes ("hospitals") stay their own."""
    def descriptor(v: Victim) -> bool:
        return not v.named or is_descriptor(v.name, gaz)

    named = [v for v in victims if not descriptor(v) and not _is_country_victim(v, gaz)]
    if len(named) != 1:
        return victims, sents
    owner = named[0]
    out, out_sents = [], []
    for v, f in zip(victims, sents):
        last = (_tokens(v.name) or [""])[-1]
        singular = last == (heads.get(id(v)) or "").lower()
        if (v is not owner and descriptor(v) and singular
                and (v.sector is None or owner.sector is None or v.sector == owner.sector)):
            owner.sector = owner.sector or v.sector
            owner.country = owner.country or v.country
            continue
        out.append(v)
        out_sents.append(f)
    return out, out_sents


def _merge_victim(victims: list[Victim], c: VictimCandidate, country: str | None, heads: dict[int, str],
                  gaz=None) -> bool:
    def rank(name: str, named: bool) -> tuple[int, int]:  # a name beats a description, then the longer
        return (int(named and not (gaz is not None and is_descriptor(name, gaz))), len(name))

    for v in victims:
        if not _same_victim(v, c, heads):
            continue
        if c.named and rank(c.name, c.named) > rank(v.name, v.named):
            v.name, v.named, v.mention = c.name, True, c.name
            heads[id(v)] = c.head
        v.country = v.country or country
        v.sector = v.sector or c.sector
        return True
    return False


def _outcome(frame: Frame, status: str) -> tuple[str, SentenceFacts | None]:
    """Attempted when the lead says so (or the story does and nothing got through);
    unknown when the victim denies what the attacker claims."""
    lead = frame.facts[0]
    if lead.headline and not (lead.attempted or lead.successful) and len(frame.facts) > 1:
        lead = frame.facts[1]  # a headline that does not say how it ended: the first sentence does
    attempted = [f for f in frame.facts if f.attempted]
    strong = [f for f in frame.facts if f.strong_success]
    impact_keys = ("services_disrupted", "data_leaked", "data_destroyed", "records_affected")
    success = [f for f in frame.facts if f.successful or any(k in f.impact for k in impact_keys)]
    if status == "claimed" and any(l == "denied" for f in frame.facts for l, _ in f.attribution):
        return "unknown", None  # the attacker claims, the victim denies
    if lead.attempted and not lead.strong_success:
        return "attempted", lead
    if lead.successful and not lead.attempted:
        return "successful", lead  # the lead's "knocked offline" outweighs a later "no data was stolen"
    if attempted and not strong:
        return "attempted", attempted[0]
    if success or strong:
        return "successful", (strong or success)[0]
    return "unknown", None


def _attribution(frame: Frame, attackers: list[Actor]) -> tuple[str, list[str], SentenceFacts | None]:
    found: dict[str, tuple[list[str], SentenceFacts]] = {}
    attacker_states = {a.state_link for a in attackers if a.state_link}
    for f in frame.facts:
        for status, _ in f.attribution:
            by: list[str] = []
            if status == "claimed":
                by = [a.name for a, _, _ in f.actors if a.kind != "state"] or [a.name for a in attackers if a.kind != "state"][:1]
            elif status in ("attributed", "suspected"):
                authorities = [r for r in f.reporters if AUTHORITY.search(r) or _is_country(r, f)]
                if authorities:
                    status, by = "attributed", authorities[:2]
                elif status == "suspected" and f.reporters and any(_is_country(r, f) for r in f.reporters):
                    status, by = "attributed", f.reporters[:1]
            elif status == "denied":
                # only the accused can deny an attribution; a victim denying damage is not one
                if not ({m.key for m in f.countries} & attacker_states):
                    continue
            if status == "suspected" and AUTHORITY.search(f.sent.text):
                status = "attributed"  # "that US officials have tied to ..."
            if status not in found:
                found[status] = (by, f)
    for status in ("attributed", "claimed", "denied", "suspected"):
        if status in found:
            by, f = found[status]
            return status, by, f
    if attackers:
        # named with no cue of who says so: the text links the attack to the group (a strain's
        # gang, "SamSam hackers"); a claim is what a claim cue or a leak-site listing names
        if all(a.kind == "group" and not a.state_link for a in attackers):
            return "suspected", [], None
        return "attributed", [], None  # a state, or a group the text ties to one
    return "unknown", [], None


def _is_country(text: str, f: SentenceFacts) -> bool:
    return any(m.text == text or m.text in text for m in f.countries)


def _summary(types: list[str], attackers: list[Actor], victims: list[Victim], d: DateValue | None) -> str:
    who = ", ".join(a.name for a in attackers) or "Unknown attackers"
    what = "/".join(types) or "cyber"
    whom = ", ".join(v.name for v in victims[:4]) or "unnamed victims"
    when = f" ({d.value})" if d else ""
    return f"{who}: {what} attack on {whom}{when}"
