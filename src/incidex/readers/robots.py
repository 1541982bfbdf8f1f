"""robots.txt for the pages a crawler fetches on its own (RFC 9309).

The watcher fetches article pages linked from feeds; before each one it asks
``RobotsRules.allowed(url)``. The robots.txt of each site (scheme, host and
port) is fetched once through the caller's fetch function, so it passes the
same address checks, size cap, timeouts and politeness as every other
request, and kept for ``ttl`` seconds.

What an unreadable robots.txt means follows RFC 9309 section 2.3.1:

* 2xx: its rules apply, read by ``urllib.robotparser`` (which takes the
  first matching line of the agent's group rather than RFC 9309's longest
  match; sites list an Allow before the broader Disallow it refines);
* 4xx (none there, forbidden, ...): everything is allowed;
* 5xx, a timeout, a refused address or a network error: nothing is allowed
  until the next try (the site may be struggling), and the page fetch falls
  back to the feed entry's own text.

Feeds themselves are not checked: a feed is published to be polled.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from incidex.readers.fetch import FetchResult, HTTPStatusError
from incidex.records import InputError

Fetcher = Callable[[str], FetchResult]


class _Entry(NamedTuple):
    parser: RobotFileParser
    expires: float
    note: str  # why everything is allowed or refused, when the file could not be used


def site_of(url: str) -> str:
    """``scheme://host[:port]``: robots.txt applies to exactly one such origin."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"


class RobotsRules:
    """Cached robots.txt verdicts for one user agent."""

    def __init__(self, fetcher: Fetcher, user_agent: str, *, ttl: float = 86_400,
                 clock: Callable[[], float] = time.time, error_ttl: float = 600):
        self._fetch = fetcher
        self._agent = user_agent
        self._ttl = ttl
        self._error_ttl = min(error_ttl, ttl)
        self._clock = clock
        self._sites: dict[str, _Entry] = {}

    def allowed(self, url: str) -> bool:
        return self._entry(url).parser.can_fetch(self._agent, url)

    def why_refused(self, url: str) -> str | None:
        """None when ``url`` may be fetched, else the reason (for failure reports)."""
        entry = self._entry(url)
        if entry.parser.can_fetch(self._agent, url):
            return None
        return f"disallowed by {site_of(url)}/robots.txt" + (f" ({entry.note})" if entry.note else "")

    def crawl_delay(self, url: str) -> float | None:
        """The site's Crawl-delay for this agent, if it gives one."""
        value = self._entry(url).parser.crawl_delay(self._agent)
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    def _entry(self, url: str) -> _Entry:
        site = site_of(url)
        now = self._clock()
        entry = self._sites.get(site)
        if entry is None or entry.expires <= now:
            entry = self._sites[site] = self._load(site, now)
        return entry

    def _load(self, site: str, now: float) -> _Entry:
        parser = RobotFileParser(site + "/robots.txt")
        try:
            res = self._fetch(site + "/robots.txt")
        except HTTPStatusError as exc:
            if 400 <= exc.status < 500:
                parser.allow_all = True
                return _Entry(parser, now + self._ttl, "")
            parser.disallow_all = True
            return _Entry(parser, now + self._error_ttl, f"robots.txt answered HTTP {exc.status}")
        except InputError as exc:
            parser.disallow_all = True
            return _Entry(parser, now + self._error_ttl, f"robots.txt unreadable: {exc.reason}")
        text = res.content.decode("utf-8", "replace")
        parser.parse(text.splitlines())
        return _Entry(parser, now + self._ttl, "")
