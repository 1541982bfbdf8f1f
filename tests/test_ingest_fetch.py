"""URLs: feeds and pages from a local HTTP server on 127.0.0.1, and refused addresses.

Only 127.0.0.1 is ever connected to; refused targets (link-local, private ranges)
are checked before any connection is made.
"""
from __future__ import annotations

import ipaddress

import pytest
from fixtures_ingest import (SECOND_STORY_LINES, STORY_LINES, article_page, local_server, make_settings,  # noqa: F401
                             rss2)

from incidex.readers import read, read_articles
from incidex.readers.fetch import check_address, check_url, fetch
from incidex.records import InputError, RawDocument, ReadFailure

LOCAL = make_settings(allow_private_addresses=["127.0.0.1"], user_agent="incidex-test/1.0", timeout_seconds=5)


def _paras(lines):
    return "".join(f"<p>{x}</p>" for x in lines)


def _serve_feed(srv):
    srv.add("/articles/1.html", article_page("Hospital hit by ransomware", STORY_LINES,
                                             published="2024-03-05T14:20:00-05:00", author="Mara Quill").encode())
    srv.add("/articles/2.html", article_page("Water authority breach", SECOND_STORY_LINES).encode())
    feed = rss2(srv.base, [
        {"title": "Hospital hit by ransomware", "link": f"{srv.base}/articles/1.html",
         "description": "Teaser: a hospital was hit by ransomware on Tuesday, officials said in a statement."},
        {"title": "Water authority breach", "link": f"{srv.base}/articles/2.html",
         "description": _paras(SECOND_STORY_LINES)},
        {"title": "Gone", "link": f"{srv.base}/articles/missing.html",
         "description": _paras(SECOND_STORY_LINES[:2])},
    ])
    return srv.add("/feed.xml", feed, "application/rss+xml")


def test_feed_from_url(local_server):
    url = _serve_feed(local_server)
    results = list(read([url], settings=LOCAL))
    assert all(isinstance(r, RawDocument) for r in results) and len(results) == 3
    first = results[0]
    assert first.origin == f"{url}#entry-1" and first.url == f"{local_server.base}/articles/1.html"
    assert first.content.startswith("Teaser:") and first.fetched_at
    assert local_server.seen == [("/feed.xml", "incidex-test/1.0")]  # pages are not fetched by default


def test_feed_from_url_with_fetch_pages(local_server):
    url = _serve_feed(local_server)
    results = list(read([url], fetch_pages=True, settings=LOCAL))
    docs = [r for r in results if isinstance(r, RawDocument)]
    fails = [r for r in results if isinstance(r, ReadFailure)]
    assert len(docs) == 3 and len(fails) == 1
    assert docs[0].content.endswith(STORY_LINES[-1]) and STORY_LINES[0] in docs[0].content
    assert docs[0].raw.startswith("<!DOCTYPE html>") and docs[0].title == "Hospital hit by ransomware"
    assert docs[0].published == "2024-03-05T14:20:00-05:00"  # from the feed entry
    assert "Podcasts" not in docs[0].content
    assert SECOND_STORY_LINES[3] in docs[1].content
    # the missing page is reported, and the entry's own text is used instead
    assert fails[0].origin == f"{url}#entry-3" and "HTTP 404" in fails[0].reason
    assert "used the feed entry text instead" in fails[0].reason
    assert docs[2].content == "\n".join(SECOND_STORY_LINES[:2])
    assert {p for p, _ in local_server.seen} == {"/feed.xml", "/articles/1.html", "/articles/2.html",
                                                 "/articles/missing.html"}


def test_fetch_pages_articles(local_server):
    url = _serve_feed(local_server)
    arts = [a for a in read_articles([url], fetch_pages=True, settings=LOCAL) if not isinstance(a, ReadFailure)]
    assert arts[0].body == "\n".join(STORY_LINES)
    assert arts[0].source == "127.0.0.1" and arts[0].raw_kind == "html"


def test_html_page_from_url_and_redirect(local_server):
    local_server.add("/story", article_page("Water authority breach", SECOND_STORY_LINES).encode())
    url = local_server.redirect("/old-story", "/story", 301)
    (doc,) = list(read([url], settings=LOCAL))
    assert doc.origin == url and doc.url == f"{local_server.base}/story"
    assert SECOND_STORY_LINES[0] in doc.content


def test_plain_text_url(local_server):
    url = local_server.add("/story.txt", ("Title: Utility breach\n\n" + "\n".join(SECOND_STORY_LINES)).encode(),
                           "text/plain; charset=utf-8")
    (doc,) = list(read([url], settings=LOCAL))
    assert doc.title == "Utility breach" and doc.url == url


def test_private_address_refused_by_default(local_server):
    url = _serve_feed(local_server)
    (f,) = list(read([url], settings=make_settings(allow_private_addresses=False)))
    assert isinstance(f, ReadFailure) and f.origin == url
    assert "refused" in f.reason and "loopback address 127.0.0.1" in f.reason
    assert local_server.seen == []  # nothing was requested


def test_allow_everything_with_true(local_server):
    url = _serve_feed(local_server)
    results = list(read([url], settings=make_settings(allow_private_addresses=True)))
    assert len(results) == 3


def test_env_variable_allows_private(monkeypatch):
    from incidex.settings import load_settings

    monkeypatch.setenv("INCIDEX_ALLOW_PRIVATE_ADDRESSES", "1")
    load_settings.cache_clear()
    try:
        assert load_settings()["ingest"]["allow_private_addresses"] is True
    finally:
        monkeypatch.delenv("INCIDEX_ALLOW_PRIVATE_ADDRESSES")
        load_settings.cache_clear()


@pytest.mark.parametrize("target,what", [
    ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
    ("http://10.20.30.40/admin", "private address 10.20.30.40"),
    ("http://[::1]:8080/", "loopback address ::1"),
    ("http://0.0.0.0/", "unspecified address 0.0.0.0"),
])
def test_redirect_to_refused_address(local_server, target, what):
    url = local_server.redirect("/jump", target)
    (f,) = list(read([url], settings=LOCAL))
    assert isinstance(f, ReadFailure)
    assert f.reason.startswith(f"redirect to {target}: refused") and what in f.reason


def test_redirect_to_other_scheme_refused(local_server):
    url = local_server.redirect("/jump", "file:///etc/passwd")
    (f,) = list(read([url], settings=LOCAL))
    assert "only http and https" in f.reason


def test_too_many_redirects(local_server):
    for i in range(7):
        local_server.redirect(f"/r{i}", f"/r{i + 1}")
    (f,) = list(read([f"{local_server.base}/r0"], settings=LOCAL))
    assert f.reason == "more than 5 redirects (max_redirects)"


def test_oversized_response_with_length(local_server):
    url = local_server.add("/big.html", b"<p>" + b"a" * 5000 + b"</p>")
    (f,) = list(read([url], settings=make_settings(allow_private_addresses=["127.0.0.1"], max_input_bytes=2000)))
    assert f.reason == "response larger than the 2 kB limit (max_input_bytes)"


def test_oversized_streamed_response(local_server):
    def chunks():
        for _ in range(100):
            yield b"<p>" + b"b" * 1000 + b"</p>"

    url = local_server.add("/stream.html", chunks)
    with pytest.raises(InputError) as ei:
        fetch(url, make_settings(allow_private_addresses=["127.0.0.1"], max_input_bytes=20_000))
    assert ei.value.reason == "response larger than the 20 kB limit (max_input_bytes)"


def test_http_error_status(local_server):
    (f,) = list(read([f"{local_server.base}/nothing-here"], settings=LOCAL))
    assert f.reason.startswith("HTTP 404 Not Found")


def test_check_address_rules():
    allow_local = ["127.0.0.1"]
    assert check_address(ipaddress.ip_address("93.184.216.34"), False) is None
    assert check_address(ipaddress.ip_address("127.0.0.1"), allow_local) is None
    assert check_address(ipaddress.ip_address("127.0.0.2"), allow_local) == "loopback address 127.0.0.2"
    assert check_address(ipaddress.ip_address("192.168.1.1"), ["10.0.0.0/8"]) == "private address 192.168.1.1"
    assert check_address(ipaddress.ip_address("10.9.9.9"), ["10.0.0.0/8"]) is None
    assert check_address(ipaddress.ip_address("::ffff:10.0.0.1"), False).startswith("private address")
    assert check_address(ipaddress.ip_address("224.0.0.1"), False) == "multicast address 224.0.0.1"
    assert check_address(ipaddress.ip_address("240.0.0.1"), False).startswith("reserved")
    with pytest.raises(InputError):
        check_url("gopher://example.test/", LOCAL)
