"""The library surface: what the CLI and the REST API are thin skins over.

    >>> import incidex
    >>> result = incidex.extract("Hackers hit the city of Springfield ...", published="2024-05-02")
    >>> [i.victims for i in result.incidents]

``ingest`` runs the whole pipeline (read -> clean -> dedup -> extract -> store)
one article per transaction, so a crash loses nothing committed and a re-run
adds nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .alerts import after_commit
from .cleaning import clean
from .extraction.pipeline import ExtractionFailure, Extractor, default_extractor
from .limits import hard_time_limit, limits
from .readers import read
from .records import Article, ExtractionResult, IncidexError, InputError, RawDocument, ReadFailure
from .settings import load_settings
from .resolve.duplicates import bands as lsh_bands
from .resolve.duplicates import ChunkCandidates, ChunkCopies, find_duplicate, signature
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
    articles: list[str] = field(default_factory=list)  # ids of the articles read (new, duplicate or unchanged)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of directory files that are not articles
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (origin, what) kept but worth knowing: a date not read

    def to_dict(self) -> dict:
        return {"read": self.read, "new": self.new, "duplicate": self.duplicate, "unchanged": self.unchanged,
                "failed": len(self.failed), "incidents": self.incidents, "merged": self.merged,
                "articles": list(self.articles),
                "failures": [{"origin": f.origin, "reason": f.reason} for f in self.failed],
                "skipped": [{"origin": o, "reason": r} for o, r in self.skipped],
                "warnings": [{"origin": o, "warning": w} for o, w in self.warnings]}


def ingest(inputs: Iterable[str], store, *, fetch_pages: bool = False, extractor: Extractor | None = None,
           on_item: Callable[[str, str], None] | None = None, chunk_size: int | None = None,
           settings: dict | None = None) -> IngestReport:
    """Read, clean, deduplicate, extract and store, ``chunk_size`` articles at a time.

    Each chunk is extracted together (one parser batch) and committed in one
    transaction, with a savepoint per article so one bad article never takes
    its neighbours down. A crash loses at most the chunk in flight, nothing
    committed; re-running skips what is stored. ``on_item(origin, outcome)``
    is called per item once its chunk is committed (outcome: new, duplicate,
    unchanged, failed). ``settings``: the reading settings (e.g. which addresses may be fetched).
    Files of a directory that are not articles are skipped, each in ``report.skipped`` with why.
    """
    skipped: list[tuple[str, str]] = []
    report = ingest_items(read(inputs, fetch_pages=fetch_pages, settings=settings,
                               on_skip=lambda path, why: skipped.append((path, why))),
                          store, extractor=extractor, on_item=on_item, chunk_size=chunk_size)
    report.skipped = skipped
    return report


def read_content(content: str, *, kind: str | None = None, origin: str = "<text>", url: str | None = None,
                 title: str | None = None, published: str | None = None, source: str | None = None,
                 author: str | None = None, settings: dict | None = None) -> Iterator[RawDocument | ReadFailure]:
    """Text or HTML handed over as a string (pasted, posted), read like a file of that kind.

    ``kind`` ("text" or "html") is a hint the content confirms; metadata given
    here wins over what the reader found in the content.
    """
    from .readers import read_bytes

    given = {"url": url, "title": title, "published": published, "source": source, "author": author}
    for item in read_bytes(content.encode("utf-8"), origin, hint=kind, url=url, settings=settings, what="text"):
        if isinstance(item, RawDocument):
            for k, v in given.items():
                if v:
                    setattr(item, k, v)
        yield item


def ingest_items(items: Iterable[RawDocument | ReadFailure], store, *, extractor: Extractor | None = None,
                 on_item: Callable[[str, str], None] | None = None, chunk_size: int | None = None) -> IngestReport:
    """The ingest loop of ``ingest`` over documents already read (``read``, ``read_content``)."""
    report = IngestReport()
    ex = extractor or default_extractor()
    size = chunk_size or int(load_settings()["ingest"].get("chunk_size", 32))
    chunk: list[RawDocument] = []
    for item in items:
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


@dataclass
class Prepared:
    """One input item after the parallel part of ingest (read, clean, dedup pre-check, extract).

    ``article`` is cleaned and signed; ``result`` its extraction (None when the
    pre-check took it for a copy, so it was not extracted); ``failure`` says
    why an item has no article; ``unchanged`` marks an article already stored;
    ``read`` is False for an input the readers could not read at all.
    Picklable and free of store handles: the batch engine ships these from
    workers to the process that stores them.
    """

    origin: str
    article: Article | None = None
    result: ExtractionResult | None = None
    failure: ReadFailure | None = None
    unchanged: bool = False
    article_id: str | None = None  # once cleaned, also for unchanged items
    read: bool = True
    stage: str = "ingest"  # where the failure happened: ingest (read, clean) or extract
    warning: str | None = None  # stored, but something given was not understood (a publication date)


def unread_date_warning(given, published: str | None) -> str | None:
    """A publication date the input gave that no reader understood: said, never a silent null."""
    if published or given is None or not str(given).strip():
        return None
    return (f"published: {str(given)[:60]!r} is not a date incidex reads (ISO 8601 '2017-01-03', "
            "'2017_01_03', '20170103', RFC 2822 'Tue, 03 Jan 2017 10:00:00 GMT', '3 January 2017', "
            "'January 3, 2017'); the article is stored without a publication date, so relative dates "
            "in it ('on Monday') are not resolved")


def prepare(docs: Iterable[RawDocument | ReadFailure], extractor: Extractor, store=None) -> list[Prepared]:
    """Clean, sign, pre-check and extract a batch of documents: no writes, any process.

    ``store`` (optional, read only) lets the pre-check skip articles already
    stored and copies of stored articles before the costly extraction;
    without it only copies inside the batch are skipped. The final verdict
    on duplicates is ``commit_prepared``'s, so the answers never depend on
    how the input was cut into batches.
    """
    items: list[Prepared] = []
    cleaned: list[tuple[Prepared, Article]] = []
    clean_seconds = limits().read_time_budget_seconds
    for doc in docs:
        if isinstance(doc, ReadFailure):
            items.append(Prepared(doc.origin, failure=doc, read=False))
            continue
        item = Prepared(doc.origin)
        items.append(item)
        try:
            with hard_time_limit(clean_seconds, f"time budget exceeded ({clean_seconds:g}s) while cleaning"):
                art = clean(doc)
            item.article_id = art.id
            item.warning = unread_date_warning(doc.published, art.published)
            cleaned.append((item, art))
        except Exception as e:  # one bad item never stops the batch
            item.failure = _failure(doc.origin, e)
    # the store is asked once for the whole batch: which are stored, then their LSH candidates
    stored = _lookup(lambda: set(store.dedup_info([art.id for _, art in cleaned]))) if store is not None else set()
    seen: set[str] = set()
    signed: list[tuple[Prepared, Article]] = []
    for item, art in cleaned:
        try:
            if art.id in seen or (store is not None and (art.id in stored if stored is not None
                                                         else store.has_article(art.id))):
                item.unchanged = True
                continue
            seen.add(art.id)
            art.signature = signature(art.body)
            signed.append((item, art))
        except Exception as e:
            item.failure = _failure(item.origin, e)
    index = _lookup(lambda: ChunkCandidates(store, [art.signature for _, art in signed])) if store is not None else None
    copies = ChunkCopies([art.signature for _, art in signed])  # syndicated copies arriving in the same batch
    for k, (item, art) in enumerate(signed):
        try:
            dup = (find_duplicate(art, store, check_exact=False, candidates=index.candidates(k) if index else None)
                   if store is not None else None)
            if not dup:
                j = copies.first(k)
                dup = (signed[j][1].duplicate_of or signed[j][1].id) if j is not None else None
            art.duplicate_of = dup
            item.article = art
            copies.keep(k)
        except Exception as e:
            item.failure = _failure(item.origin, e)
    fresh = [i for i in items if i.article is not None and not i.article.duplicate_of]
    for item, outcome in zip(fresh, _extract_isolated([i.article for i in fresh], extractor)):
        if isinstance(outcome, ExtractionResult):
            item.result = outcome
        else:  # over its time or memory budget ([limits]), or a bug: this article only
            item.failure = ReadFailure(item.article.origin or item.article.id, outcome)
            item.stage = "extract"
            item.article = None
    return items


def _failure(origin: str, e: Exception) -> ReadFailure:
    if isinstance(e, IncidexError):
        return ReadFailure(origin, getattr(e, "reason", str(e)))
    return ReadFailure(origin, f"internal error: {type(e).__name__}: {e}")


def _lookup(ask: Callable[[], Any]) -> Any:
    """A batch lookup of the pre-check, or None when it fails: each item then asks
    (and fails) alone, so one bad answer never takes the batch down."""
    try:
        return ask()
    except Exception:
        return None


def commit_prepared(items: Sequence[Prepared], store, report: IngestReport | None = None,
                    on_item: Callable[[str, str], None] | None = None,
                    extractor: Extractor | None = None,
                    on_commit: Callable[[list[str], list[str | None]], None] | None = None) -> list[str]:
    """Store prepared items in their order, in one transaction with a savepoint each.

    The deterministic half of ingest: under the store's write lock every
    article is checked again against everything committed before it (exact
    copy: unchanged; near copy: stored as a syndicated source of the
    original's incidents; else stored and its incidents resolved). So the
    outcome is the same whatever the batch sizes, and two processes writing
    one store at once never store an article twice. Returns the outcome per
    item: new, duplicate, unchanged or failed. ``on_commit(outcomes,
    article_ids)`` runs inside the transaction once the items are stored.
    """
    report = report if report is not None else IngestReport()
    outcomes: list[str] = []
    first: dict[str, int] = {}  # article id -> position of its first item here
    with store.transaction():
        # under the write lock: one lookup for the chunk, then kept up to date as articles are stored
        todo = [i.article if i.failure is None and not i.unchanged else None for i in items]
        for art in todo:
            if art is not None and art.signature is None:
                art.signature = signature(art.body)
        stored = set(store.dedup_info([art.id for art in todo if art is not None]))
        index = ChunkCandidates(store, [art.signature if art is not None else None for art in todo])
        for n, item in enumerate(items):
            earlier = first.get(item.article_id) if item.article_id else None
            if item.failure is not None:
                outcome = "failed"
            elif item.unchanged and earlier is not None and outcomes[earlier] == "failed":
                # a repeat of a text of this batch that could not be stored
                item.failure = ReadFailure(item.origin, f"same text as {items[earlier].origin}, "
                                                        "which could not be stored")
                outcome = "failed"
            elif item.unchanged:
                outcome = "unchanged"
            else:
                try:
                    with store.transaction():  # a savepoint: this article commits whole or not at all
                        outcome = _store_article(item, store, report, extractor, stored, index.candidates(n))
                    if outcome != "unchanged":
                        stored.add(item.article.id)
                        index.stored(n, item.article.id)
                except Exception as e:
                    item.failure = ReadFailure(item.origin, f"could not store: {type(e).__name__}: {e}")
                    outcome = "failed"
            if outcome == "failed":
                _fail(report, store, item.failure, stage=item.stage)
            if item.article_id:
                first.setdefault(item.article_id, n)
            outcomes.append(outcome)
        if on_commit:
            on_commit(outcomes, [i.article_id if o != "failed" else None for i, o in zip(items, outcomes)])
    # webhook alerts for the incidents these articles made or changed (never raises)
    after_commit(store, [i.article_id for i, o in zip(items, outcomes) if o in ("new", "duplicate")])
    for item, outcome in zip(items, outcomes):
        if outcome in ("new", "duplicate") and item.warning:
            report.warnings.append((item.origin, item.warning))
        if outcome == "unchanged":
            report.unchanged += 1
        if outcome != "failed" and item.article_id:
            report.articles.append(item.article_id)
        if on_item:
            on_item(item.origin, outcome)
    return outcomes


def ingest_documents(docs: list[RawDocument], store, extractor: Extractor, report: IngestReport | None = None,
                     on_item: Callable[[str, str], None] | None = None,
                     on_commit: Callable[[list[str], list[str | None]], None] | None = None) -> list[str]:
    """Ingest one chunk; returns the outcome per document.

    ``on_commit(outcomes, article_ids)`` runs inside the chunk's transaction
    once its articles are stored, so what it writes commits with them or not
    at all (the watcher marks its feed entries handled this way).
    """
    return commit_prepared(prepare(docs, extractor, store), store, report, on_item, extractor, on_commit)


def _store_article(item: Prepared, store, report: IngestReport, extractor: Extractor | None,
                   stored: set[str], candidates: list[str]) -> str:
    """``stored``: the ids stored now; ``candidates``: the article's LSH candidates now."""
    art = item.article
    if art.id in stored:  # stored since the pre-check (earlier in this batch, or by another writer)
        return "unchanged"
    art.ingested_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    art.duplicate_of = find_duplicate(art, store, check_exact=False, candidates=candidates)
    if art.duplicate_of:
        # a syndicated copy: stored as a source of the original's incidents, not extracted again
        store.add_article(art, lsh_bands(art.signature))
        for inc in store.incidents_for_article(art.duplicate_of):
            store.add_incident(inc, art.id, "syndicated")
        report.duplicate += 1
        return "duplicate"
    result = item.result
    if result is None:  # taken for a copy of an article that then failed: extract it after all
        outcome = _extract_isolated([art], extractor or default_extractor())[0]
        if not isinstance(outcome, ExtractionResult):
            raise IncidexError(outcome)
        result = outcome
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


def _extract_isolated(articles: list[Article], extractor: Extractor) -> list[ExtractionResult | str]:
    """Extract the articles together, each on its own time and memory budget ([limits]);
    an article over it, or one that trips a bug, fails alone: its entry is then the
    reason, a string ("time budget exceeded (20s)", "extraction failed: ...")."""
    if not articles:
        return []
    if not hasattr(extractor, "extract_each"):  # a stand-in (the benchmarks' no-op extractors)
        return [extractor.extract_article(a) for a in articles]
    return [r.reason if isinstance(r, ExtractionFailure) else r for r in extractor.extract_each(articles)]


def _fail(report: IngestReport, store, failure: ReadFailure, on_item=None, stage: str = "ingest") -> None:
    report.failed.append(failure)
    try:
        store.record_failure(failure.origin, failure.reason, stage)
    except Exception:  # reporting must never stop the batch
        pass
    if on_item:
        on_item(failure.origin, "failed")
