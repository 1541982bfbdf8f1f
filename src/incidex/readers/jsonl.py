"""JSON Lines reader (also NDJSON, and a ``.json`` file holding a list of objects).

One object per line::

    {"id": "a-17", "text": "...", "url": "...", "title": "...", "published": "2024-03-05",
     "source": "news.example.org", "author": "Jane Example"}

``text`` (plain text) or ``html`` (a web page, read with the HTML reader) is
required; ``id`` becomes ``external_id``, ``date`` is accepted for
``published``. A bad line is reported with its number and the rest is read.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from incidex.readers.decode import clean_text, decode_bytes, too_large
from incidex.readers.html import read_html
from incidex.readers.text import read_text
from incidex.readers.util import json_loads
from incidex.records import InputError, RawDocument, ReadFailure

TEXT_KEYS = ("text", "body", "content")
HINT_KEYS = {"url": ("url", "link"), "title": ("title", "headline"), "published": ("published", "date", "published_at"),
             "source": ("source", "publisher", "site"), "author": ("author", "byline")}


def _scalar(v: Any) -> str | None:
    if v is None or isinstance(v, (dict, list)):
        return None
    s = clean_text(str(v)).strip()
    return s or None


def record_to_document(obj: Any, origin: str, where: str, settings: dict[str, Any] | None = None,
                       fetched_at: str | None = None) -> RawDocument | ReadFailure:
    """One decoded JSON value -> RawDocument, or a ReadFailure saying what is wrong with it."""
    if not isinstance(obj, dict):
        return ReadFailure(origin, f"{where} is not a JSON object (found {type(obj).__name__})")
    text_key = next((k for k in TEXT_KEYS if k in obj and obj[k] is not None), None)
    html = obj.get("html")
    if text_key is None and html is None:
        return ReadFailure(origin, f"{where} has neither 'text' nor 'html'")
    hints: dict[str, str | None] = {k: next((_scalar(obj.get(a)) for a in aliases if _scalar(obj.get(a))), None)
                                    for k, aliases in HINT_KEYS.items()}
    if isinstance(obj.get("author"), list):  # ["A", "B"]
        hints["author"] = ", ".join(str(a) for a in obj["author"] if a) or None
    hints["external_id"] = _scalar(obj.get("id"))
    hints["fetched_at"] = fetched_at
    if text_key is not None:
        text = obj[text_key]
        if not isinstance(text, str):
            return ReadFailure(origin, f"{where}: '{text_key}' is not a string")
        if not text.strip():
            if isinstance(html, str) and html.strip():
                text_key = None
            else:
                return ReadFailure(origin, f"{where} has an empty '{text_key}'")
    if text_key is not None:
        doc = read_text(clean_text(obj[text_key]), origin, **hints)
        if isinstance(html, str) and html.strip():
            doc.raw = html
        return doc
    if not isinstance(html, str):
        return ReadFailure(origin, f"{where}: 'html' is not a string")
    try:
        url = hints.pop("url")
        return read_html(html, origin, url=url, settings=settings, **hints)
    except InputError as exc:
        return ReadFailure(origin, f"{where}: {exc.reason}")


def read_jsonl(lines: Iterable[bytes], origin: str, settings: dict[str, Any] | None = None,
               fetched_at: str | None = None, *, first_line: int = 1,
               report_empty: bool = True) -> Iterator[RawDocument | ReadFailure]:
    """Lines of a JSONL file (bytes, each with or without its newline).

    A part of a file (the batch engine reads files in slices) passes the
    number of its ``first_line`` so origins name the line in the whole file,
    and ``report_empty=False`` since a blank slice is no empty file.
    """
    max_bytes = int((settings or {}).get("ingest", {}).get("max_input_bytes", 10_000_000))
    seen_any = False
    for n, raw in enumerate(lines, first_line):
        where = f"line {n}"
        here = f"{origin}:{n}"
        if len(raw) > max_bytes:
            seen_any = True
            yield ReadFailure(here, f"{where} is " + too_large(max_bytes))
            continue
        if not raw.strip():
            continue
        seen_any = True
        try:
            line = decode_bytes(raw, here, settings, what="line")
        except InputError as exc:
            yield ReadFailure(here, f"{where}: {exc.reason}")
            continue
        try:
            obj = json_loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            yield ReadFailure(here, f"invalid JSON on {where}: {exc.msg} (column {exc.colno})")
            continue
        yield record_to_document(obj, here, where, settings, fetched_at)
    if not seen_any and report_empty:
        yield ReadFailure(origin, "empty file (no JSON lines)")


def read_json(text: str, origin: str, settings: dict[str, Any] | None = None,
              fetched_at: str | None = None) -> Iterator[RawDocument | ReadFailure]:
    """A ``.json`` file: a list of objects (or one object) shaped like JSONL lines.

    Text that is not one JSON value but several lines of objects is read as JSONL.
    """
    try:
        data = json_loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            yield from read_jsonl((ln.encode("utf-8") for ln in text.split("\n")), origin, settings, fetched_at)
            return
        yield ReadFailure(origin, f"invalid JSON on line {exc.lineno}: {exc.msg} (column {exc.colno})")
        return
    if isinstance(data, dict):
        yield record_to_document(data, origin, "the JSON object", settings, fetched_at)
        return
    if not isinstance(data, list):
        yield ReadFailure(origin, "JSON file holds neither a list of objects nor an object")
        return
    if not data:
        yield ReadFailure(origin, "empty JSON list")
        return
    for i, obj in enumerate(data, 1):
        yield record_to_document(obj, f"{origin}[{i}]", f"item {i}", settings, fetched_at)
