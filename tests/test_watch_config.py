"""Feeds files (YAML and OPML), the packaged feed list, backoff arithmetic and the watch state tables."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fixtures_watch import watch_settings

from incidex.records import Article, Incident, IncidexError
from incidex.store import open_store
from incidex.store.base import EntryMark, FeedState
from incidex.watch import default_feeds_path, load_feeds, parse_interval
from incidex.watch.pacing import backoff_delay, retry_after

SETTINGS = watch_settings(default_interval_seconds=1800, min_interval_seconds=60)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- YAML ------------------------------------------------------------------------------------------

def test_yaml_feeds_with_defaults(tmp_path):
    p = write(tmp_path, "feeds.yaml", """
defaults:
  interval: 15m
  fetch_pages: yes
feeds:
  - url: https://wire.invented.test/feed.xml
    name: Invented Wire
  - url: https://gazette.invented.test/rss
    interval: 2h
    fetch_pages: false
  - https://bulletin.invented.test/atom.xml
""")
    a, b, c = load_feeds(p, SETTINGS)
    assert (a.name, a.interval, a.fetch_pages) == ("Invented Wire", 900, True)
    assert (b.name, b.interval, b.fetch_pages) == ("gazette.invented.test", 7200, False)
    assert (c.url, c.interval, c.fetch_pages) == ("https://bulletin.invented.test/atom.xml", 900, True)


def test_yaml_bare_list_uses_the_settings_default_interval(tmp_path):
    p = write(tmp_path, "feeds.yml", "- url: http://wire.invented.test/feed\n")
    (f,) = load_feeds(p, SETTINGS)
    assert f.interval == 1800 and f.fetch_pages is False


def test_short_interval_is_raised_to_the_minimum(tmp_path, caplog):
    p = write(tmp_path, "feeds.yaml", "feeds:\n  - url: https://wire.invented.test/feed\n    interval: 5\n")
    (f,) = load_feeds(p, SETTINGS)
    assert f.interval == 60 and "min_interval_seconds" in caplog.text


@pytest.mark.parametrize("text,message", [
    ("feeds:\n  - url: file:///etc/passwd\n", "is not an http(s) URL"),
    ("feeds:\n  - name: no url\n", "a feed needs a url"),
    ("feeds:\n  - url: https://a.invented.test/f\n  - url: https://a.invented.test/f\n", "listed twice"),
    ("feeds:\n  - url: https://a.invented.test/f\n    interval: soon\n", "is not a duration"),
    ("feeds:\n  - url: https://a.invented.test/f\n    interval: 0\n", "must be positive"),
    ("feeds:\n  - url: https://a.invented.test/f\n    fetch_pages: maybe\n", "is not true or false"),
    ("feeds: []\n", "no feeds"),
    ("feeds: {url: x}\n", "expected a list of feeds"),
    ("feeds:\n  - [1, 2]\n", "expected a mapping with a url"),
    ("feeds: [\n", "not valid YAML"),
])
def test_bad_yaml_files_say_what_is_wrong(tmp_path, text, message):
    p = write(tmp_path, "feeds.yaml", text)
    with pytest.raises(IncidexError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_feeds(p, SETTINGS)


def test_missing_file(tmp_path):
    with pytest.raises(IncidexError, match="cannot read feeds file"):
        load_feeds(tmp_path / "nope.yaml", SETTINGS)


@pytest.mark.parametrize("value,seconds", [(900, 900), ("900", 900), ("15m", 900), ("1.5h", 5400), ("2d", 172800),
                                           ("30 s", 30), (" 4H ", 14400)])
def test_intervals(value, seconds):
    assert parse_interval(value, "x") == seconds


# -- OPML ------------------------------------------------------------------------------------------

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Analyst subscriptions</title></head>
  <body>
    <outline text="News">
      <outline type="rss" text="Invented Wire" title="Wire" xmlUrl="https://wire.invented.test/feed.xml"
               htmlUrl="https://wire.invented.test/"/>
      <outline type="rss" title="Invented Gazette" xmlUrl="https://gazette.invented.test/rss"
               interval="1h" fetchPages="true"/>
    </outline>
    <outline text="Advisories">
      <outline type="rss" text="Invented CERT" xmlUrl="https://cert.invented.test/advisories.xml" fetch_pages="1"/>
      <outline text="a folder without a feed"/>
    </outline>
  </body>
</opml>
"""


def test_opml_nested_outlines(tmp_path):
    p = write(tmp_path, "subscriptions.opml", OPML)
    a, b, c = load_feeds(p, SETTINGS)
    assert (a.name, a.url, a.interval, a.fetch_pages) == ("Invented Wire", "https://wire.invented.test/feed.xml",
                                                          1800, False)
    assert (b.name, b.interval, b.fetch_pages) == ("Invented Gazette", 3600, True)
    assert (c.name, c.fetch_pages) == ("Invented CERT", True)


def test_opml_is_told_apart_by_content_not_name(tmp_path):
    p = write(tmp_path, "feeds.txt", OPML)
    assert len(load_feeds(p, SETTINGS)) == 3


def test_opml_with_entities_is_refused(tmp_path):
    p = write(tmp_path, "bad.opml", '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x "y">]>'
                                    '<opml version="2.0"><body><outline xmlUrl="https://a.invented.test/&x;"/>'
                                    "</body></opml>")
    with pytest.raises(IncidexError, match="entities"):
        load_feeds(p, SETTINGS)


def test_malformed_opml(tmp_path):
    p = write(tmp_path, "bad.opml", '<opml version="2.0"><body><outline xmlUrl="https://a.invented.test/"></body>')
    with pytest.raises(IncidexError, match="not well-formed OPML"):
        load_feeds(p, SETTINGS)


# -- the packaged feeds file ---------------------------------------------------------------------

def test_packaged_feeds_file():
    feeds = load_feeds(None, SETTINGS)
    assert load_feeds(default_feeds_path(), SETTINGS) == feeds
    assert len(feeds) >= 10
    assert all(f.url.startswith("https://") and f.name for f in feeds)
    names = " ".join(f.name for f in feeds)
    for outlet in ("The Record", "BleepingComputer", "The Hacker News", "SecurityWeek", "Krebs", "Dark Reading",
                   "CISA", "NCSC", "CERT-EU"):
        assert outlet in names


# -- backoff ------------------------------------------------------------------------------------------

def test_backoff_doubles_and_is_capped():
    watch = {"backoff_initial_seconds": 60, "backoff_factor": 2, "backoff_max_seconds": 3600}
    assert [backoff_delay(n, watch) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff_delay(1, watch, retry_after=600) == 600
    assert backoff_delay(1, watch, retry_after=99999) == 3600


def test_retry_after_forms():
    now = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc).timestamp()
    assert retry_after({"Retry-After": "120"}, now) == 120
    assert retry_after({"retry-after": "Sat, 01 Jun 2024 12:05:00 GMT"}, now) == 300
    assert retry_after({"Retry-After": "whenever"}, now) is None
    assert retry_after({}, now) is None
    assert retry_after({"Retry-After": "Sat, 01 Jun 99999999999999999999 12:05:00 GMT"}, now) is None
    assert backoff_delay(1, {}, retry_after({"Retry-After": "9" * 400}, now)) == 21_600  # inf, capped


def test_backoff_of_a_feed_dead_for_years_is_the_cap():
    assert backoff_delay(5_000, {}) == 21_600  # 2.0 ** 4999 would overflow


# -- the state tables through the Store ------------------------------------------------------------

@pytest.fixture()
def store(tmp_path):
    s = open_store(tmp_path / "state.db")
    yield s
    s.close()


def test_feed_state_round_trip(store):
    t = datetime(2024, 6, 1, 9, 30, tzinfo=timezone.utc)
    state = FeedState(url="https://wire.invented.test/feed", name="Wire", etag='W/"abc"',
                      last_modified="Sat, 01 Jun 2024 09:00:00 GMT", last_poll_at=t, last_success_at=t,
                      consecutive_errors=0, next_poll_at=t + timedelta(minutes=30))
    store.save_feed_state(state)
    assert store.get_feed_state(state.url) == state
    state.last_error, state.last_error_at, state.consecutive_errors = "HTTP 503", t, 2
    store.save_feed_state(state)  # an update, not a second row
    assert store.get_feed_state(state.url) == state
    assert store.get_feed_state("https://other.invented.test/") is None
    (row,) = store.watch_status()
    assert row["last_error"] == "HTTP 503" and row["items_seen"] == 0 and row["incidents_found"] == 0


def test_entry_marks_are_idempotent_and_count_failed_attempts(store):
    url = "https://wire.invented.test/feed"
    store.mark_entries(url, [EntryMark("k1", "failed"), EntryMark("k2", "unchanged")])
    store.mark_entries(url, [EntryMark("k1", "failed"), EntryMark("k2", "unchanged")])
    assert store.seen_entries(url, ["k1", "k2", "k3"]) == {"k1": ("failed", 2), "k2": ("unchanged", 1)}
    store.mark_entries(url, [EntryMark("k1", "unchanged")])
    assert store.seen_entries(url, ["k1"]) == {"k1": ("unchanged", 2)}
    assert store.seen_entries("https://other.invented.test/", ["k1"]) == {}


def test_entry_marks_roll_back_with_their_transaction(store):
    url = "https://wire.invented.test/feed"
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_article(Article(id="a1", body="An invented report about a made-up water utility breach."))
            store.mark_entries(url, [EntryMark("k1", "new", "a1")])
            raise RuntimeError("crash between the article and the commit")
    assert store.seen_entries(url, ["k1"]) == {} and not store.has_article("a1")


def test_many_keys(store):
    url = "https://wire.invented.test/feed"
    keys = [f"key-{i}" for i in range(1200)]
    store.mark_entries(url, [EntryMark(k, "unchanged") for k in keys[::2]])
    assert set(store.seen_entries(url, keys)) == set(keys[::2])


def test_status_counts_items_and_distinct_incidents(store):
    url = "https://wire.invented.test/feed"
    for aid in ("a1", "a2"):
        store.add_article(Article(id=aid, body=f"An invented report {aid} about a made-up port operator breach."))
    store.add_incident(Incident(id="i1"), "a1")
    store.add_incident(Incident(id="i1"), "a2")  # both articles report the same incident
    store.add_incident(Incident(id="i2"), "a2")
    store.mark_entries(url, [EntryMark("k1", "new", "a1"), EntryMark("k2", "new", "a2"), EntryMark("k3", "failed")])
    (row,) = store.watch_status()
    assert (row["items_seen"], row["articles"], row["failed_items"], row["incidents_found"]) == (3, 2, 1, 2)
