"""HTML pages: trafilatura main text, the <p> fallback, pages with no text (invented pages)."""
from __future__ import annotations

from fixtures_ingest import SECOND_STORY_LINES, STORY_LINES, article_page, make_settings

import incidex.readers.html as html_reader
from incidex.readers import read, read_articles
from incidex.readers.html import fragment_to_text, read_html
from incidex.records import RawDocument, ReadFailure


def _page_file(tmp_path, name="story.html", **kw):
    page = article_page("Ransomware attack hits Pellworth County Hospital", STORY_LINES, **kw)
    p = tmp_path / name
    p.write_text(page, encoding="utf-8")
    return p, page


def test_html_page_main_text_and_metadata(tmp_path):
    p, page = _page_file(tmp_path, published="2024-03-05T14:20:00-05:00", author="Mara Quill")
    (doc,) = list(read([str(p)]))
    assert isinstance(doc, RawDocument)
    assert doc.kind == "text" and doc.raw == page
    for line in STORY_LINES:
        assert line in doc.content
    # navigation, related links and footer are not article text
    for junk in ("Podcasts", "Shipping firm confirms breach", "All rights reserved", "Privacy policy"):
        assert junk not in doc.content
    assert doc.title == "Ransomware attack hits Pellworth County Hospital"
    assert doc.author == "Mara Quill"
    assert doc.published == "2024-03-05T14:20:00-05:00"


def test_html_page_to_article(tmp_path):
    p, _ = _page_file(tmp_path, published="2024-03-05T14:20:00-05:00")
    (art,) = list(read_articles([str(p)]))
    assert art.body == "\n".join(STORY_LINES)  # the repeated title line is dropped too
    assert art.raw_kind == "html" and art.raw.startswith("<!DOCTYPE html>")
    assert art.published == "2024-03-05T14:20:00-05:00"
    assert "Ransomware attack hits Pellworth County Hospital" in art.removed


def test_fallback_when_trafilatura_finds_nothing(tmp_path):
    # The story sits in a container trafilatura treats as reader comments: it returns nothing.
    page = ("<html><head><title>Utility breach</title></head><body><nav><a href='/'>Home</a></nav>"
            "<div class='comments'>" + "".join(f"<p>{x}</p>" for x in SECOND_STORY_LINES) +
            "</div><footer><p>Contact the newsroom</p></footer></body></html>")
    assert (html_reader._trafilatura(page, None) or {}).get("text", "").strip() in ("", "Home")
    doc = read_html(page, "utility.html")
    assert doc.content == "\n".join(SECOND_STORY_LINES)
    assert doc.title == "Utility breach"


def test_fallback_is_used_when_trafilatura_returns_none(monkeypatch):
    monkeypatch.setattr(html_reader, "_trafilatura", lambda html, url: None)
    page = article_page("Water authority breach", SECOND_STORY_LINES)
    doc = read_html(page, "p.html")
    # only <p> text of the <article>: no navigation, no related list, no footer
    assert doc.content == "\n".join(SECOND_STORY_LINES)


def test_page_without_article_text_is_reported(tmp_path):
    p = tmp_path / "empty.html"
    p.write_text("<html><head><title>Loading</title></head><body><script>app()</script>"
                 "<nav><a href='/'>Home</a></nav></body></html>", encoding="utf-8")
    (f,) = list(read([str(p)]))
    assert isinstance(f, ReadFailure) and f.reason == "HTML page has no article text"


def test_oversized_html_string_refused():
    from incidex.records import InputError
    import pytest

    with pytest.raises(InputError) as ei:
        read_html("<p>" + "x" * 5000 + "</p>", "big.html", settings=make_settings(max_input_bytes=1000))
    assert "limit (max_input_bytes)" in ei.value.reason


def test_xhtml_with_xml_extension_is_read_as_html(tmp_path):
    p = tmp_path / "page.xml"
    p.write_text('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body><article>'
                 + "".join(f"<p>{x}</p>" for x in STORY_LINES) + "</article></body></html>", encoding="utf-8")
    (doc,) = list(read([str(p)]))
    assert isinstance(doc, RawDocument) and STORY_LINES[0] in doc.content


def test_fragment_to_text_breaks_at_blocks():
    assert fragment_to_text("<p>One <b>bold</b> word.</p><p>Two<br>lines &amp; more</p><script>x()</script>") == \
        "One bold word.\nTwo\nlines & more"
