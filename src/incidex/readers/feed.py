"""RSS 0.9x / 1.0 / 2.0 and Atom feeds (feedparser): one document per entry.

The entry text is its longest ``content`` or else its ``summary`` (HTML
flattened to lines of text). With ``fetch_pages`` the linked page is fetched
and read with the HTML reader instead; when that fails, the failure is
reported and the entry text is used.

Entity expansion: feedparser's strict parser is expat through SAX, which
expands entities declared in an internal DOCTYPE subset (the "billion
laughs"); feedparser removes only declarations that start a line, and keeps
some it deems safe. So a feed that declares entities is refused outright
(defusedxml decides). External entities and DTDs are never fetched (expat
does not load them; tests/test_hostile.py checks both with a local server).
Parsing runs under ``read_time_budget_seconds``; see ``tame`` for the prolog.
"""
from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from incidex.cleaning.dates import normalize_date
from incidex.limits import BudgetExceeded, hard_time_limit, limits
from incidex.readers.decode import clean_text
from incidex.readers.html import fragment_to_text, read_html
from incidex.records import InputError, RawDocument, ReadFailure

log = logging.getLogger(__name__)

ENTITY_REFUSAL = "feed declares XML entities in its DOCTYPE (refused: entity expansion is unsafe)"
_ROOT = re.compile(rb"<[A-Za-z_]")
_NEWLINE_RUN = re.compile(rb"\n[ \t\r\n]*")


def entity_refusal(data: bytes) -> str | None:
    """A reason to refuse a feed that declares entities, or None.

    Any ``<!ENTITY`` sends the document to defusedxml, which refuses entity
    declarations (and external references) wherever they are; text that merely
    shows one (in CDATA, escaped) parses and is not refused. Linear in the size.
    """
    if b"<!ENTITY" not in data.upper():
        return None
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        return ENTITY_REFUSAL
    except Exception:  # not well-formed: feedparser reports that as bozo
        pass
    return None


def tame(data: bytes, text: str | None, max_prolog: int) -> bytes:
    """The feed as feedparser should see it; ValueError (with the reason) when its prolog is too big.

    feedparser looks for DOCTYPE and ENTITY declarations before the root element
    with patterns that cost time quadratic in the number of blank lines there
    (20,000 newlines: 3 s; 200,000: minutes) or of unclosed declarations. So
    what comes before the root is capped (``max_feed_prolog_bytes``), its
    blank-line runs are folded to one newline and a second DOCTYPE is refused. UTF-16/32 feeds (NUL bytes) are first re-encoded as UTF-8 from
    ``text``, the decoded document, so the fold sees the characters.
    """
    if b"\x00" in data[:4096] and text is not None:
        data = re.sub(r"^(<\?xml[^>]*?encoding=)([\"'])[^\"']*\2", r"\1\2utf-8\2", text.lstrip("\ufeff"),
                      count=1).encode("utf-8")
    m = _ROOT.search(data)
    end = m.start() if m else len(data)
    head = _NEWLINE_RUN.sub(b"\n", data[:end])
    if len(head) > max_prolog:
        raise ValueError(f"more than {max_prolog} bytes before the feed's root element (max_feed_prolog_bytes)")
    if head.upper().count(b"<!DOCTYPE") > 1:  # each unclosed one costs feedparser a scan to the root
        raise ValueError("more than one DOCTYPE declaration (not XML)")
    return head + data[end:]


def _text_of(detail: Any, value: str | None) -> str:
    if not value:
        return ""
    kind = (detail or {}).get("type", "") if isinstance(detail, dict) else ""
    if "html" in kind or "<" in value:
        return fragment_to_text(value)
    return "\n".join(x.strip() for x in value.split("\n") if x.strip())


def entry_text(entry: Any) -> str:
    """Longest content block, else summary, as lines of text."""
    best = ""
    for c in entry.get("content") or []:
        t = _text_of(c, c.get("value"))
        if len(t) > len(best):
            best = t
    if not best:
        best = _text_of(entry.get("summary_detail"), entry.get("summary"))
    return best


def entry_published(entry: Any) -> str | None:
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if raw:
            iso = normalize_date(raw)
            if iso:
                return iso
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            return normalize_date(parsed)
    return None


def entry_hints(entry: Any, fetched_at: str | None) -> dict[str, str | None]:
    title = entry.get("title")
    if title and "html" in (entry.get("title_detail") or {}).get("type", ""):
        title = " ".join(fragment_to_text(title).split("\n"))
    author = (entry.get("author_detail") or {}).get("name") or entry.get("author")
    src = entry.get("source") or {}
    source = urlsplit(src.get("href") or "").hostname if isinstance(src, dict) else None
    hints = {"title": title or None, "author": author or None, "published": entry_published(entry),
             "external_id": entry.get("id") or None, "source": source, "fetched_at": fetched_at}
    # character references in the feed ("&#0;", "&#x1;") bring what decoding removed back
    return {k: clean_text(v) if isinstance(v, str) else None for k, v in hints.items()}


def parse_feed(data: bytes, origin: str, *, url: str | None = None, content_type: str | None = None,
               settings: dict[str, Any] | None = None, text: str | None = None) -> list[Any] | ReadFailure:
    """The feed's entries (feedparser dicts), or one failure for the whole feed.

    ``text`` is the decoded document when the caller has it (needed for UTF-16/32 feeds)."""
    import feedparser

    lim = limits(settings)
    try:
        data = tame(data, text, lim.max_feed_prolog_bytes)
    except ValueError as exc:
        return ReadFailure(origin, str(exc))
    refusal = entity_refusal(data)
    if refusal:
        return ReadFailure(origin, refusal)
    headers = {}
    if url:
        headers["content-location"] = url
    if content_type:
        headers["content-type"] = content_type
    try:
        with hard_time_limit(lim.read_time_budget_seconds):
            parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    except BudgetExceeded as exc:
        return ReadFailure(origin, f"{exc.reason} parsing the feed (read_time_budget_seconds)")
    except Exception as exc:  # feedparser itself fails on some broken input (a cut XML declaration)
        return ReadFailure(origin, f"malformed feed: feedparser failed ({type(exc).__name__}: {exc})")
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("bozo"):
            return ReadFailure(origin, f"malformed feed: {parsed.get('bozo_exception')}")
        if not parsed.get("version"):
            return ReadFailure(origin, "not an RSS or Atom feed")
        return ReadFailure(origin, "feed has no entries")
    if parsed.get("bozo"):
        log.warning("%s: malformed feed (%s); reading its %d entries anyway",
                    origin, parsed.get("bozo_exception"), len(entries))
    return [entry_fields(e) for e in entries]


# feedparser's entry keys that incidex reads, with the type each must have
ENTRY_FIELDS: dict[str, type] = {
    **dict.fromkeys(("title", "link", "id", "author", "summary", "published", "updated", "created"), str),
    **dict.fromkeys(("title_detail", "summary_detail", "author_detail", "source"), dict),
    **dict.fromkeys(("published_parsed", "updated_parsed", "created_parsed"), time.struct_time),
    "content": list,
}


def entry_fields(entry: Any) -> dict[str, Any]:
    """A feedparser entry as a plain dict holding only the fields incidex reads, each of its
    expected type. Broken markup gives odd shapes (``<links depots>`` made ``link`` a dict),
    and every reader of entries (read_entry, the watcher) may then trust the types."""
    out = {k: v for k, v in entry.items() if k in ENTRY_FIELDS and isinstance(v, ENTRY_FIELDS[k])}
    if "content" in out:
        out["content"] = [c for c in out["content"] if isinstance(c, dict) and isinstance(c.get("value"), str)]
    return out


def read_feed(data: bytes, origin: str, *, url: str | None = None, content_type: str | None = None,
              fetch_pages: bool = False, settings: dict[str, Any] | None = None,
              fetched_at: str | None = None, text: str | None = None) -> Iterator[RawDocument | ReadFailure]:
    """Parse feed bytes; yield a document (or failure) per entry, or one failure for the feed."""
    entries = parse_feed(data, origin, url=url, content_type=content_type, settings=settings, text=text)
    if isinstance(entries, ReadFailure):
        yield entries
        return
    for i, entry in enumerate(entries, 1):
        yield from read_entry(entry, f"{origin}#entry-{i}", fetch_pages=fetch_pages, settings=settings,
                              fetched_at=fetched_at)


def read_entry(entry: Any, here: str, *, fetch_pages: bool = False, settings: dict[str, Any] | None = None,
               fetched_at: str | None = None, fetcher: Callable[[str], Any] | None = None,
               ) -> Iterator[RawDocument | ReadFailure]:
    """One entry as a document (or failure); ``here`` names it in reports.

    With ``fetch_pages`` the linked page is fetched by ``fetcher(url) ->
    FetchResult`` (default: ``fetch`` under ``settings``), which may raise
    ``InputError`` (the watcher's adds robots.txt and politeness).
    """
    hints = entry_hints(entry, fetched_at)
    text = clean_text(entry_text(entry))
    link = clean_text(entry.get("link") or "") or None
    if fetch_pages and link:
        page = _read_linked_page(link, here, hints, settings, fetcher)
        if isinstance(page, RawDocument):
            yield page
            return
        if text:
            yield ReadFailure(here, f"{page}; used the feed entry text instead")
        else:
            yield ReadFailure(here, f"{page}; the feed entry has no text either")
            return
    if not text:
        yield ReadFailure(here, "feed entry has no text (no content or summary)"
                          + ("" if fetch_pages or not link else "; --fetch-pages reads the linked page"))
        return
    yield RawDocument(origin=here, content=text, kind="text", url=link or None, **hints)


def _read_linked_page(link: str, origin: str, hints: dict[str, str | None], settings: dict[str, Any] | None,
                      fetcher: Callable[[str], Any] | None = None) -> RawDocument | str:
    """The linked page as a document, or the reason it could not be read."""
    from incidex.readers.decode import decode_bytes
    from incidex.readers.fetch import fetch
    from incidex.readers.sniff import by_content_type, confirm
    from incidex.readers.text import read_text
    from incidex.readers.util import utc_now

    try:
        res = fetcher(link) if fetcher else fetch(link, settings)
        text = decode_bytes(res.content, link, settings, what="response")
        kind = confirm(by_content_type(res.content_type) or "html", text)
        page_hints = {**hints, "fetched_at": utc_now()}
        if kind == "html":
            return read_html(text, origin, url=res.final_url, settings=settings, **page_hints)
        if kind == "text":
            return read_text(text, origin, url=res.final_url, **page_hints)
        return f"could not read the linked page {link}: it is a {kind} document, not an article page"
    except InputError as exc:
        return f"could not read the linked page {link}: {exc.reason}"
