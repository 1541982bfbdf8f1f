"""The watcher: poll each feed on its schedule, run its new entries through the pipeline.

One poll of a feed:

1. wait for the host's politeness gap, then a conditional GET (the ETag and
   Last-Modified of the last good poll); 304 means nothing new;
2. parse the entries; each gets a key that is stable across polls (its id,
   else its link, else a hash of its title and text); entries already
   recorded for the feed are skipped, except failed ones, retried on up to
   ``[watch] max_entry_attempts`` polls;
3. the new entries, oldest first (so a story's first copy is stored first),
   are read (the linked page too with ``fetch_pages``: robots.txt obeyed,
   politeness kept) and ingested in chunks: clean, deduplicate, extract,
   resolve, store. Each chunk's articles and the rows marking its entries
   handled commit in one transaction;
4. only then are the feed's new validators and next poll time saved.

So a watcher killed at any point resumes without loss or repeat: entries
whose chunk committed are skipped, the others are read again, and the feed
is fetched in full again because its validators were not yet updated.

A failed poll (timeout, HTTP error, refused address, oversized or malformed
feed) is recorded on the feed and in the failures table, and the feed is
tried again after an exponential backoff (honouring Retry-After). Clock and
sleep are injectable so schedules can be tested without waiting.
"""
from __future__ import annotations

import copy
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from incidex.api import IngestReport, ingest_documents
from incidex.readers.feed import entry_text, parse_feed, read_entry
from incidex.readers.fetch import FetchResult, HTTPStatusError, fetch
from incidex.readers.robots import RobotsRules
from incidex.readers.util import resolve_settings, utc_now
from incidex.records import InputError, RawDocument, ReadFailure
from incidex.store.base import EntryMark, FeedState
from incidex.watch.config import FeedConfig
from incidex.watch.pacing import HostGate, Stopped, backoff_delay, retry_after, utc

log = logging.getLogger(__name__)

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.9, "
               "text/xml;q=0.8, */*;q=0.5")
ROBOTS_ACCEPT = "text/plain, */*;q=0.5"

PollStatus = Literal["ok", "not-modified", "error", "stopped"]


@dataclass
class PollResult:
    """What one poll of one feed did."""

    url: str
    name: str
    status: PollStatus
    at: datetime
    entries: int = 0      # entries in the feed document
    new: int = 0          # articles stored
    duplicate: int = 0    # syndicated copies of stored articles
    unchanged: int = 0    # text already stored (e.g. from another feed)
    failed: int = 0       # entries that could not be read or processed
    incidents: int = 0    # incidents extracted from the new articles
    error: str | None = None
    next_poll_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("at", "next_poll_at"):
            d[k] = d[k].isoformat(timespec="seconds") if d[k] else None
        return d


def entry_key(entry: Any) -> str:
    """A key for a feed entry that stays the same across polls."""
    for kind in ("id", "link"):
        value = str(entry.get(kind) or "").strip()
        if value:
            return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()
    text = f"text:{entry.get('title') or ''}\n{entry_text(entry)}"
    return hashlib.sha256(text.encode()).hexdigest()


def fetch_settings(settings: dict[str, Any], user_agent: str | None = None) -> dict[str, Any]:
    """The settings the watcher fetches with: [ingest] with [watch]'s user_agent / timeout on top."""
    s = copy.deepcopy(settings)
    watch = s.get("watch", {})
    ua = user_agent or watch.get("user_agent")
    if ua:
        s["ingest"]["user_agent"] = str(ua)
    if watch.get("timeout_seconds"):
        s["ingest"]["timeout_seconds"] = float(watch["timeout_seconds"])
    return s


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


class Watcher:
    """Polls ``feeds`` into ``store``.

    ``clock() -> seconds since the epoch`` and ``sleep(seconds)`` default to
    the real ones (sleep wakes early on ``stop()``); ``on_poll(result)`` is
    called after every poll.
    """

    def __init__(self, store, feeds: Sequence[FeedConfig], *, settings: dict[str, Any] | None = None,
                 extractor=None, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], Any] | None = None,
                 on_poll: Callable[[PollResult], None] | None = None, user_agent: str | None = None):
        self.store = store
        self.feeds = list(feeds)
        self._settings = resolve_settings(settings)
        self._watch = self._settings.get("watch", {})
        self._fetch_settings = fetch_settings(self._settings, user_agent)
        self._extractor = extractor
        self._stop = threading.Event()
        self._clock = clock or time.time
        self._sleep = sleep or self._stop.wait
        self._on_poll = on_poll
        self._gate = HostGate(float(self._watch.get("politeness_seconds", 2.0)), self._clock, self._sleep,
                              self._stop.is_set)
        self._robots = RobotsRules(lambda url: self._fetch(url, accept=ROBOTS_ACCEPT),
                                   self._fetch_settings["ingest"]["user_agent"],
                                   ttl=float(self._watch.get("robots_ttl_seconds", 86_400)), clock=self._clock)
        self._chunk = int(self._settings["ingest"].get("chunk_size", 32))

    # -- running -------------------------------------------------------------

    def stop(self) -> None:
        """Finish the chunk in hand, then stop (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run_once(self) -> list[PollResult]:
        """Poll every feed once, in file order, whatever its schedule."""
        results = []
        for feed in self.feeds:
            if self.stopped:
                break
            results.append(self._polled(feed))
        return results

    def run_forever(self, max_polls: int | None = None) -> int:
        """Poll each feed when it is due until ``stop()`` (or ``max_polls``); returns the polls made.

        The first poll of a feed is when its saved ``next_poll_at`` says
        (a restart keeps the schedule, backoff included), or now; no later
        than one interval after its last good poll, should the feeds file
        now give a shorter interval.
        """
        if not self.feeds:
            return 0
        now = self._clock()
        due: dict[str, float] = {}
        for feed in self.feeds:
            state = self.store.get_feed_state(feed.url)
            due[feed.url] = now
            if state and state.next_poll_at:
                due[feed.url] = state.next_poll_at.timestamp()
                if not state.consecutive_errors and state.last_poll_at:
                    due[feed.url] = min(due[feed.url], state.last_poll_at.timestamp() + feed.interval)
        polls = 0
        while not self.stopped and (max_polls is None or polls < max_polls):
            feed = min(self.feeds, key=lambda f: due[f.url])
            wait = due[feed.url] - self._clock()
            if wait > 0:
                self._sleep(wait)
                continue
            result = self._polled(feed)
            polls += 1
            if result.status == "stopped":
                break
            due[feed.url] = result.next_poll_at.timestamp() if result.next_poll_at else self._clock() + feed.interval
        return polls

    def _polled(self, feed: FeedConfig) -> PollResult:
        result = self.poll(feed)
        if self._on_poll:
            self._on_poll(result)
        return result

    # -- one poll ------------------------------------------------------------

    def poll(self, feed: FeedConfig) -> PollResult:
        """Poll one feed now; never raises for a feed's own failure (it is recorded instead)."""
        state = self.store.get_feed_state(feed.url) or FeedState(url=feed.url)
        state.name = feed.name
        result = PollResult(feed.url, feed.name, "ok", at=utc(self._clock()))
        try:
            try:
                res = self._fetch(feed.url, accept=FEED_ACCEPT, headers=self._validators(state))
            except HTTPStatusError as exc:
                return self._error(feed, state, result, exc.reason, retry_after(exc.headers, self._clock()))
            except InputError as exc:
                return self._error(feed, state, result, exc.reason)
            if res.status == 304:
                result.status = "not-modified"
                state.etag = _header(res.headers, "etag") or state.etag
                state.last_modified = _header(res.headers, "last-modified") or state.last_modified
                return self._success(feed, state, result)
            entries = parse_feed(res.content, feed.url, url=res.final_url, content_type=res.content_type)
            if isinstance(entries, ReadFailure):
                return self._error(feed, state, result, entries.reason)
            result.entries = len(entries)
            self._handle_entries(feed, entries, result)
            state.etag = _header(res.headers, "etag")
            state.last_modified = _header(res.headers, "last-modified")
            return self._success(feed, state, result)
        except Stopped:
            result.status = "stopped"
            return result
        except Exception as exc:  # a bug or a database error: recorded on the feed, other feeds go on
            log.exception("watch: polling %s failed", feed.url)
            return self._error(feed, state, result, f"internal error: {type(exc).__name__}: {exc}")

    @staticmethod
    def _validators(state: FeedState) -> dict[str, str]:
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        return headers

    def _success(self, feed: FeedConfig, state: FeedState, result: PollResult) -> PollResult:
        now = self._clock()
        state.last_poll_at = state.last_success_at = utc(now)
        state.consecutive_errors = 0
        state.next_poll_at = result.next_poll_at = utc(now + feed.interval)
        self.store.save_feed_state(state)
        return result

    def _error(self, feed: FeedConfig, state: FeedState, result: PollResult, reason: str,
               wait: float | None = None) -> PollResult:
        now = self._clock()
        state.consecutive_errors += 1
        state.last_poll_at = state.last_error_at = utc(now)
        state.last_error = reason
        state.next_poll_at = result.next_poll_at = utc(now + backoff_delay(state.consecutive_errors, self._watch, wait))
        with self.store.transaction():
            self.store.save_feed_state(state)
            self.store.record_failure(feed.url, reason, "watch")
        result.status, result.error = "error", reason
        return result

    # -- entries -------------------------------------------------------------

    def _handle_entries(self, feed: FeedConfig, entries: list[Any], result: PollResult) -> None:
        keyed: dict[str, tuple[int, Any]] = {}
        for i, entry in enumerate(entries, 1):
            keyed.setdefault(entry_key(entry), (i, entry))  # a feed repeating an entry: the first one
        known = self.store.seen_entries(feed.url, list(keyed))
        attempts = int(self._watch.get("max_entry_attempts", 3))
        todo = [(k, i, e) for k, (i, e) in keyed.items()
                if k not in known or (known[k][0] == "failed" and known[k][1] < attempts)]
        todo.reverse()  # feeds list the newest first
        chunk: list[tuple[str, Any, RawDocument]] = []
        stopped = False
        for key, i, entry in todo:
            if self.stopped:
                stopped = True
                break
            try:
                doc = self._read_entry(feed, key, i, entry, result)
            except Stopped:
                stopped = True
                break
            if doc is not None:
                chunk.append((key, entry, doc))
                if len(chunk) >= self._chunk:
                    self._ingest(feed, chunk, result)
                    chunk = []
        if chunk:  # what was read before a stop is still stored
            self._ingest(feed, chunk, result)
        if stopped:
            raise Stopped()

    def _read_entry(self, feed: FeedConfig, key: str, i: int, entry: Any,
                    result: PollResult) -> RawDocument | None:
        here = str(entry.get("link") or "").strip() or f"{feed.url}#entry-{i}"
        doc, failures = None, []
        for item in read_entry(entry, here, fetch_pages=feed.fetch_pages, settings=self._fetch_settings,
                               fetched_at=utc_now(), fetcher=self._fetch_page):
            if isinstance(item, ReadFailure):
                failures.append(item)
            else:
                doc = item
        if failures or doc is None:
            with self.store.transaction():
                for f in failures:
                    self.store.record_failure(f.origin, f.reason, "watch")
                if doc is None:
                    self.store.mark_entries(feed.url, [_mark(key, entry, "failed", None)])
        if doc is None:
            result.failed += 1
        return doc

    def _ingest(self, feed: FeedConfig, chunk: list[tuple[str, Any, RawDocument]], result: PollResult) -> None:
        report = IngestReport()

        def mark_handled(outcomes: list[str], article_ids: list[str | None]) -> None:
            self.store.mark_entries(feed.url, [_mark(key, entry, outcome, aid)
                                               for (key, entry, _), outcome, aid in zip(chunk, outcomes, article_ids)])

        outcomes = ingest_documents([doc for _, _, doc in chunk], self.store, self.extractor, report,
                                    on_commit=mark_handled)
        for outcome in outcomes:
            setattr(result, outcome, getattr(result, outcome) + 1)
        result.incidents += report.incidents

    @property
    def extractor(self):
        if self._extractor is None:  # loaded at the first new entry: a quiet pass never pays for spaCy
            from incidex.extraction.pipeline import default_extractor

            self._extractor = default_extractor()
        return self._extractor

    # -- fetching ------------------------------------------------------------

    def _fetch(self, url: str, *, accept: str, headers: dict[str, str] | None = None,
               gap: float | None = None) -> FetchResult:
        self._gate.wait((urlsplit(url).hostname or "").lower(), gap)
        return fetch(url, self._fetch_settings, accept=accept, headers=headers)

    def _fetch_page(self, url: str) -> FetchResult:
        """A linked article page: robots.txt first, then politely (Crawl-delay honoured, capped)."""
        gap = None
        if self._watch.get("respect_robots", True):
            why = self._robots.why_refused(url)
            if why:
                raise InputError(url, why)
            delay = self._robots.crawl_delay(url)
            if delay:
                gap = min(delay, float(self._watch.get("max_crawl_delay_seconds", 30)))
        return self._fetch(url, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5", gap=gap)


def _mark(key: str, entry: Any, outcome: str, article_id: str | None) -> EntryMark:
    return EntryMark(key=key, outcome=outcome, article_id=article_id, external_id=entry.get("id") or None,
                     link=entry.get("link") or None, title=entry.get("title") or None)
