"""Ingest: files, directories, URLs and stdin -> ``RawDocument`` (or ``ReadFailure``).

``read(inputs)`` takes each input in turn:

* a file: its reader is chosen by extension (``.txt .text .md``, ``.html .htm
  .xhtml``, ``.jsonl .ndjson``, ``.json``, ``.xml .rss .atom .rdf``) and
  confirmed by a look at the content; an unknown extension is sniffed;
* a directory: every non-hidden article file below it, in name order; README,
  LICENSE, gold/annotation data, code, configuration, binaries and JSON that
  is not an article archive are skipped (``select.skip_reason``), each passed
  to ``on_skip(path, reason)``;
* an http(s) URL: fetched safely (see ``fetch``), read by content type and content;
* ``-``: standard input, sniffed.

One bad item never stops the rest: it becomes a ``ReadFailure(origin, reason)``
whose ``origin`` names the file, ``file:line`` or ``feed#entry-N`` and whose
reason says what to do about it. ``read_articles`` also cleans each document
and reports the ones with no article text the same way.
"""
from __future__ import annotations

import itertools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from incidex.readers.decode import binary_reason, decode_bytes, too_large
from incidex.readers.feed import read_feed
from incidex.readers.fetch import fetch
from incidex.readers.html import read_html
from incidex.readers.jsonl import read_json, read_jsonl
from incidex.readers.select import skip_reason
from incidex.readers.sniff import Format, by_content, by_content_type, by_extension, confirm
from incidex.readers.text import read_text
from incidex.readers.util import resolve_settings, utc_now
from incidex.records import Article, InputError, RawDocument, ReadFailure

__all__ = ["read", "read_articles", "read_bytes", "fetch"]

log = logging.getLogger(__name__)

STDIN = "-"
STDIN_ORIGIN = "<stdin>"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SNIFF_BYTES = 65536
SkipHook = Callable[[str, str], None]  # (path, reason) of a directory's file that is not an article


def _settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    return resolve_settings(settings)


def _max_bytes(settings: dict[str, Any]) -> int:
    return int(settings.get("ingest", {}).get("max_input_bytes", 10_000_000))


def read(inputs: Iterable[str], *, fetch_pages: bool = False, settings: dict[str, Any] | None = None,
         on_skip: SkipHook | None = None) -> Iterator[RawDocument | ReadFailure]:
    """Read every input; yield documents and failures in input order (``on_skip``: see ``read_path``)."""
    settings = _settings(settings)
    for item in inputs:
        item = str(item)
        try:
            if item == STDIN:
                yield from read_stream(sys.stdin.buffer, STDIN_ORIGIN, fetch_pages=fetch_pages, settings=settings)
            elif _URL.match(item):
                yield from read_url(item, fetch_pages=fetch_pages, settings=settings)
            else:
                yield from read_path(item, fetch_pages=fetch_pages, settings=settings, on_skip=on_skip)
        except InputError as exc:
            yield ReadFailure(exc.origin, exc.reason)
        except Exception as exc:  # a reader bug must not stop the batch
            log.exception("unexpected error reading %s", item)
            yield ReadFailure(item, f"unexpected error ({exc.__class__.__name__}: {exc}); please report it")


def read_articles(inputs: Iterable[str], *, fetch_pages: bool = False,
                  settings: dict[str, Any] | None = None) -> Iterator[Article | ReadFailure]:
    """``read`` then ``clean``: a document left with no article text becomes a ReadFailure."""
    from incidex.cleaning import clean

    settings = _settings(settings)
    for doc in read(inputs, fetch_pages=fetch_pages, settings=settings):
        if isinstance(doc, ReadFailure):
            yield doc
            continue
        try:
            yield clean(doc, settings)
        except InputError as exc:
            yield ReadFailure(exc.origin, exc.reason)
        except Exception as exc:  # a cleaner bug must not stop the batch
            log.exception("unexpected error cleaning %s", doc.origin)
            yield ReadFailure(doc.origin, f"unexpected error while cleaning ({exc.__class__.__name__}: {exc}); "
                                          "please report it")


# --- paths -----------------------------------------------------------------------------

def _hidden(name: str) -> bool:
    return name.startswith(".")


def walk(root: Path) -> Iterator[Path]:
    """Files below ``root`` in name order, without hidden files and directories."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _hidden(d))
        for name in sorted(filenames):
            if not _hidden(name):
                yield Path(dirpath) / name


def article_files(root: Path, settings: dict[str, Any] | None = None,
                  on_skip: SkipHook | None = None) -> Iterator[Path]:
    """The article files below ``root`` (``walk`` less what ``select.skip_reason`` skips)."""
    max_bytes = _max_bytes(_settings(settings))
    for f in walk(root):
        why = skip_reason(f, max_bytes)
        if why is None:
            yield f
        elif on_skip is not None:
            on_skip(str(f), why)


def read_path(path: str | Path, *, fetch_pages: bool = False, settings: dict[str, Any] | None = None,
              on_skip: SkipHook | None = None) -> Iterator[RawDocument | ReadFailure]:
    """A file, or a directory's article files; ``on_skip(path, reason)`` hears of each file skipped."""
    settings = _settings(settings)
    p = Path(path)
    if p.is_dir():
        for f in article_files(p, settings, on_skip):
            try:
                yield from read_file(f, fetch_pages=fetch_pages, settings=settings)
            except InputError as exc:
                yield ReadFailure(exc.origin, exc.reason)
        return
    if not p.exists():
        yield ReadFailure(str(path), "no such file or directory")
        return
    yield from read_file(p, fetch_pages=fetch_pages, settings=settings)


def _bounded_lines(fh: IO[bytes], max_bytes: int) -> Iterator[bytes]:
    """Lines of a binary stream; a line longer than ``max_bytes`` is yielded cut (and reported)."""
    while True:
        line = fh.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:  # skip the rest of the over-long line
                more = fh.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
            line += b"\n"  # still longer than the limit: reported as too large
        yield line


def read_file(path: Path, *, fetch_pages: bool = False,
              settings: dict[str, Any] | None = None) -> Iterator[RawDocument | ReadFailure]:
    settings = _settings(settings)
    origin = str(path)
    max_bytes = _max_bytes(settings)
    hint = by_extension(path.name)
    try:
        size = path.stat().st_size
        if hint == "jsonl":  # JSONL is read line by line: the limit applies to each line
            with path.open("rb") as fh:
                head = fh.read(8192)
                why = binary_reason(head) if head else None
                if why:
                    yield ReadFailure(origin, why)
                    return
                fh.seek(0)
                yield from read_jsonl(_bounded_lines(fh, max_bytes), origin, settings)
            return
        if size > max_bytes:
            yield ReadFailure(origin, too_large(max_bytes))
            return
        data = path.read_bytes()
    except OSError as exc:
        yield ReadFailure(origin, f"cannot read: {exc.strerror or exc}")
        return
    yield from read_bytes(data, origin, hint=hint, markdown=path.suffix.lower() in (".md", ".markdown"),
                          fetch_pages=fetch_pages, settings=settings)


# --- bytes from anywhere --------------------------------------------------------------

def read_bytes(data: bytes, origin: str, *, hint: Format | None = None, url: str | None = None,
               content_type: str | None = None, markdown: bool = False, fetch_pages: bool = False,
               settings: dict[str, Any] | None = None, fetched_at: str | None = None,
               what: str = "file") -> Iterator[RawDocument | ReadFailure]:
    """Decode ``data``, decide its format (``hint`` confirmed by the content) and read it."""
    settings = _settings(settings)
    try:
        text = decode_bytes(data, origin, settings, what=what)
    except InputError as exc:
        yield ReadFailure(exc.origin, exc.reason)
        return
    fmt = confirm(hint, text)
    hints = {"url": url, "fetched_at": fetched_at}
    if fmt == "feed":
        yield from read_feed(data, origin, url=url, content_type=content_type, fetch_pages=fetch_pages,
                             settings=settings, fetched_at=fetched_at, text=text)
    elif fmt == "html":
        try:
            yield read_html(text, origin, settings=settings, **hints)
        except InputError as exc:
            yield ReadFailure(exc.origin, exc.reason)
    elif fmt == "json":
        yield from read_json(text, origin, settings, fetched_at)
    elif fmt == "jsonl":
        yield from read_jsonl((ln.encode("utf-8") for ln in text.split("\n")), origin, settings, fetched_at)
    else:
        doc = read_text(text, origin, markdown=markdown, **hints)
        if not doc.content.strip():
            yield ReadFailure(origin, "no text after the header lines")
        else:
            yield doc


def read_url(url: str, *, fetch_pages: bool = False,
             settings: dict[str, Any] | None = None) -> Iterator[RawDocument | ReadFailure]:
    settings = _settings(settings)
    try:
        res = fetch(url, settings)
    except InputError as exc:
        yield ReadFailure(url, exc.reason)
        return
    yield from read_bytes(res.content, url, hint=by_content_type(res.content_type), url=res.final_url,
                          content_type=res.content_type, fetch_pages=fetch_pages, settings=settings,
                          fetched_at=utc_now(), what="response")


def read_stream(stream: IO[bytes], origin: str = STDIN_ORIGIN, *, fetch_pages: bool = False,
                settings: dict[str, Any] | None = None) -> Iterator[RawDocument | ReadFailure]:
    """A byte stream (stdin): sniffed; JSON Lines are read line by line, anything else whole."""
    settings = _settings(settings)
    max_bytes = _max_bytes(settings)
    head = stream.read(_SNIFF_BYTES)
    if not binary_reason(head) and by_content(head.decode("utf-8", "ignore")) == "jsonl":
        rest = _bounded_lines(stream, max_bytes)
        # re-join the sniffed head with the rest of the stream, line by line
        lines = itertools.chain(_split_keep(head), rest)
        yield from read_jsonl(_join_partial(lines), origin, settings)
        return
    rest = stream.read(max_bytes + 1 - len(head)) if len(head) == _SNIFF_BYTES else b""
    data = head + rest
    if len(data) > max_bytes:
        yield ReadFailure(origin, too_large(max_bytes))
        return
    yield from read_bytes(data, origin, fetch_pages=fetch_pages, settings=settings, what="input")


def _split_keep(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _join_partial(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Glue a line cut by the sniffing read back to its continuation."""
    pending = b""
    for line in lines:
        pending += line
        if pending.endswith(b"\n"):
            yield pending
            pending = b""
    if pending:
        yield pending


# --- planning: what a run will read, and how much ----------------------------------------

def count_lines(path: Path) -> int:
    """Lines of a file (a last line without a newline counts), by a byte scan."""
    n, last = 0, b"\n"
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


def _items_in(path: Path, settings: dict[str, Any]) -> int | None:
    """How many items reading ``path`` yields (JSONL: lines; a JSON list: its length; a feed: unknown)."""
    hint = by_extension(path.name)
    try:
        if hint == "jsonl":
            return count_lines(path)
        if hint == "feed":
            return None
        if hint == "json" and path.stat().st_size <= _max_bytes(settings):
            import json

            try:
                data = json.loads(path.read_bytes())
            except ValueError:
                return 1
            return len(data) if isinstance(data, list) and data else 1
    except OSError:
        return 1
    return 1


def plan(inputs: Iterable[str], settings: dict[str, Any] | None = None,
         on_skip: SkipHook | None = None) -> tuple[list[str], int | None]:
    """The inputs with directories expanded to their article files (skips reported to ``on_skip``),
    and the number of items they hold when it can be known up front (files, JSONL lines, JSON
    lists), else None (URLs, stdin, feeds). Reading the returned list reads what ``read(inputs)`` would."""
    settings = _settings(settings)
    items: list[str] = []
    total: int | None = 0
    for item in map(str, inputs):
        if item == STDIN or _URL.match(item) or not Path(item).is_dir():
            files = [item]
        else:
            files = [str(f) for f in article_files(Path(item), settings, on_skip)]
        items += files
        for f in files:
            n = None if (f == STDIN or _URL.match(f)) else (_items_in(Path(f), settings) if Path(f).is_file() else 1)
            total = None if total is None or n is None else total + n
    return items, total
