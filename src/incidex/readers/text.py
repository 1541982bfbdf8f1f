"""Plain-text reader: optional header lines at the top, then the article.

    Title: Regional hospital hit by ransomware
    URL: https://news.example.org/hospital-ransomware
    Date: 2024-03-05
    Author: Jane Example
    Source: news.example.org

    The article text ...

Header lines become metadata hints and are removed from the content. Markdown
files (``.md``) are flattened to text: heading marks, emphasis, link and image
syntax are removed, and a first ``# Heading`` becomes the title hint.
"""
from __future__ import annotations

import re

from incidex.records import RawDocument

HEADER_KEYS = {
    "title": "title", "headline": "title",
    "url": "url", "link": "url",
    "date": "published", "published": "published", "publication date": "published",
    "author": "author", "by": "author",
    "source": "source", "publisher": "source",
}
_HEADER = re.compile(r"^\s*(%s)\s*:\s*(.*?)\s*$" % "|".join(sorted(map(re.escape, HEADER_KEYS), key=len, reverse=True)),
                     re.I)


def split_headers(text: str) -> tuple[dict[str, str], str]:
    """Header lines at the very top (before the first other line) -> (hints, rest)."""
    hints: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    start = i
    while i < len(lines):
        m = _HEADER.match(lines[i])
        if not m:
            break
        key = HEADER_KEYS[m.group(1).lower()]
        if m.group(2) and key not in hints:
            hints[key] = m.group(2)
        i += 1
    if i == start:
        return {}, text
    return hints, "\n".join(lines[i:]).strip("\n")


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
# Link text stops at the next "[" and the target is read a character at a time (a "+"
# inside the "*" made "[x](aaaa..." exponential: 22 letters took 0.6 s, 30 minutes).
_MD_LINK = re.compile(r"\[([^\[\]\n]+)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_MD_EMPH = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.{1,500}?)(?<=\S)\1")  # bounded: "_a _a _a ..." was quadratic
_MD_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_MD_QUOTE = re.compile(r"^\s{0,3}>\s?")


def markdown_to_text(text: str) -> tuple[str | None, str]:
    """Flatten Markdown to lines of text; returns (first H1 or None, text)."""
    title = None
    out: list[str] = []
    for line in text.split("\n"):
        if _MD_RULE.match(line):
            continue
        m = _MD_HEADING.match(line)
        if m:
            if title is None and not out and line.lstrip().startswith("# "):
                title = m.group(1)
                continue
            line = m.group(1)
        line = _MD_QUOTE.sub("", line)
        line = _MD_IMAGE.sub("", line)
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_EMPH.sub(r"\2", line)
        out.append(line)
    return title, "\n".join(out).strip("\n")


def read_text(text: str, origin: str, *, markdown: bool = False, **hints: str | None) -> RawDocument:
    """One text document; header lines (and ``hints`` from the container) fill its metadata."""
    headers, content = split_headers(text)
    title = None
    if markdown:
        title, content = markdown_to_text(content)
    meta = {k: v for k, v in hints.items() if v}
    for k, v in headers.items():
        meta.setdefault(k, v)
    if title:
        meta.setdefault("title", title)
    return RawDocument(
        origin=origin, content=content, kind="text",
        url=meta.get("url"), title=meta.get("title"), author=meta.get("author"),
        published=meta.get("published"), source=meta.get("source"),
        external_id=meta.get("external_id"), fetched_at=meta.get("fetched_at"),
        raw=text if content != text else None,
    )
