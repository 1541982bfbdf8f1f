"""Clean: ``RawDocument`` -> ``Article``.

Drops what news sites and aggregators put around the story, by the general
rules in ``rules.toml`` (footers naming the original publisher, boilerplate
prompts and credits, bylines and datelines at the top, author bios and
related-headline lists after the story), and completes the metadata (source
domain, publication date, author, language, id).

Lines are dropped whole and kept lines are not edited (only stripped of
surrounding spaces), so ``body`` holds the original characters, one line per
paragraph or sentence line of the input; runs of blank lines become one.
Every dropped line is listed in ``Article.removed``. Cleaning an already
clean body returns it unchanged.
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from incidex.cleaning.dates import normalize_date
from incidex.cleaning.rules import Rules, load_rules
from incidex.cleaning.trailer import find_trailer
from incidex.readers.decode import clean_text, printable
from incidex.records import Article, InputError, RawDocument

__all__ = ["clean", "article_id", "normalize_body", "domain_of", "detect_language"]

NO_TEXT = "no article text after cleaning"
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}")


def _settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    from incidex.readers.util import resolve_settings

    return resolve_settings(settings)


def _limit(settings: dict[str, Any], key: str, default: int) -> int:
    """A body limit: [clean] wins over [ingest] (where settings.toml keeps it)."""
    for section in ("clean", "ingest"):
        value = settings.get(section, {}).get(key)
        if value is not None:
            return int(value)
    return default


def normalize_body(body: str) -> str:
    """NFKC, whitespace collapsed, lowercased: what the article id is computed from."""
    # str.split() splits on exactly the characters ``\s`` matches (both use
    # Py_UNICODE_ISSPACE) and drops the ends: the same as sub(r"\s+", " ").strip(), faster
    return " ".join(unicodedata.normalize("NFKC", body).split()).lower()


def article_id(body: str) -> str:
    """First 16 hex characters of the SHA-256 of the normalized body."""
    return hashlib.sha256(normalize_body(body).encode("utf-8")).hexdigest()[:16]


def domain_of(value: str | None) -> str | None:
    """A URL or bare domain -> host without ``www.``; anything else -> None."""
    if not value:
        return None
    s = value.strip().strip(".,;:()[]<>\"'").lower()
    if "://" in s:
        host = urlsplit(s).hostname or ""
    else:
        host = s.split("/", 1)[0]
    host = host.rstrip(".")
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]  # drop a port
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _DOMAIN.fullmatch(host):
        return None
    return host[4:] if host.startswith("www.") else host


_EN_FUNCTION_WORDS = frozenset(
    "the of and to in a is that for on with was as by it at from be has have said are were this which an".split())


def _looks_english(text: str) -> bool:
    """Fast path: English prose is about 40% function words; German, Spanish or
    French text has almost none of these (py3langid decides everything else)."""
    words = re.findall(r"[A-Za-z]+", text[:3000].lower())
    if len(words) < 40:
        return False
    return sum(map(_EN_FUNCTION_WORDS.__contains__, words)) / len(words) >= 0.25


def detect_language(text: str, min_chars: int = 50) -> str | None:
    """ISO 639-1 code from py3langid, or None when there are fewer than ``min_chars`` letters."""
    letters = 0
    for c in text[:20000]:  # stop counting as soon as there are enough letters
        if c.isalpha():
            letters += 1
            if letters >= min_chars:
                break
    if letters < min_chars:
        return None
    if _looks_english(text):
        return "en"
    import py3langid

    # The first 2,000 characters decide as well as 20,000 and cost a third
    # (measured by benchmarks/ingest.py --breakdown: 3.3 ms -> ~1 ms an article).
    lang, _score = py3langid.classify(text[:2000])
    return lang or None


def _at_most_words(line: str, limit: int) -> bool:
    """``len(line.split()) <= limit`` without splitting all of a long paragraph."""
    limit = int(limit)
    return limit >= 0 and len(line.split(None, limit)) <= limit


_NOT_WORD = re.compile(r"[\W_]+")


def _title_key(s: str | None) -> str | None:
    """A title compared without punctuation, case or spacing; None for no title."""
    return _NOT_WORD.sub(" ", s).strip().casefold() if s else None


def _same_title(line: str, title_key: str | None) -> bool:
    if title_key is None:
        return False
    # quick no: the title's first word, casefolded, is in the casefolded line if the keys are equal
    first = title_key.split(" ", 1)[0]
    if first and first not in line.casefold():
        return False
    return _title_key(line) == title_key


class _Lines:
    """The lines of the text with a keep flag each, and the record of what was dropped."""

    def __init__(self, text: str):
        self.raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.text = [x.strip() for x in self.raw]
        self.keep = [bool(x) for x in self.text]
        self.removed: list[tuple[int, str]] = []

    def drop(self, i: int) -> None:
        if self.keep[i]:
            self.keep[i] = False
            self.removed.append((i, self.text[i]))

    def kept(self) -> list[int]:
        return [i for i, k in enumerate(self.keep) if k]

    def body(self) -> str:
        out: list[str] = []
        blank = False
        for i, line in enumerate(self.text):
            if self.keep[i]:
                if blank and out:
                    out.append("")
                out.append(line)
                blank = False
            elif not line:
                blank = True
        return "\n".join(out)


def _footer_meta(m: re.Match[str]) -> dict[str, str] | None:
    """Metadata from a footer match, or None when its 'source' is not credible."""
    g = {k: v.strip() for k, v in m.groupdict().items() if v and v.strip()}
    src = g.get("source", "").rstrip(".")
    out: dict[str, str] = {}
    if src:
        dom = domain_of(src)
        if dom:
            out["source"] = dom
        elif src[0].isupper() and not re.search(r"\d", src) and len(src.split()) <= 6:
            out["source_name"] = src
        else:
            return None
    if g.get("date"):
        iso = normalize_date(g["date"])
        if iso:
            out["published"] = iso
    if g.get("title"):
        out["title"] = g["title"]
    return out


def _strip_everywhere(lines: _Lines, rules: Rules, meta: dict[str, str]) -> None:
    """Footers, boilerplate lines and one-line "Read more: ..." links, wherever they are."""
    for i in lines.kept():
        line = lines.text[i]
        footer = None
        for pat in rules.footers if _at_most_words(line, rules.footer_max_words) else ():
            m = pat.fullmatch(line)
            if m:
                footer = _footer_meta(m)
                if footer is not None:
                    break
        if footer is not None:
            for k, v in footer.items():
                meta.setdefault(k, v)
            lines.drop(i)
            continue
        if _at_most_words(line, rules.boilerplate_max_words) and (
                any(p.fullmatch(line) for p in rules.boilerplate)
                or any(p.fullmatch(line) for p in rules.related_inline)):
            lines.drop(i)


def _strip_top(lines: _Lines, rules: Rules, meta: dict[str, str], title: str | None) -> None:
    """Repeated title, byline and dateline among the first lines.

    The window is the first ``top_lines`` lines that *stay*: a dropped line does
    not use up a place, so cleaning the result again finds the same first lines
    and drops nothing more (the cleaner is idempotent)."""
    stayed = 0
    title_key = _title_key(title)
    for i in lines.kept():
        if stayed >= rules.top_lines:
            break
        line = lines.text[i]
        if _same_title(line, title_key):
            lines.drop(i)
            continue
        if _at_most_words(line, 12):
            m = rules.byline.fullmatch(line)
            if m:
                meta.setdefault("byline", m.group("author").strip())
                lines.drop(i)
                continue
            m = rules.dateline.fullmatch(line)
            if m:
                iso = normalize_date(m.group("date"))
                if iso:
                    meta.setdefault("dateline", iso)
                    lines.drop(i)
                    continue
        stayed += 1


def _strip_related_block(lines: _Lines, rules: Rules) -> None:
    """A 'Related' / 'Read more' heading after the story, with the short lines under it."""
    kept = lines.kept()
    before = 0
    for n, i in enumerate(kept):
        if before >= 200 and any(p.fullmatch(lines.text[i]) for p in rules.related_headings):
            rest = kept[n + 1:]
            if all(_at_most_words(lines.text[j], rules.related_max_words) for j in rest):
                for j in [i] + rest:
                    lines.drop(j)
                return
        before += len(lines.text[i])


def _strip_trailer(lines: _Lines, rules: Rules, meta: dict[str, str], author: str | None) -> None:
    kept = lines.kept()
    res = find_trailer([lines.text[i] for i in kept], rules, author)
    for k in res.bio + res.headlines:
        lines.drop(kept[k])
    if res.author:
        meta.setdefault("bio_author", res.author)


def _cut(body: str, limit: int) -> tuple[str, str | None]:
    if len(body) <= limit:
        return body, None
    cut = body.rfind("\n", 0, limit + 1)
    if cut < limit // 2:
        cut = limit
    return body[:cut].rstrip(), f"[body cut at {cut} characters (max_body_chars={limit}): " \
                                f"{len(body) - cut} characters dropped]"


def _looks_html(text: str | None) -> bool:
    if not text:
        return False
    from incidex.readers.sniff import by_content

    return by_content(text) == "html"


def clean(doc: RawDocument, settings: dict[str, Any] | None = None) -> Article:
    """Clean one document; raise ``InputError(origin, "no article text after cleaning")`` when nothing is left."""
    settings = _settings(settings)
    cfg = settings.get("clean", {})
    rules = load_rules(cfg.get("rules_file"))

    # Documents do not all come through a reader (library and REST callers build them):
    # NUL bytes, lone surrogates and stray byte-order marks go here too.
    text = clean_text(doc.content)
    content, raw = text, None if doc.raw is None else clean_text(doc.raw)
    origin = printable(doc.origin)
    hints = {"url": doc.url, "title": doc.title, "author": doc.author, "published": doc.published,
             "source": doc.source}
    hints = {k: clean_text(v) if isinstance(v, str) else v for k, v in hints.items()}
    if doc.kind == "html":  # a page handed over as-is: extract its text first
        from incidex.readers.html import read_html

        page = read_html(text, origin, url=hints["url"], settings=settings)
        content, raw = page.content, text
        for k in hints:
            hints[k] = hints[k] or getattr(page, k)
    raw_kind = "html" if doc.kind == "html" or _looks_html(raw) else "text"

    meta: dict[str, str] = {}
    lines = _Lines(content)
    _strip_everywhere(lines, rules, meta)
    _strip_top(lines, rules, meta, hints["title"])
    _strip_related_block(lines, rules)
    _strip_trailer(lines, rules, meta, hints["author"] or meta.get("byline"))

    body = lines.body()
    removed = [t for _, t in sorted(lines.removed)]
    body, note = _cut(body, _limit(settings, "max_body_chars", 500_000))
    if note:
        removed.append(note)
    # A feed item is often a headline and a sentence or two: the headline counts as text
    # (extraction reads it too), and a headline alone is the body of a headline-only item.
    headline = (hints["title"] or meta.get("title") or "").strip()
    if not body.strip() and headline:
        body = headline
    chars = len(body.strip()) + (len(headline) if headline and body.strip() != headline else 0)
    if chars < _limit(settings, "min_body_chars", 40) or not body.strip():
        raise InputError(origin, NO_TEXT)

    source = (meta.get("source") or domain_of(hints["source"]) or domain_of(hints["url"])
              or meta.get("source_name") or (hints["source"] or None))
    published = meta.get("published") or normalize_date(hints["published"]) or meta.get("dateline")
    author = hints["author"] or meta.get("byline") or meta.get("bio_author")
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Article(
        id=article_id(body), body=body, url=hints["url"], source=source,
        title=hints["title"] or meta.get("title"), author=author, published=published,
        language=detect_language(body, int(cfg.get("min_language_chars", 50))),
        external_id=printable(doc.external_id), origin=origin, raw=raw if raw is not None else text,
        raw_kind=raw_kind, fetched_at=doc.fetched_at or now, ingested_at=now, removed=removed,
    )
