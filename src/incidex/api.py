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
from .resolve.duplicates import bands as lsh_bands
from .resolve.duplicates import find_duplicate, signature


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

    def to_dict(self) -> dict:
        return {"read": self.read, "new": self.new, "duplicate": self.duplicate, "unchanged": self.unchanged,
                "failed": len(self.failed), "incidents": self.incidents,
                "failures": [{"origin": f.origin, "reason": f.reason} for f in self.failed]}


def ingest(inputs: Iterable[str], store, *, fetch_pages: bool = False, extractor: Extractor | None = None,
           on_item: Callable[[str, str], None] | None = None) -> IngestReport:
    """Read, clean, deduplicate, extract and store; one transaction per article.

    ``on_item(origin, outcome)`` is called after each item (for progress bars);
    outcome is one of new, duplicate, unchanged, failed.
    """
    report = IngestReport()
    ex = extractor or default_extractor()
    for item in read(inputs, fetch_pages=fetch_pages):
        if isinstance(item, ReadFailure):
            _fail(report, store, item, on_item)
            continue
        report.read += 1
        try:
            outcome = ingest_document(item, store, ex, report)
        except IncidexError as e:
            _fail(report, store, ReadFailure(item.origin, getattr(e, "reason", str(e))), on_item)
            continue
        except Exception as e:  # one bad item never stops the batch
            _fail(report, store, ReadFailure(item.origin, f"internal error: {type(e).__name__}: {e}"), on_item)
            continue
        if on_item:
            on_item(item.origin, outcome)
    return report


def ingest_document(doc: RawDocument, store, extractor: Extractor, report: IngestReport | None = None) -> str:
    article = clean(doc)
    if store.has_article(article.id):
        if report:
            report.unchanged += 1
        return "unchanged"
    article.ingested_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    article.signature = signature(article.body)
    dup = find_duplicate(article, store)
    if dup:
        article.duplicate_of = dup
        with store.transaction():
            store.add_article(article, lsh_bands(article.signature))
            for inc in store.incidents_for_article(dup):
                store.add_incident(inc, article.id, "syndicated")
        if report:
            report.duplicate += 1
        return "duplicate"
    result = extractor.extract_article(article)
    with store.transaction():
        store.add_article(article, lsh_bands(article.signature))
        for inc in result.incidents:
            store.add_incident(inc, article.id, "background" if inc.background else "primary")
    if report:
        report.new += 1
        report.incidents += len(result.incidents)
    return "new"


def _fail(report: IngestReport, store, failure: ReadFailure, on_item) -> None:
    report.failed.append(failure)
    try:
        store.record_failure(failure.origin, failure.reason, "ingest")
    except Exception:  # reporting must never stop the batch
        pass
    if on_item:
        on_item(failure.origin, "failed")
