"""The library surface: what the CLI and the REST API are thin skins over.

    >>> import incidex
    >>> result = incidex.extract("Hackers hit the city of Springfield ...", published="2024-05-02")
    >>> [i.victims for i in result.incidents]

``ingest`` runs the whole pipeline (read -> clean -> dedup -> extract -> store)
one article per transaction, so a crash loses nothing committed and a re-run
adds nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .cleaning import clean
from .extraction.pipeline import Extractor, default_extractor
from .readers import read
from .records import Article, ExtractionResult, IncidexError, InputError, RawDocument, ReadFailure
from .settings import load_settings
from .resolve.duplicates import bands as lsh_bands
from .resolve.duplicates import find_duplicate, signature
from .resolve.incidents import resolve_incident


def extract(text: str, published: str | None = None, *, url: str | None = None, title: str | None = None,
            source: str | None = None, author: str | None = None, extractor: Extractor | None = None) -> ExtractionResult:
    """Extract the incidents of one article given as plain text.

    The text is cleaned first (footers, bios, related headlines go), so the
    evidence offsets point into ``result.article.body``.
    """
    doc = RawDocument(origin="<text>", content=text, url=url, title=title, source=source,
                      author=author, published=published)
    return extract_document(doc, extractor=extractor)


def to_article(doc: RawDocument) -> Article:
    """Clean a document; a very short text is still extracted as it is."""
    try:
        return clean(doc)
    except InputError as e:
        if "no article text" not in e.reason or not doc.content.strip():
            raise
        settings = {"clean": {"min_body_chars": 1}}
        return clean(doc, settings=settings)


def extract_document(doc: RawDocument, *, extractor: Extractor | None = None) -> ExtractionResult:
    return (extractor or default_extractor()).extract_article(to_article(doc))


def extract_inputs(inputs: Iterable[str], *, fetch_pages: bool = False,
                   extractor: Extractor | None = None) -> Iterator[ExtractionResult | ReadFailure]:
    """Read any input the ingest stage reads and extract each article."""
    for item in read(inputs, fetch_pages=fetch_pages):
        if isinstance(item, ReadFailure):
            yield item
            continue
        try:
            yield extract_document(item, extractor=extractor)
        except IncidexError as e:
            yield ReadFailure(item.origin, getattr(e, "reason", str(e)))


@dataclass
class IngestReport:
    read: int = 0
    new: int = 0
    duplicate: int = 0
    unchanged: int = 0
    failed: list[ReadFailure] = field(default_factory=list)
    incidents: int = 0
    merged: int = 0  # incidents that joined an incident already stored

    def to_dict(self) -> dict:
        return {"read": self.read, "new": self.new, "duplicate": self.duplicate, "unchanged": self.unchanged,
                "failed": len(self.failed), "incidents": self.incidents, "merged": self.merged,
                "failures": [{"origin": f.origin, "reason": f.reason} for f in self.failed]}


def ingest(inputs: Iterable[str], store, *, fetch_pages: bool = False, extractor: Extractor | None = None,
           on_item: Callable[[str, str], None] | None = None, chunk_size: int | None = None) -> IngestReport:
    """Read, clean, deduplicate, extract and store, ``chunk_size`` articles at a time.

    Each chunk is extracted together (one parser batch) and committed in one
    transaction, with a savepoint per article so one bad article never takes
    its neighbours down. A crash loses at most the chunk in flight, nothing
    committed; re-running skips what is stored. ``on_item(origin, outcome)``
    is called per item once its chunk is committed (outcome: new, duplicate,
    unchanged, failed).
    """
    report = IngestReport()
    ex = extractor or default_extractor()
    size = chunk_size or int(load_settings()["ingest"].get("chunk_size", 32))
    chunk: list[RawDocument] = []
    for item in read(inputs, fetch_pages=fetch_pages):
        if isinstance(item, ReadFailure):
            _fail(report, store, item, on_item)
            continue
        report.read += 1
        chunk.append(item)
        if len(chunk) >= size:
            ingest_documents(chunk, store, ex, report, on_item)
            chunk = []
    if chunk:
        ingest_documents(chunk, store, ex, report, on_item)
    return report


def ingest_documents(docs: list[RawDocument], store, extractor: Extractor, report: IngestReport | None = None,
                     on_item: Callable[[str, str], None] | None = None,
                     on_commit: Callable[[list[str], list[str | None]], None] | None = None) -> list[str]:
    """Ingest one chunk; returns the outcome per document.

    ``on_commit(outcomes, article_ids)`` runs inside the chunk's transaction
    once its articles are stored, so what it writes commits with them or not
    at all (the watcher marks its feed entries handled this way).
    """
    report = report if report is not None else IngestReport()
    outcomes: list[str | None] = [None] * len(docs)
    articles: list[Article | None] = [None] * len(docs)
    ids: list[str | None] = [None] * len(docs)
    seen: dict[str, int] = {}
    for i, doc in enumerate(docs):
        try:
            art = clean(doc)
            ids[i] = art.id
            if art.id in seen or store.has_article(art.id):
                outcomes[i] = "unchanged"
                continue
            seen[art.id] = i
            art.ingested_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            art.signature = signature(art.body)
            art.duplicate_of = (find_duplicate(art, store, check_exact=False)  # the exact check was just made
                                or _duplicate_in_chunk(art, articles[:i]))
            articles[i] = art
        except IncidexError as e:
            _fail(report, store, ReadFailure(doc.origin, getattr(e, "reason", str(e))), on_item)
            outcomes[i] = "failed"
        except Exception as e:  # one bad item never stops the batch
            _fail(report, store, ReadFailure(doc.origin, f"internal error: {type(e).__name__}: {e}"), on_item)
            outcomes[i] = "failed"
    fresh = [a for a in articles if a is not None and not a.duplicate_of]
    results = {r.article.id: r for r in _extract_isolated(fresh, extractor, report, store, on_item)}
    with store.transaction():
        for i, art in enumerate(articles):
            if art is None:
                continue
            try:
                with store.transaction():  # a savepoint: this article commits whole or not at all
                    outcomes[i] = _store_article(art, results.get(art.id), store, report)
            except Exception as e:
                _fail(report, store, ReadFailure(docs[i].origin, f"could not store: {type(e).__name__}: {e}"), on_item)
                outcomes[i] = "failed"
        for i, outcome in enumerate(outcomes):  # a repeat of a text in this chunk that could not be stored
            if outcome == "unchanged" and ids[i] in seen and outcomes[seen[ids[i]]] == "failed":
                _fail(report, store, ReadFailure(docs[i].origin, f"same text as {docs[seen[ids[i]]].origin}, "
                                                                 "which could not be stored"), on_item)
                outcomes[i] = "failed"
        if on_commit:
            on_commit([o or "failed" for o in outcomes], [ids[i] if o != "failed" else None
                                                          for i, o in enumerate(outcomes)])
    for i, outcome in enumerate(outcomes):
        if outcome == "unchanged":
            report.unchanged += 1
        if on_item and outcome in ("new", "duplicate", "unchanged"):
            on_item(docs[i].origin, outcome)
    return [o or "failed" for o in outcomes]


def _store_article(art: Article, result: ExtractionResult | None, store, report: IngestReport) -> str:
    if art.duplicate_of:
        # a syndicated copy: stored as a source of the original's incidents, not extracted again
        store.add_article(art, lsh_bands(art.signature))
        for inc in store.incidents_for_article(art.duplicate_of):
            store.add_incident(inc, art.id, "syndicated")
        report.duplicate += 1
        return "duplicate"
    if result is None:
        raise IncidexError("extraction failed")
    store.add_article(art, lsh_bands(art.signature))
    for inc in result.incidents:
        _, merged = resolve_incident(inc, art.id, store, _role(inc, result.incidents))
        report.merged += merged
    report.new += 1
    report.incidents += len(result.incidents)
    return "new"


def _role(inc, incidents) -> str:
    """Background: an old incident, or one told before the article's main one
    ("it is the second hospital the gang claimed this month: earlier it hit X")."""
    from .extraction.dates import date_range

    if inc.background:
        return "background"
    main = incidents[0]
    if inc is not main and inc.date and main.date:
        lo_main, _ = date_range(main.date)
        lo_inc, _ = date_range(inc.date)
        if lo_inc and lo_main and lo_inc < lo_main:
            return "background"
    return "primary"


def _extract_isolated(articles: list[Article], extractor: Extractor, report: IngestReport, store, on_item) -> list[ExtractionResult]:
    """Extract the chunk together; if that fails, one by one so only the bad article fails."""
    if not articles:
        return []
    try:
        return extractor.extract_many(articles)
    except Exception:
        out = []
        for art in articles:
            try:
                out.append(extractor.extract_article(art))
            except Exception as e:
                _fail(report, store, ReadFailure(art.origin or art.id, f"extraction failed: {type(e).__name__}: {e}"), on_item)
        return out


def _duplicate_in_chunk(art: Article, earlier: list[Article | None]) -> str | None:
    """Syndicated copies arriving in the same chunk as their original."""
    from .resolve.duplicates import is_near_duplicate

    for other in earlier:
        if other is not None and is_near_duplicate(art.signature, other.signature):
            return other.duplicate_of or other.id
    return None


def _fail(report: IngestReport, store, failure: ReadFailure, on_item) -> None:
    report.failed.append(failure)
    try:
        store.record_failure(failure.origin, failure.reason, "ingest")
    except Exception:  # reporting must never stop the batch
        pass
    if on_item:
        on_item(failure.origin, "failed")
