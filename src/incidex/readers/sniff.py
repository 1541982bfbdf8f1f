"""Which reader an input needs: by file extension, content type or a look at the content."""
from __future__ import annotations

import json
import re
from typing import Literal

from incidex.readers.util import json_loads

Format = Literal["text", "html", "jsonl", "json", "feed"]

EXTENSIONS: dict[str, Format] = {
    ".txt": "text", ".text": "text", ".md": "text", ".markdown": "text",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
    ".xml": "feed", ".rss": "feed", ".atom": "feed", ".rdf": "feed",
}

# Skipped silently when met while walking a directory (named explicitly, they are reported).
BINARY_EXTENSIONS = frozenset(
    ".png .jpg .jpeg .gif .webp .bmp .ico .tif .tiff .svgz .pdf .zip .gz .tgz .bz2 .xz .zst .7z .rar "
    ".tar .exe .dll .so .dylib .o .a .class .jar .pyc .woff .woff2 .ttf .otf .mp3 .mp4 .m4a .wav .ogg "
    ".flac .mov .avi .mkv .webm .db .sqlite .sqlite3 .parquet .pkl .npy .npz .bin".split()
)

_XML_PROLOG = re.compile(r"^\s*(?:<\?[^>]*\?>\s*|<!--.*?-->\s*)*", re.S)  # declaration, PIs, comments
_FEED_ROOT = re.compile(r"<(?:[\w-]+:)?(rss|feed|RDF)\b", re.I)
_HTML_START = re.compile(r"<(!doctype\s+html|html|head|body)\b", re.I)
_HTML_TAGS = re.compile(r"</?(p|div|article|span|a|br|h[1-6]|section|main|ul|li|table)\b[^<>]*>", re.I)


def by_extension(name: str) -> Format | None:
    dot = name.rfind(".")
    if dot <= 0 or "/" in name[dot:]:
        return None
    return EXTENSIONS.get(name[dot:].lower())


def by_content_type(content_type: str | None) -> Format | None:
    """A hint from an HTTP Content-Type; the content is still sniffed to confirm."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"):
        return "feed"
    if ct in ("text/html", "application/xhtml+xml"):
        return "html"
    if ct in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"):
        return "jsonl"
    if ct == "application/json":
        return "json"
    if ct in ("application/xml", "text/xml"):
        return "feed"
    if ct.startswith("text/"):
        return "text"
    return None


def by_content(text: str) -> Format:
    """Look at the start of decoded text: feed XML, HTML, JSON lines / array, or plain text."""
    head = text[:4096].lstrip("\ufeff \t\n")
    if head.startswith("{"):
        try:
            obj = json_loads(head.split("\n", 1)[0])
        except ValueError:
            obj = None
        if obj is None:
            try:  # one pretty-printed object
                if isinstance(json_loads(text), dict):
                    return "json"
            except ValueError:
                pass
        return "jsonl"
    if head.startswith("["):
        try:
            json_loads(text)
            return "json"
        except ValueError:
            pass
    if head.startswith("<"):
        rest = head[_XML_PROLOG.match(head).end():]
        m = re.match(r"<!DOCTYPE\s+(\w+)", rest, re.I)
        if m:
            return "html" if m.group(1).lower() == "html" else "feed"
        if _FEED_ROOT.match(rest):
            return "feed"
        if _HTML_START.match(rest):
            return "html"
        if head.lower().startswith("<?xml"):
            return "feed"
        if len(_HTML_TAGS.findall(head)) >= 2:
            return "html"
    elif len(_HTML_TAGS.findall(head)) >= 4 and _HTML_START.search(head):
        return "html"
    return "text"


def confirm(hint: Format | None, text: str) -> Format:
    """Combine an extension / content-type hint with the content itself.

    The content wins when it is clearly another markup (an ``.xml`` file that is
    XHTML, a feed served as ``text/html``, JSON served as ``text/plain``).
    """
    seen = by_content(text)
    if hint is None:
        return seen
    if hint == "text":
        if seen == "feed" or (seen == "html" and _HTML_START.match(text.lstrip("\ufeff \t\n")[:200])):
            return seen
        return "text"
    if hint == "html" and seen == "feed":
        return "feed"
    if hint == "feed" and seen == "html":
        return "html"
    if hint in ("json", "jsonl") and seen in ("json", "jsonl"):
        return seen
    return hint
