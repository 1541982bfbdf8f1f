"""The feed watcher against a local HTTP server on 127.0.0.1: polls, conditional GET, failures, schedule.

Feeds change between polls, answer 304 and 500, hang past the timeout, send
malformed XML or too large a body, and redirect to refused addresses. Time is
a fake clock (``FakeClock``): politeness gaps and backoff run without waiting.
All stories are invented (fixtures_watch).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from fixtures_ingest import local_server  # noqa: F401
from fixtures_watch import FakeClock, FeedRoute, page, rss, watch_settings

from incidex.store import open_store
from incidex.watch import FeedConfig, Watcher


@pytest.fixture()
def store(tmp_path):
    s = open_store(tmp_path / "watch.db")
    yield s
    s.close()


def feed(url: str, name: str = "wire", interval: float = 600, fetch_pages: bool = False) -> FeedConfig:
    return FeedConfig(url=url, name=name, interval=interval, fetch_pages=fetch_pages)


def make_watcher(store, feeds, extractor, clock=None, ingest=None, **watch):
    clock = clock or FakeClock()
    settings = watch_settings(**{"politeness_seconds": 0, **watch})
    settings["ingest"].update(ingest or {})
    return Watcher(store, feeds, settings=settings, extractor=extractor, clock=clock, sleep=clock.sleep)


def entries(store, url):
    with store.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT entry_key, outcome, article_id, attempts FROM watch_entries "
                                    "WHERE feed_url = ?", (url,)).fetchall()


def feed_requests(server, path="/feed.xml"):
    return [h for p, h in server.requests if p == path]


# -- polling, conditional GET, changes between polls --------------------------------------------

def test_feed_that_changes_between_polls(local_server, store, extractor):
    route = FeedRoute(rss(local_server.base, [1, 2, 3]))
    url = local_server.dynamic("/feed.xml", route)
    w = make_watcher(store, [feed(url)], extractor)

    (first,) = w.run_once()
    assert first.status == "ok" and first.entries == 3
    assert (first.new, first.duplicate, first.unchanged, first.failed) == (3, 0, 0, 0)
    assert first.incidents >= 3
    assert store.count_articles() == 3
    state = store.get_feed_state(url)
    assert state.etag == '"v1"' and state.consecutive_errors == 0 and state.last_success_at is not None

    (second,) = w.run_once()  # nothing changed: the server answers 304 to the ETag
    assert second.status == "not-modified" and second.new == 0
    assert feed_requests(local_server)[-1]["If-None-Match"] == '"v1"'

    route.set(rss(local_server.base, [1, 2, 3, 4, 5]))
    (third,) = w.run_once()
    assert third.status == "ok" and third.entries == 5 and third.new == 2 and third.failed == 0
    assert store.count_articles() == 5
    assert len(entries(store, url)) == 5
    assert store.get_feed_state(url).etag == '"v2"'

    (row,) = store.watch_status()
    assert row["items_seen"] == 5 and row["articles"] == 5 and row["failed_items"] == 0
    assert row["incidents_found"] == store.count_incidents() >= 5


def test_last_modified_is_sent_back(local_server, store, extractor):
    route = FeedRoute(rss(local_server.base, [6]), etag=False, last_modified=True)
    url = local_server.dynamic("/feed.xml", route)
    w = make_watcher(store, [feed(url)], extractor)
    assert w.run_once()[0].new == 1
    (again,) = w.run_once()
    assert again.status == "not-modified"
    sent = feed_requests(local_server)[-1]
    assert sent["If-Modified-Since"] == route.last_modified and "If-None-Match" not in sent


def test_server_without_validators_gets_full_fetches_and_nothing_is_repeated(local_server, store, extractor):
    url = local_server.add("/feed.xml", rss(local_server.base, [7, 8]), "application/rss+xml")
    w = make_watcher(store, [feed(url)], extractor)
    assert w.run_once()[0].new == 2
    (again,) = w.run_once()
    assert again.status == "ok" and again.entries == 2 and again.new == again.unchanged == 0
    assert store.count_articles() == 2
    assert "If-None-Match" not in feed_requests(local_server)[-1]


def test_user_agent_is_configurable(local_server, store, extractor):
    url = local_server.add("/feed.xml", rss(local_server.base, [9]), "application/rss+xml")
    make_watcher(store, [feed(url)], extractor, user_agent="analyst-desk/2.0").run_once()
    assert feed_requests(local_server)[-1]["User-Agent"] == "analyst-desk/2.0"


def test_same_story_in_two_feeds_is_stored_once_and_counted_for_both(local_server, store, extractor):
    a = local_server.add("/a.xml", rss(local_server.base, [10, 11]), "application/rss+xml")
    b = local_server.add("/b.xml", rss(local_server.base, [11]), "application/rss+xml")
    ra, rb = make_watcher(store, [feed(a, "a"), feed(b, "b")], extractor).run_once()
    assert (ra.new, rb.new, rb.unchanged) == (2, 0, 1)
    status = {r["url"]: r for r in store.watch_status()}
    assert status[b]["items_seen"] == 1 and status[b]["incidents_found"] >= 1
    assert status[a]["incidents_found"] >= status[b]["incidents_found"]


# -- failures: each one is recorded, backed off, and never stops the other feeds ----------------

def test_http_500_backs_off_exponentially_then_recovers(local_server, store, extractor):
    state = {"status": 500}
    body = rss(local_server.base, [12])

    def route(_headers):
        if state["status"] == 500:
            return 500, {"Content-Type": "text/plain"}, b"upstream broke"
        return 200, {"Content-Type": "application/rss+xml"}, body

    url = local_server.dynamic("/feed.xml", route)
    clock = FakeClock()
    w = make_watcher(store, [feed(url, interval=600)], extractor, clock=clock,
                     backoff_initial_seconds=60, backoff_factor=2, backoff_max_seconds=200)
    delays = []
    for _ in range(4):
        (r,) = w.run_once()
        assert r.status == "error" and r.error.startswith("HTTP 500")
        delays.append((r.next_poll_at - r.at).total_seconds())
    assert delays == [60, 120, 200, 200]  # doubled, then capped
    st = store.get_feed_state(url)
    assert st.consecutive_errors == 4 and st.last_error.startswith("HTTP 500") and st.last_success_at is None
    assert any(f["origin"] == url and f["stage"] == "watch" for f in store.list_failures())

    state["status"] = 200
    (r,) = w.run_once()
    assert r.status == "ok" and r.new == 1
    assert (r.next_poll_at - r.at).total_seconds() == 600
    st = store.get_feed_state(url)
    assert st.consecutive_errors == 0 and st.last_error.startswith("HTTP 500")  # the last error stays visible


def test_retry_after_is_honoured(local_server, store, extractor):
    url = local_server.add("/feed.xml", b"slow down", "text/plain", status=429, headers={"Retry-After": "900"})
    (r,) = make_watcher(store, [feed(url)], extractor, backoff_initial_seconds=60).run_once()
    assert r.status == "error" and (r.next_poll_at - r.at) == timedelta(seconds=900)


def test_feed_that_hangs_past_the_timeout(local_server, store, extractor):
    import threading

    release = threading.Event()

    def hang(_headers):
        release.wait(10)  # longer than the 0.5 s timeout; released at the end of the test
        return 200, {"Content-Type": "application/rss+xml"}, rss(local_server.base, [13])

    slow = local_server.dynamic("/slow.xml", hang)
    ok = local_server.add("/ok.xml", rss(local_server.base, [14]), "application/rss+xml")
    w = make_watcher(store, [feed(slow, "slow"), feed(ok, "ok")], extractor, timeout_seconds=0.5)
    try:
        r_slow, r_ok = w.run_once()
    finally:
        release.set()
    assert r_slow.status == "error" and "timed out after 0.5 s" in r_slow.error
    assert r_ok.status == "ok" and r_ok.new == 1  # the other feed went on


@pytest.mark.parametrize("body,reason", [
    (b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title></chan<<nel>",
     "malformed feed"),
    (b"<html><body><p>We moved our feed.</p></body></html>", "not an RSS or Atom feed"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rss version="2.0"><channel>'
     b"<title>&b;</title></channel></rss>", "declares XML entities"),
])
def test_malformed_feeds_are_errors(local_server, store, extractor, body, reason):
    url = local_server.add("/feed.xml", body, "application/rss+xml")
    (r,) = make_watcher(store, [feed(url)], extractor).run_once()
    assert r.status == "error" and reason in r.error
    assert store.get_feed_state(url).consecutive_errors == 1 and store.count_articles() == 0


def test_feed_with_a_broken_tail_still_yields_its_entries(local_server, store, extractor):
    body = rss(local_server.base, [15]).replace(b"</channel></rss>", b"<item><title>cut off")
    url = local_server.add("/feed.xml", body, "application/rss+xml")
    (r,) = make_watcher(store, [feed(url)], extractor).run_once()
    assert r.status == "ok" and r.new == 1


@pytest.mark.parametrize("streamed", [False, True])
def test_oversized_feed_is_refused(local_server, store, extractor, streamed):
    big = rss(local_server.base, list(range(16, 40)))
    if streamed:  # no Content-Length: cut off while reading
        url = local_server.add("/feed.xml", lambda: iter([big[i:i + 1000] for i in range(0, len(big), 1000)]),
                               "application/rss+xml")
    else:
        url = local_server.add("/feed.xml", big, "application/rss+xml")
    (r,) = make_watcher(store, [feed(url)], extractor, ingest={"max_input_bytes": 4000}).run_once()
    assert r.status == "error" and "larger than the 4 kB limit (max_input_bytes)" in r.error
    assert store.count_articles() == 0


@pytest.mark.parametrize("target,what", [
    ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
    ("http://10.1.2.3/feed.xml", "private address 10.1.2.3"),
    ("http://127.0.0.2/feed.xml", "loopback address 127.0.0.2"),
    ("ftp://files.invented.test/feed.xml", "only http and https"),
])
def test_redirect_to_a_refused_address(local_server, store, extractor, target, what):
    url = local_server.redirect("/feed.xml", target, 301)
    (r,) = make_watcher(store, [feed(url)], extractor).run_once()
    assert r.status == "error" and what in r.error and r.error.startswith(f"redirect to {target}")
    assert [p for p, _ in local_server.seen] == ["/feed.xml"]  # the refused target was never contacted


def test_private_addresses_are_refused_unless_allowed(local_server, store, extractor):
    url = local_server.add("/feed.xml", rss(local_server.base, [41]), "application/rss+xml")
    (r,) = make_watcher(store, [feed(url)], extractor, ingest={"allow_private_addresses": False}).run_once()
    assert r.status == "error" and "loopback address 127.0.0.1" in r.error
    assert local_server.seen == []


# -- entries ---------------------------------------------------------------------------------------

def test_unreadable_entry_is_retried_a_few_polls_then_left(local_server, store, extractor):
    empty_item = ("<item><title>Headline only</title><link>http://127.0.0.1/none</link>"
                  "<guid>empty-1</guid></item>")
    url = local_server.add("/feed.xml", rss(local_server.base, [42], extra_items=empty_item), "application/rss+xml")
    w = make_watcher(store, [feed(url)], extractor, max_entry_attempts=2)
    (r1,) = w.run_once()
    assert (r1.new, r1.failed) == (1, 1)
    (r2,) = w.run_once()
    assert (r2.new, r2.failed) == (0, 1)
    (r3,) = w.run_once()
    assert (r3.new, r3.failed) == (0, 0)  # two attempts made: left alone
    failed = [e for e in entries(store, url) if e.outcome == "failed"]
    assert len(failed) == 1 and failed[0].attempts == 2 and failed[0].article_id is None
    assert store.watch_status()[0]["failed_items"] == 1


def test_entries_are_stored_oldest_first(local_server, store, extractor):
    url = local_server.add("/feed.xml", rss(local_server.base, [43, 44, 45]), "application/rss+xml")
    make_watcher(store, [feed(url)], extractor).run_once()
    with store.engine.connect() as conn:
        titles = [r[0] for r in conn.exec_driver_sql("SELECT title FROM articles ORDER BY seq")]
    assert [t.split("bulletin ")[1].rstrip(")") for t in titles] == ["43", "44", "45"]


def test_fetch_pages_obeys_robots_txt(local_server, store, extractor):
    local_server.add("/robots.txt", b"User-agent: *\nDisallow: /articles/47.html\n", "text/plain")
    for i in (46, 47):
        local_server.add(f"/articles/{i}.html", page(i))
    url = local_server.add("/feed.xml", rss(local_server.base, [46, 47], teaser=True), "application/rss+xml")
    (r,) = make_watcher(store, [feed(url, fetch_pages=True)], extractor).run_once()
    assert r.status == "ok" and r.new == 2
    paths = [p for p, _ in local_server.seen]
    assert paths.count("/robots.txt") == 1 and "/articles/46.html" in paths and "/articles/47.html" not in paths
    bodies = {a.url.rsplit("/", 1)[1]: a for a in store.list_articles()}
    assert "ransomware attack" in bodies["46.html"].body  # the page
    assert bodies["47.html"].body.startswith("Short note 47")  # robots said no: the entry's own text
    assert any("disallowed by" in f["reason"] and "robots.txt" in f["reason"] for f in store.list_failures())


def test_robots_for_our_user_agent_only(local_server, store, extractor):
    local_server.add("/robots.txt", b"User-agent: incidex-watch-test\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
                     "text/plain")
    local_server.add("/articles/48.html", page(48))
    url = local_server.add("/feed.xml", rss(local_server.base, [48], teaser=True), "application/rss+xml")
    make_watcher(store, [feed(url, fetch_pages=True)], extractor).run_once()
    assert "/articles/48.html" not in [p for p, _ in local_server.seen]


def test_missing_robots_txt_allows_pages(local_server, store, extractor):
    local_server.add("/articles/49.html", page(49))
    url = local_server.add("/feed.xml", rss(local_server.base, [49], teaser=True), "application/rss+xml")
    make_watcher(store, [feed(url, fetch_pages=True)], extractor).run_once()
    assert "/articles/49.html" in [p for p, _ in local_server.seen]
    assert "ransomware attack" in store.list_articles()[0].body


def test_politeness_gap_per_host_and_crawl_delay(local_server, store, extractor):
    local_server.add("/robots.txt", b"User-agent: *\nCrawl-delay: 7\n", "text/plain")
    for i in (50, 51):
        local_server.add(f"/articles/{i}.html", page(i))
    url = local_server.add("/feed.xml", rss(local_server.base, [50, 51], teaser=True), "application/rss+xml")
    clock = FakeClock()
    w = make_watcher(store, [feed(url, fetch_pages=True)], extractor, clock=clock, politeness_seconds=3)
    w.run_once()
    # feed; robots.txt 3 s later (politeness); pages, oldest first, 7 s apart (robots.txt Crawl-delay)
    assert clock.sleeps == [3, 7, 7]
    assert [p for p, _ in local_server.seen] == ["/feed.xml", "/robots.txt", "/articles/50.html", "/articles/51.html"]


# -- schedule -------------------------------------------------------------------------------------

def test_run_forever_polls_each_feed_on_its_interval(local_server, store, extractor):
    a = local_server.dynamic("/a.xml", FeedRoute(rss(local_server.base, [52])))
    b = local_server.dynamic("/b.xml", FeedRoute(rss(local_server.base, [53])))
    clock = FakeClock()
    start = clock.now
    polled = []
    w = Watcher(store, [feed(a, "a", interval=100), feed(b, "b", interval=250)],
                settings=watch_settings(politeness_seconds=0), extractor=extractor, clock=clock, sleep=clock.sleep,
                on_poll=lambda r: polled.append((r.name, round(r.at.timestamp() - start), r.status)))
    assert w.run_forever(max_polls=6) == 6
    assert polled == [("a", 0, "ok"), ("b", 0, "ok"), ("a", 100, "not-modified"), ("a", 200, "not-modified"),
                      ("b", 250, "not-modified"), ("a", 300, "not-modified")]

    # a new watcher (a restart) keeps the saved schedule instead of polling everything at once
    polled.clear()
    w2 = Watcher(store, [feed(a, "a", interval=100), feed(b, "b", interval=250)],
                 settings=watch_settings(politeness_seconds=0), extractor=extractor, clock=clock, sleep=clock.sleep,
                 on_poll=lambda r: polled.append((r.name, round(r.at.timestamp() - start))))
    w2.run_forever(max_polls=3)
    assert polled == [("a", 400), ("a", 500), ("b", 500)]

    # a shorter interval in the feeds file applies at once: b is due 60 s after its last poll
    polled.clear()
    w3 = Watcher(store, [feed(a, "a", interval=100), feed(b, "b", interval=60)],
                 settings=watch_settings(politeness_seconds=0), extractor=extractor, clock=clock, sleep=clock.sleep,
                 on_poll=lambda r: polled.append((r.name, round(r.at.timestamp() - start))))
    w3.run_forever(max_polls=2)
    assert polled == [("b", 560), ("a", 600)]


def test_stop_ends_the_loop(local_server, store, extractor):
    url = local_server.dynamic("/a.xml", FeedRoute(rss(local_server.base, [54])))
    clock = FakeClock()
    w = Watcher(store, [feed(url)], settings=watch_settings(politeness_seconds=0), extractor=extractor,
                clock=clock, sleep=clock.sleep, on_poll=lambda r: w.stop())
    assert w.run_forever() == 1


def test_robots_txt_server_error_refuses_pages_for_now(local_server, store, extractor):
    local_server.add("/robots.txt", b"try later", "text/plain", status=503)
    local_server.add("/articles/55.html", page(55))
    url = local_server.add("/feed.xml", rss(local_server.base, [55], teaser=True), "application/rss+xml")
    (r,) = make_watcher(store, [feed(url, fetch_pages=True)], extractor).run_once()
    assert r.new == 1 and "/articles/55.html" not in [p for p, _ in local_server.seen]
    assert store.list_articles()[0].body.startswith("Short note 55")
    assert any("robots.txt answered HTTP 503" in f["reason"] for f in store.list_failures())


def test_a_restart_keeps_the_backoff(local_server, store, extractor):
    url = local_server.add("/feed.xml", b"down", "text/plain", status=503)
    clock = FakeClock()
    start = clock.now
    make_watcher(store, [feed(url)], extractor, clock=clock, backoff_initial_seconds=90).run_once()
    polled = []
    w = Watcher(store, [feed(url)], settings=watch_settings(politeness_seconds=0), extractor=extractor, clock=clock,
                sleep=clock.sleep, on_poll=lambda r: polled.append(round(r.at.timestamp() - start)))
    w.run_forever(max_polls=1)
    assert polled == [90]
