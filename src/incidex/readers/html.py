"""HTML reader: the article's main text and metadata from a web page.

trafilatura finds the main text (and title, author, date, site name, URL);
when it returns nothing, a simple fallback keeps the text of the ``<p>``
elements (inside ``<article>`` when there is one). The document carries the
extracted plain text as ``content`` (kind "text", what offsets point into)
and the page itself as ``raw``.
"""
from __future__ import annotations

import copy
import logging
import re
from functools import lru_cache
from typing import Any

from incidex.limits import BudgetExceeded, hard_time_limit, limits
from incidex.readers.decode import clean_text, too_large
from incidex.records import InputError, RawDocument

log = logging.getLogger(__name__)

NO_TEXT = "HTML page has no article text"

# Elements that never hold the story.
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form",
              "button", "select", "iframe", "figure", "figcaption")
# Never text, even inside a fragment.
_SKIP_TAGS = frozenset("script style noscript template svg iframe button select form".split())
# Block elements: a line break before and after when flattening a fragment.
_BLOCK_TAGS = frozenset("p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre tr table section article "
                        "header footer dd dt dl hr figure figcaption main aside".split())
_PUBLISHED_META = (
    ("property", "article:published_time"), ("name", "article:published_time"),
    ("itemprop", "datePublished"), ("name", "pubdate"), ("name", "publishdate"),
    ("name", "date"), ("name", "dc.date"), ("name", "DC.date.issued"), ("property", "og:published_time"),
)
_WS = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")


@lru_cache(maxsize=1)
def _trafilatura_config():
    from trafilatura.settings import DEFAULT_CONFIG

    cfg = copy.deepcopy(DEFAULT_CONFIG)
    # Dates guessed from anywhere in the page (copyright years, other articles) are worse than none.
    cfg.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")
    return cfg


def _trafilatura(html: str, url: str | None) -> dict[str, Any] | None:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=False,
            include_images=False, config=_trafilatura_config(),
        )
    except Exception as exc:  # trafilatura raises a variety of parser errors on broken pages
        log.debug("trafilatura failed: %s", exc)
        return None
    if doc is None:
        return None
    d = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    if not (d.get("text") or "").strip():
        return None
    return d


def _parse(html: str):
    import lxml.html
    from lxml import etree

    try:
        return lxml.html.document_fromstring(html.encode("utf-8"),
                                             parser=lxml.html.HTMLParser(encoding="utf-8", remove_comments=True))
    except (etree.ParserError, ValueError):
        return None


def _line(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _drop(el) -> None:
    """lxml's ``drop_tree`` (the element goes, its tail text stays), with the joined text
    cleaned: a character reference such as "&#1;" puts a control character in the
    tree, and lxml refuses to set text that holds one (ValueError)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = clean_text(el.tail or "")
    prev = el.getprevious()
    if prev is None:
        parent.text = clean_text(parent.text or "") + tail
    else:
        prev.tail = clean_text(prev.tail or "") + tail
    parent.remove(el)


def fallback_text(tree) -> str:
    """Text of the ``<p>`` elements (inside ``<article>`` when present), one per line."""
    tree = copy.deepcopy(tree)
    for el in tree.xpath("|".join(f"//{t}" for t in _DROP_TAGS)):
        _drop(el)
    for el in tree.xpath('//*[@role="navigation" or @role="banner" or @role="contentinfo" or @aria-hidden="true"]'):
        _drop(el)
    scope = tree.xpath("//article") or tree.xpath("//main") or [tree]
    lines: list[str] = []
    for root in scope:
        paras = root.xpath(".//p")
        if paras:
            lines.extend(_line(p.text_content()) for p in paras)
        else:
            lines.extend(block_lines(root))
    return "\n".join(x for x in lines if x)


def block_lines(el) -> list[str]:
    """Flatten an element to lines, breaking at block elements."""
    parts: list[str] = []

    def walk(node):
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP_TAGS:
            if node.tail:
                parts.append(node.tail)
            return
        block = tag in _BLOCK_TAGS
        if block:
            parts.append("\n")
        if node.text and tag:
            parts.append(node.text)
        for child in node:
            walk(child)
        if block:
            parts.append("\n")
        if node.tail:
            parts.append(node.tail)

    walk(el)
    return [x for x in (_line(s) for s in "".join(parts).split("\n")) if x]


def fragment_to_text(fragment: str) -> str:
    """An HTML fragment (a feed entry's content) -> lines of text, one per block."""
    if "<" not in fragment:
        import html as _html

        return "\n".join(x for x in (_line(s) for s in _html.unescape(fragment).split("\n")) if x)
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    return "\n".join(block_lines(root))


def _meta(tree, attr: str, value: str) -> str | None:
    found = tree.xpath(f'//meta[translate(@{attr},"ABCDEFGHIJKLMNOPQRSTUVWXYZ","abcdefghijklmnopqrstuvwxyz")='
                       f'"{value.lower()}"]/@content')
    for v in found:
        if v and v.strip():
            return v.strip()
    return None


def page_metadata(tree) -> dict[str, str]:
    """Metadata trafilatura does not keep: the full publication timestamp, og: tags."""
    out: dict[str, str] = {}
    for attr, name in _PUBLISHED_META:
        v = _meta(tree, attr, name)
        if v:
            out["published"] = v
            break
    else:
        times = tree.xpath("//article//time/@datetime") or tree.xpath("//time[@pubdate]/@datetime")
        if times:
            out["published"] = times[0].strip()
    for key, (attr, name) in (("title", ("property", "og:title")), ("source", ("property", "og:site_name")),
                              ("url", ("property", "og:url")), ("author", ("name", "author"))):
        v = _meta(tree, attr, name)
        if v:
            out[key] = v
    if "url" not in out:
        canon = tree.xpath('//link[@rel="canonical"]/@href')
        if canon and canon[0].startswith(("http://", "https://")):
            out["url"] = canon[0].strip()
    if "title" not in out:
        t = tree.xpath("//h1") or tree.xpath("//title")
        if t:
            title = _line(t[0].text_content())
            if title:
                out["title"] = title
    return out


def within(tree, max_elements: int) -> bool:
    """Whether the page has at most ``max_elements`` elements. (Nesting needs no
    check of ours: libxml2 stops at 256 levels, and what is deeper is dropped.)"""
    for n, _ in enumerate(tree.iter(), 1):
        if n > max_elements:
            return False
    return True


def _main_text(html: str, origin: str, url: str | None, min_chars: int,
               max_elements: int) -> tuple[dict[str, str], str]:
    """(metadata, main text): trafilatura's reading when the page is of a size it
    handles in good time (``max_html_elements``), else the linear ``<p>`` reader."""
    tree = _parse(html)
    if tree is None:
        raise InputError(origin, NO_TEXT + " (could not parse the HTML)")
    page = page_metadata(tree)
    found = _trafilatura(html, url) if within(tree, max_elements) else None
    if found and len(found["text"].strip()) < min_chars:
        found = None  # a stray menu item or caption, not the story: try the fallback
    if not found:
        return page, fallback_text(tree)
    for key, src in (("title", "title"), ("author", "author"), ("source", "sitename"), ("url", "url")):
        if found.get(src):
            page[key] = found[src]
    if found.get("date") and "published" not in page:
        page["published"] = found["date"]
    return page, found["text"]


def read_html(html: str, origin: str, *, url: str | None = None, settings: dict[str, Any] | None = None,
              **hints: str | None) -> RawDocument:
    """One web page -> RawDocument with the main text; ``InputError`` when there is none.

    ``hints`` (title, author, published, source, external_id, fetched_at) come from the
    container (feed entry, JSONL line) and win over what the page says.
    """
    max_bytes = int((settings or {}).get("ingest", {}).get("max_input_bytes", 10_000_000))
    if len(html) > max_bytes or len(html.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InputError(origin, too_large(max_bytes))
    html = clean_text(html)
    lim = limits(settings)
    min_chars = int((settings or {}).get("ingest", {}).get("min_body_chars", 40))
    try:
        with hard_time_limit(lim.read_time_budget_seconds):
            page, text = _main_text(html, origin, url, min_chars, lim.max_html_elements)
    except BudgetExceeded as exc:
        raise InputError(origin, f"{exc.reason} reading the HTML page (read_time_budget_seconds)") from None
    # character references ("&#1;") bring back what decoding removed
    text = "\n".join(x for x in (_line(s) for s in clean_text(text).split("\n")) if x)
    if len(text) < min_chars:
        raise InputError(origin, NO_TEXT)
    meta = {k: clean_text(v) for k, v in page.items() if isinstance(v, str) and v}
    meta.update({k: v for k, v in hints.items() if v})
    return RawDocument(
        origin=origin, content=text, kind="text",
        url=url or meta.get("url"), title=meta.get("title"), author=meta.get("author"),
        published=meta.get("published"), source=meta.get("source"),
        external_id=meta.get("external_id"), fetched_at=meta.get("fetched_at"), raw=html,
    )
