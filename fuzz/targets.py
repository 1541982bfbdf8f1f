"""What every fuzz target and property test checks: bytes in, a valid result or the documented error out.

Each ``target_*`` takes arbitrary bytes, runs one part of incidex on them and
raises ``AssertionError`` when a documented property does not hold; any other
exception is a crash. The readers never raise (a bad input becomes a
``ReadFailure``); the cleaner raises only ``InputError``; the extractor returns
a result whose evidence offsets lie inside the body and slice-equal their text,
and the same result when run twice.

The time budgets of ``[limits]`` are switched off here: a slow input must show
as a hang to the fuzzer (libFuzzer's ``-timeout``), not be reported politely.
Used by fuzz/fuzz.py (atheris) and tests/test_properties.py (hypothesis).
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache

from incidex.records import Article, InputError, RawDocument, ReadFailure
from incidex.settings import load_settings

ORIGIN = "fuzz"


@lru_cache(maxsize=1)
def fuzz_settings() -> dict:
    s = copy.deepcopy(load_settings())
    s["limits"].update(time_budget_seconds=0, read_time_budget_seconds=0, memory_budget_mb=0)
    return s


def check_document(doc: RawDocument | ReadFailure) -> None:
    """A reader's item: a document with clean text, or a failure with a reason."""
    if isinstance(doc, ReadFailure):
        assert isinstance(doc.origin, str) and doc.origin, doc
        assert isinstance(doc.reason, str) and doc.reason, doc
        return
    assert isinstance(doc, RawDocument), type(doc)
    assert isinstance(doc.content, str)
    assert "\x00" not in doc.content, "NUL byte in content"
    doc.content.encode("utf-8")  # no lone surrogates
    for field in ("url", "title", "author", "published", "source", "external_id"):
        value = getattr(doc, field)
        assert value is None or isinstance(value, str), (field, value)


def _read(data: bytes, hint: str | None) -> list:
    from incidex.readers import read_bytes

    items = list(read_bytes(data, f"{ORIGIN}.{hint or 'any'}", hint=hint, settings=fuzz_settings()))
    assert items, "a reader must yield a document or a failure"
    for item in items:
        check_document(item)
    return items


def target_text(data: bytes) -> None:
    _read(data, "text")


def target_html(data: bytes) -> None:
    _read(data, "html")


def target_jsonl(data: bytes) -> None:
    from incidex.readers.jsonl import read_jsonl

    items = list(read_jsonl(data.splitlines(keepends=True), f"{ORIGIN}.jsonl", fuzz_settings()))
    assert items
    for item in items:
        check_document(item)
    _read(data, "json")


def target_feed(data: bytes) -> None:
    _read(data, "feed")


def target_any(data: bytes) -> None:
    """Sniffing decides the reader (stdin, unknown extensions)."""
    _read(data, None)


def _text(data: bytes) -> str:
    from incidex.readers.decode import clean_text

    return clean_text(data.decode("utf-8", errors="replace"))


def check_clean(doc: RawDocument) -> Article | None:
    """Clean a document: an Article or InputError; cleaning its body again changes nothing."""
    from incidex.cleaning import clean

    try:
        art = clean(doc, fuzz_settings())
    except InputError:
        return None
    assert art.body and art.body == art.body.strip("\n"), "body has no text or stray blank lines"
    again = clean(RawDocument(origin=doc.origin, content=art.body, title=doc.title, author=doc.author),
                  fuzz_settings())
    assert again.body == art.body, f"cleaning is not idempotent:\n{art.body!r}\n->\n{again.body!r}"
    assert again.id == art.id
    return art


def target_clean(data: bytes) -> None:
    check_clean(RawDocument(origin=ORIGIN, content=_text(data)))


@lru_cache(maxsize=1)
def extractor():
    from incidex.extraction.pipeline import Extractor

    return Extractor(settings=fuzz_settings())


def check_extraction(article: Article) -> None:
    """Evidence inside the body and equal to its slice; the same result twice."""
    ex = extractor()
    first = ex.extract_article(article)
    body = article.body
    for inc in first.incidents:
        for ev in inc.evidence:
            assert 0 <= ev.start <= ev.end <= len(body), (ev, len(body))
            assert body[ev.start:ev.end] == ev.text, (ev, body[ev.start:ev.end])
    second = ex.extract_article(article)
    a = json.dumps(first.to_dict(), sort_keys=True, default=str)
    b = json.dumps(second.to_dict(), sort_keys=True, default=str)
    assert a == b, "extracting the same article twice gave different results"


def target_extract(data: bytes) -> None:
    text = _text(data)
    if not text.strip():
        return
    art = check_clean(RawDocument(origin=ORIGIN, content=text, published="2024-03-12"))
    if art is not None:
        check_extraction(art)


TARGETS = {
    "text": target_text,
    "html": target_html,
    "jsonl": target_jsonl,
    "feed": target_feed,
    "extract": target_extract,
}
