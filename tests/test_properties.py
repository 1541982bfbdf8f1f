"""Property-based tests (hypothesis) of every reader, the cleaner and the extractor.

The properties are the fuzz targets' (fuzz/targets.py): a reader yields
documents or failures and never raises; the cleaner returns an article or
raises InputError, and cleaning a clean body changes nothing; the extractor's
evidence lies inside the body and equals its slice, and extracting twice gives
the same result. Inputs are arbitrary bytes and, to get past the parsers,
generated news text, web pages, JSON lines and feeds with hostile characters.
"""
from __future__ import annotations

import html as htmllib
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

import targets  # noqa: E402
from incidex.cleaning.dates import normalize_date  # noqa: E402
from incidex.records import RawDocument  # noqa: E402
from incidex.store.codec import parse_instant  # noqa: E402

# feedparser warns about its own 'updated'/'published' fallback on every other generated feed
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.data_too_large])

# --------------------------------------------------------------------------- generated news text

ACTORS = ["LockBit", "APT28", "Rhysida", "the Cl0p gang", "Sandworm", "hackers linked to Iran", "L\u043e\u0441kBit",
          "Lock\u200bBit", "\uff21\uff30\uff34\uff12\uff19", "NoName057(16)", "an unknown group"]
VICTIMS = ["Northvale Regional Hospital", "the city of Brookhaven Falls", "Kessler Werkzeugbau GmbH",
           "the Dutch foreign ministry", "V\u0430lemont Health", "Harbor & Finch", "a regional bank"]
VERBS = ["hit", "attacked", "breached", "claimed an attack on", "encrypted the servers of", "targeted",
         "launched a DDoS attack against", "stole data from", "did not attack"]
WHEN = ["on Monday", "last week", "on March 5, 2024", "in early 2023", "two days ago", "on 2024-02-30",
        "yesterday", "in Sept. 2022", ""]
EXTRA = ["officials said.", "the company confirmed.", "according to researchers.", "demanding $4.5 million.",
         "exposing 1,200,000 records.", "via CVE-2023-4966 and 45.155.205[.]233.", "(see hxxp://evil[.]example/x).",
         "The FBI is investigating.", "No ransom was paid.", "U.S. officials blamed Russia."]
NOISE = ["\u200b", "\u00a0", "\ufeff", "\u202e", "\u00ad", "\u2019", "\u201c", "\u2014", "\t", "  ", "\r\n", "\x00",
         "\ud800", "é", "\u0301", "…", "##", "<b>", "&amp;", "\\", "\"", "\u2028"]


@st.composite
def sentences(draw) -> str:
    s = f"{draw(st.sampled_from(ACTORS))} {draw(st.sampled_from(VERBS))} {draw(st.sampled_from(VICTIMS))} " \
        f"{draw(st.sampled_from(WHEN))}, {draw(st.sampled_from(EXTRA))}"
    if draw(st.booleans()):
        k = draw(st.integers(0, len(s)))
        s = s[:k] + draw(st.sampled_from(NOISE)) + s[k:]
    return s


@st.composite
def news_text(draw) -> str:
    lines = draw(st.lists(st.one_of(sentences(), sentences(), st.text(max_size=60)), min_size=1, max_size=12))
    sep = draw(st.sampled_from(["\n", " ", "\n\n", "\r\n"]))
    text = sep.join(lines)
    if draw(st.booleans()):
        text = draw(st.sampled_from(["Title: Hospital hit\n", "By Jane Roe\n", "March 5, 2024\n", "Advertisement\n"])) + text
    if draw(st.booleans()):
        text += draw(st.sampled_from(["\nThis article originally appeared on example-news.com.",
                                      "\nRelated\nCity Council Votes On Budget\nNew Park Opens Downtown",
                                      "\nJane Roe is a reporter at Example News.\nShe covers security.",
                                      "\nShare this article", "\n\u00a9 2024 Example News. All rights reserved."]))
    return text


def _noise(draw, s: str) -> str:
    if draw(st.booleans()):
        k = draw(st.integers(0, len(s)))
        s = s[:k] + draw(st.sampled_from(NOISE + ["<", "]]>", "<!--", "&#0;", "&bogus;", "<![CDATA["])) + s[k:]
    return s


@st.composite
def pages(draw) -> bytes:
    paras = "".join(f"<p>{htmllib.escape(x)}</p>" for x in draw(st.lists(sentences(), min_size=1, max_size=8)))
    nest = draw(st.integers(0, 40))
    body = "<div>" * nest + paras + "</div>" * draw(st.integers(0, nest))
    title = htmllib.escape(draw(st.sampled_from(VICTIMS)))
    page = (f"<html><head><title>{title}</title><meta property='article:published_time' "
            f"content='{draw(st.sampled_from(['2024-03-05', 'yesterday', '', '9999-99-99']))}'></head>"
            f"<body><nav>Home</nav><article>{body}</article><script>var x = '</p>';</script></body></html>")
    page = _noise(draw, page)
    enc = draw(st.sampled_from(["utf-8", "utf-16", "cp1252", "utf-8-sig"]))
    return page.encode(enc, errors="replace")


def dates():
    """Publication dates as feeds and footers write them, well and badly."""
    return st.one_of(
        st.sampled_from(["Tue, 12 Mar 2024 09:30:00 +0000", "2024-03-12", "not a date", "",
                         "0001-01-01T00:00:00+01:00", "Tue, 12 Mar 2024 09:30:00 +3000"]),
        # any number in any field of an RFC 2822 date: years and hours too large for C,
        # 80-digit minutes and seconds (dateutil divides them as decimals)
        st.builds("{}, {} {} {} {}:{}:{} {}".format, st.sampled_from(["Tue", "Xyz"]),
                  st.integers(0, 10**25), st.sampled_from(["Mar", "Foo"]), st.integers(0, 10**25),
                  st.integers(0, 10**25), st.integers(0, 10**80), st.integers(0, 10**80),
                  st.sampled_from(["+0000", "-9999", "GMT", "+99999999999", "EST", ""])),
        st.builds("{}-{:02d}-{:02d}T{:02d}:{:02d}:00{}".format, st.integers(0, 99999), st.integers(0, 99),
                  st.integers(0, 99), st.integers(0, 99), st.integers(0, 99),
                  st.sampled_from(["", "Z", "+01:00", "-23:59", "+24:00"])),
        st.text(max_size=40))


@st.composite
def feeds(draw) -> bytes:
    items = []
    for s in draw(st.lists(sentences(), min_size=0, max_size=6)):
        desc = htmllib.escape(s) if draw(st.booleans()) else f"<![CDATA[<p>{s}</p>]]>"
        date = draw(dates())
        items.append(f"<item><title>{htmllib.escape(s[:40])}</title><link>https://news.example.org/a</link>"
                     f"<pubDate>{date}</pubDate><description>{desc}</description></item>")
    feed = (draw(st.sampled_from(['<?xml version="1.0"?>', '<?xml version="1.0" encoding="iso-8859-1"?>', ""]))
            + draw(st.sampled_from(["", "\n" * 50, "<!-- generator -->", '<!DOCTYPE rss [<!ENTITY a "b">]>']))
            + f'<rss version="2.0"><channel><title>News</title>{"".join(items)}</channel></rss>')
    return _noise(draw, feed).encode("utf-8", errors="surrogatepass")


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                           max_leaves=12)


@st.composite
def json_lines(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        rec = {"id": draw(st.text(max_size=5)), "title": draw(st.one_of(st.none(), st.text(max_size=20), json_values))}
        key = draw(st.sampled_from(["text", "html", "body", "content", "nothing"]))
        rec[key] = draw(st.one_of(news_text(), json_values))
        line = json.dumps(rec, ensure_ascii=draw(st.booleans()))
        lines.append(_noise(draw, line) if draw(st.integers(0, 4)) == 0 else line)
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


# --------------------------------------------------------------------------- readers

@FAST
@given(st.binary(max_size=3000))
def test_text_reader_on_any_bytes(data):
    targets.target_text(data)


@FAST
@given(st.binary(max_size=3000))
def test_html_reader_on_any_bytes(data):
    targets.target_html(data)


@FAST
@given(pages())
def test_html_reader_on_hostile_pages(data):
    targets.target_html(data)


@FAST
@given(st.binary(max_size=3000))
def test_jsonl_reader_on_any_bytes(data):
    targets.target_jsonl(data)


@FAST
@given(json_lines())
def test_jsonl_reader_on_hostile_lines(data):
    targets.target_jsonl(data)


@FAST
@given(st.binary(max_size=3000))
def test_feed_reader_on_any_bytes(data):
    targets.target_feed(data)


@FAST
@given(feeds())
def test_feed_reader_on_hostile_feeds(data):
    targets.target_feed(data)


@FAST
@given(st.one_of(st.binary(max_size=2000), pages(), feeds(), json_lines()))
def test_sniffing_reader_on_anything(data):
    targets.target_any(data)


# --------------------------------------------------------------------------- cleaner

@settings(max_examples=400, deadline=None)
@given(dates())
def test_any_publication_date_is_iso_or_unknown_and_storable(value):
    """What normalize_date returns, the store can order (codec.parse_instant gives a UTC
    instant); what it cannot read is None, never an exception."""
    iso = normalize_date(value)
    if iso is not None:
        assert 1900 <= int(iso[:4]) <= 2199
        instant = parse_instant(iso)
        assert instant is not None and instant.utcoffset() == timedelta(0)


@FAST
@given(news_text(), st.one_of(st.none(), st.sampled_from(VICTIMS)), st.one_of(st.none(), st.just("Jane Roe")))
def test_cleaning_is_idempotent(text, title, author):
    targets.check_clean(RawDocument(origin="prop", content=text, title=title, author=author))


@FAST
@given(st.text(max_size=2000))
def test_cleaning_any_text_returns_article_or_input_error(text):
    targets.check_clean(RawDocument(origin="prop", content=text))


# --------------------------------------------------------------------------- extractor

@SLOW
@given(news_text())
def test_extraction_evidence_is_exact_and_repeatable(text):
    art = targets.check_clean(RawDocument(origin="prop", content=text, published="2024-03-12"))
    if art is not None:
        targets.check_extraction(art)


@SLOW
@given(st.text(min_size=40, max_size=1500))
def test_extraction_of_any_text(text):
    targets.target_extract(text.encode("utf-8", errors="surrogatepass"))
