"""Hostile input: entity tricks, decompression bombs, pathological markup and text, budgets.

Every pathological input here once crashed, hung or blew up a part of incidex
(or would have; docs/reliability.md lists them). Where a test needs to say
"this finishes", it runs the code under ``hard_time_limit`` with a bound tens
of times the normal cost: the test fails by ``BudgetExceeded`` instead of
hanging the suite (no timing is asserted otherwise).
"""
from __future__ import annotations

import copy
import gzip
import threading
import zlib

import pytest
from fixtures_ingest import SECOND_STORY, STORY, STORY_LINES, article_page, local_server, make_settings  # noqa: F401

from incidex.limits import Budget, BudgetExceeded, hard_time_limit, limits
from incidex.readers import read_bytes
from incidex.readers.feed import entity_refusal, read_feed
from incidex.readers.fetch import fetch
from incidex.records import InputError, RawDocument, ReadFailure
from incidex.settings import load_settings

LOCAL = make_settings(allow_private_addresses=["127.0.0.1"], timeout_seconds=5)
BOUND = 60  # seconds: far above what any of these inputs costs once fixed


def _limits(**kw):
    s = copy.deepcopy(load_settings())
    s["limits"].update(kw)
    return s


def _rss(items_xml: str, prolog: str = "") -> bytes:
    return (f'<?xml version="1.0"?>{prolog}<rss version="2.0"><channel><title>t</title>{items_xml}'
            "</channel></rss>").encode()


ITEM = ("<item><title>Hospital hit</title><description>A ransomware attack disrupted systems at Pellworth County "
        "Hospital on Tuesday, officials said.</description></item>")


# --------------------------------------------------------------------------- XML entities


def test_external_entity_is_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER", encoding="utf-8")
    feed = (f'<?xml version="1.0"?>\n<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "file://{secret}"> ]>\n'
            f'<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title>'
            f'<description>leak &xxe; here, a ransomware attack on a hospital.</description></item></channel></rss>')
    out = list(read_feed(feed.encode(), "xxe.xml"))
    assert all("TOP-SECRET-MARKER" not in (getattr(o, "content", "") or "") for o in out)
    assert isinstance(out[0], ReadFailure) and "declares XML entities" in out[0].reason


def test_external_dtd_and_entities_are_not_fetched(local_server):
    local_server.add("/evil.dtd", b'<!ENTITY x "pwned">', "application/xml-dtd")
    dtd = f"{local_server.base}/evil.dtd"
    for prolog in (f'<!DOCTYPE rss SYSTEM "{dtd}">', f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "{dtd}"> %p;]>'):
        out = list(read_feed(_rss(ITEM, prolog), "dtd.xml"))
        assert out and all(isinstance(o, (RawDocument, ReadFailure)) for o in out)
    assert local_server.seen == []


def test_entity_expansion_on_one_line_is_refused():
    # feedparser strips only declarations that start a line; these do not
    laughs = ('<!DOCTYPE rss [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>')
    (f,) = list(read_feed(_rss("<item><title>&d;</title><description>&d;&d;&d;</description></item>", laughs), "l"))
    assert isinstance(f, ReadFailure) and "declares XML entities" in f.reason


def test_entity_text_in_cdata_is_not_refused():
    item = ("<item><title>XXE explained</title><description><![CDATA[<p>Attackers used <!ENTITY x SYSTEM> "
            "payloads against the payroll portal of Glenmoor Water Authority, officials said.</p>]]>"
            "</description></item>")
    (doc,) = list(read_feed(_rss(item), "cdata.xml"))
    assert isinstance(doc, RawDocument) and "<!ENTITY x SYSTEM>" in doc.content


def test_entity_check_is_linear_on_unclosed_doctypes():
    # was a regular expression that rescanned to the end from each "<!DOCTYPE x [" (55 s for 260 kB)
    data = b"<!DOCTYPE x [" * 80_000 + b"<!ENTITY a 'b'>"
    with hard_time_limit(BOUND):
        assert entity_refusal(data) is None or "entities" in entity_refusal(data)


# --------------------------------------------------------------------------- feed prolog


def test_blank_lines_before_the_root_are_folded():
    # feedparser's DOCTYPE/ENTITY patterns were quadratic in them (20,000 newlines: 3 s, 200,000: minutes)
    with hard_time_limit(BOUND):
        (doc,) = list(read_feed(_rss(ITEM, "\n" * 300_000 + " \n" * 100_000), "blank.xml"))
    assert isinstance(doc, RawDocument) and "Pellworth" in doc.content


def test_oversized_prolog_and_repeated_doctype_are_refused():
    (f,) = list(read_feed(_rss(ITEM, "<!-- " + "x" * 40_000 + " -->"), "big.xml"))
    assert "before the feed's root element (max_feed_prolog_bytes)" in f.reason
    (f,) = list(read_feed(_rss(ITEM, "<!DOCTYPE\n" * 100), "dt.xml"))
    assert f.reason == "more than one DOCTYPE declaration (not XML)"


def test_utf16_feed_is_read():
    data = _rss(ITEM).decode().replace('version="1.0"', 'version="1.0" encoding="utf-16"')
    out = list(read_bytes("\ufeff".encode("utf-16-le") + data.encode("utf-16-le"), "u16.xml", hint="feed"))
    assert isinstance(out[0], RawDocument) and "Pellworth" in out[0].content


def test_feed_parse_is_interrupted_past_the_read_budget():
    # feedparser's sanitizer costs ~60 µs a tag: a feed of nothing but tags is slow, never endless
    item = "<item><title>x</title><description>" + "<b>" * 200_000 + "text</description></item>"
    (f,) = list(read_feed(_rss(item), "tags.xml", settings=_limits(read_time_budget_seconds=0.5)))
    assert isinstance(f, ReadFailure) and f.reason == "time budget exceeded (0.5s) parsing the feed (read_time_budget_seconds)"


# --------------------------------------------------------------------------- compressed responses


def test_gzip_bomb_is_refused_at_the_inflate_cap(local_server):
    bomb = gzip.compress(b"\0" * 50_000_000)  # 50 MB of zeros in ~50 kB
    url = local_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(InputError) as e:
        fetch(url, make_settings(allow_private_addresses=["127.0.0.1"]) | {"limits": {"max_decompressed_bytes": 1_000_000}})
    assert e.value.reason == "response inflates past the 1 MB limit (max_decompressed_bytes)"


def test_gzip_and_deflate_bodies_are_inflated(local_server):
    page = article_page("Hospital hit by ransomware", STORY_LINES).encode()
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bodies = {"/gz": (gzip.compress(page), "gzip"), "/zlib": (zlib.compress(page), "deflate"),
              "/raw": (raw_deflate.compress(page) + raw_deflate.flush(), "deflate"),
              "/twice": (gzip.compress(gzip.compress(page)), "gzip, gzip")}
    for path, (body, enc) in bodies.items():
        url = local_server.add(path, body, headers={"Content-Encoding": enc})
        assert fetch(url, LOCAL).content == page, path


def test_unasked_or_broken_encodings_are_refused(local_server):
    page = article_page("Hospital hit by ransomware", STORY_LINES).encode()
    url = local_server.add("/br", page, headers={"Content-Encoding": "br"})
    with pytest.raises(InputError, match="unsupported Content-Encoding 'br'"):
        fetch(url, LOCAL)
    url = local_server.add("/bad", b"not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(InputError, match="not valid gzip data"):
        fetch(url, LOCAL)
    url = local_server.add("/layers", gzip.compress(gzip.compress(gzip.compress(page))),
                           headers={"Content-Encoding": "gzip, gzip, gzip"})
    with pytest.raises(InputError, match="3 layers of Content-Encoding"):
        fetch(url, LOCAL)


# --------------------------------------------------------------------------- HTML


def test_page_with_too_many_elements_skips_trafilatura_but_keeps_the_story():
    filler = "<span>x</span>" * 5_000
    page = article_page("Hospital hit by ransomware", STORY_LINES).replace("</article>", filler + "</article>")
    (doc,) = list(read_bytes(page.encode(), "big.html", hint="html", settings=_limits(max_html_elements=1_000)))
    assert isinstance(doc, RawDocument) and STORY_LINES[0] in doc.content


def test_deeply_nested_page_does_not_crash():
    page = "<html><body>" + "<div>" * 50_000 + "<p>" + STORY + "</p>" + "</div>" * 50_000 + "</body></html>"
    (out,) = list(read_bytes(page.encode(), "deep.html", hint="html"))
    assert isinstance(out, (RawDocument, ReadFailure))  # libxml2 stops nesting at 256 levels


# --------------------------------------------------------------------------- JSON and text encodings


def test_deeply_nested_json_is_bad_json_not_a_crash():
    # json.loads raised RecursionError: caught only as "unexpected error ... please report it"
    (f,) = list(read_bytes(b'{"text": ' + b"[" * 100_000 + b"}", "deep.json", hint="json"))
    assert f.reason == "invalid JSON on line 1: nested too deeply (column 1)"
    line2 = b'{"a":' * 30_000 + b"1" + b"}" * 30_000
    out = list(read_bytes(b'{"text": "' + STORY_LINES[0].encode() + b'"}\n' + line2, "deep.jsonl", hint="jsonl"))
    assert isinstance(out[0], RawDocument)
    assert out[1].origin == "deep.jsonl:2" and out[1].reason == "invalid JSON on line 2: nested too deeply (column 1)"


def test_utf8_with_stray_windows_1252_bytes_keeps_both():
    data = "Caf\u00e9 owners said the \u2019breach\u2019 hit ".encode() + b"\x93Harbor & Finch\x94 on Monday."
    (doc,) = list(read_bytes(data, "mixed.txt", hint="text"))
    assert doc.content == "Caf\u00e9 owners said the \u2019breach\u2019 hit \u201cHarbor & Finch\u201d on Monday."


def test_byte_order_marks_inside_text_are_removed():
    data = b"\xef\xbb\xbf" + STORY.encode() + b"\n\xef\xbb\xbf" + STORY_LINES[0].encode()
    (doc,) = list(read_bytes(data, "bom.txt", hint="text"))
    assert "\ufeff" not in doc.content and doc.content.startswith(STORY_LINES[0])


# --------------------------------------------------------------------------- sentences and regexes


def test_sentence_splitter_is_linear_on_abbreviation_runs():
    from incidex.extraction.sentences import split_sentences

    body = "A. " * 200_000  # each "A." an initial: the word before was re-scanned from the line start
    with hard_time_limit(BOUND):
        sents = split_sentences(body, max_sentence_chars=2_000)
    assert sents and all(len(s.text) <= 2_000 and body[s.start:s.end] == s.text for s in sents)


def _headline(line):
    from incidex.cleaning.rules import load_rules
    from incidex.cleaning.trailer import headline_score

    return headline_score(line, load_rules())


def _tags(text):
    from incidex.readers.sniff import _HTML_TAGS

    return _HTML_TAGS.findall(text)


def _gangs(text):
    from incidex.extraction.analyze import _NAMED_GANG

    return list(_NAMED_GANG.finditer(text))


def _markdown(text):
    from incidex.readers.text import markdown_to_text

    return markdown_to_text(text)


def _counts(text):
    from incidex.extraction.entities import find_counts, find_money

    return find_counts(text), find_money(text)


# Each once took from minutes to forever (docs/reliability.md, "Regular expressions").
@pytest.mark.parametrize("fn, text", [
    (_markdown, "[x](" + "a" * 5_000),         # exponential: 22 letters 0.6 s, each one doubling
    (_markdown, "_a " * 50_000),               # quadratic: 20,000 took 42 s
    (_headline, "x" + "\u201c" * 200_000),      # a one-word "headline" of opening quotes
    (_tags, "<a" * 100_000),
    (_gangs, "CVE-" * 50_000),
    (_counts, "about 310,0" + "0" * 100_000),
    (_counts, "$50" + " " * 100_000),
], ids=["md-link", "md-emphasis", "quote", "html-tags", "gang-name", "count-digits", "money-spaces"])
def test_fixed_patterns_stay_linear(fn, text):
    with hard_time_limit(BOUND):
        fn(text)


def test_documents_built_by_callers_are_cleaned_too():
    # found by the property tests: a lone surrogate in text handed to the library crashed the article id
    from incidex.cleaning import clean

    art = clean(RawDocument(origin="caller\udcff", content="\ud800" + STORY + "\x00", title="T\ud800"))
    assert art.body == STORY and art.title == "T" and art.origin == "caller\ufffd"


# --------------------------------------------------------------------------- budgets


def test_hard_time_limit_interrupts_python_code_in_any_thread():
    caught = []

    def spin():
        try:
            with hard_time_limit(0.2):
                while True:
                    pass
        except BudgetExceeded as e:
            caught.append(e.reason)

    t = threading.Thread(target=spin)
    t.start()
    t.join(BOUND)
    spin()
    assert caught == ["time budget exceeded (0.2s)"] * 2


def test_budget_check_counts_only_time_spent_on_the_article():
    b = Budget(0.05)
    with b:
        b.check()
    threading.Event().wait(0.1)  # time outside the article is not charged
    b.check()
    b.charge(0.06)
    with pytest.raises(BudgetExceeded, match=r"time budget exceeded \(0.05s\)"):
        b.check()


def test_budget_check_watches_resident_memory():
    b = Budget(None, memory_mb=20)
    ballast = b"x" * 100_000_000  # touched pages: resident memory grows by ~100 MB
    with pytest.raises(BudgetExceeded, match=r"memory budget exceeded \(20 MB\)"):
        for _ in range(64):  # memory is read every 32nd check
            b.check()
    del ballast


def test_limits_come_from_settings():
    lim = limits(_limits(time_budget_seconds=3, max_sentences=10))
    assert lim.time_budget_seconds == 3.0 and lim.max_sentences == 10
    assert limits().max_decompressed_bytes == 10_000_000


PATHOLOGICAL = "\n".join(f"Hackers hit the town hall of Examplestad {i} in a cyberattack on Monday, officials said."
                         for i in range(3_000))


def test_over_budget_article_is_reported_and_the_chunk_goes_on(tmp_path, extractor):
    from incidex.api import ingest_documents
    from incidex.cleaning import clean
    from incidex.extraction.pipeline import Extractor
    from incidex.store import open_store

    ex = Extractor(kb=extractor.kb, nlp=extractor.nlp, settings=_limits(time_budget_seconds=3))
    docs = [RawDocument(origin="good-1.txt", content=STORY),
            RawDocument(origin="bad.txt", content=PATHOLOGICAL),
            RawDocument(origin="good-2.txt", content=SECOND_STORY)]
    ex.extract_article(clean(docs[0]))  # warm-up: lazy loads are not the article's cost
    store = open_store(f"sqlite:///{tmp_path / 'h.db'}")
    outcomes = ingest_documents(docs, store, ex)
    assert outcomes == ["new", "failed", "new"]
    fails = store.list_failures()
    assert [(f["origin"], f["reason"], f["stage"]) for f in fails] == [("bad.txt", "time budget exceeded (3s)", "extract")]
    assert store.has_article(clean(docs[0]).id) and store.has_article(clean(docs[2]).id)
    assert not store.has_article(clean(docs[1]).id)  # not stored: a later run tries again
