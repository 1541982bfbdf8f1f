"""Watching news feeds: poll them on a schedule and ingest what is new.

* ``config``: feeds files (YAML or OPML) -> ``FeedConfig``; the packaged
  ``feeds.yaml`` lists well-known outlets and government advisories;
* ``watcher``: ``Watcher`` (conditional GET, politeness, backoff, robots.txt
  for pages, durable per-feed and per-entry state through the ``Store``);
* ``pacing``: per-host politeness gaps and backoff delays.

``incidex watch`` and ``incidex status`` are thin skins over these.
"""
from __future__ import annotations

from incidex.watch.config import FeedConfig, default_feeds_path, load_feeds, parse_interval

__all__ = ["FeedConfig", "PollResult", "Watcher", "default_feeds_path", "load_feeds", "parse_interval",
           "feed_status"]


def __getattr__(name: str):
    # Lazy: the watcher imports the whole pipeline; loading a feeds file should not.
    if name in ("Watcher", "PollResult"):
        from incidex.watch import watcher

        return getattr(watcher, name)
    if name == "feed_status":
        from incidex.watch.status import feed_status

        return feed_status
    raise AttributeError(name)
