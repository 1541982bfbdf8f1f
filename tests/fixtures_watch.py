"""Invented feeds for the watcher tests, served by the local test server on 127.0.0.1.

Every story is generated here from project-written sentences about made-up
organisations, towns and groups. ``feed_route`` answers conditional GETs the
way a real server does (304 when the validators match).
"""
from __future__ import annotations

import copy
import random
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape

from incidex.settings import load_settings

_ORGS = ["Harrowgate Seed Bank", "Pollux Marine Insurance", "Ferncliff Rail Depot", "Otterburn Rural Council",
         "Lachlan Veterinary Group", "Calder Heights School Trust", "Bramwell Optical", "Quillon Tyre Works",
         "Embry Harbour Authority", "Tarnside Credit Cooperative", "Moorfoot Power Cooperative",
         "Galloway Pine Sawmills", "Radnor Street Pharmacy Chain", "Wexcombe Bus Company", "Ivel Valley Hospice",
         "Dunsop Precision Castings", "Kestle Farm Supplies", "Abermule Housing Association",
         "Ribble Point Marina", "Selkirk Loom Company", "Hathersage Cutlery", "Bowness Ferry Line",
         "Garstang Print Works", "Thornaby Cold Stores"]
_GROUPS = ["Ash Heron", "Copper Wren", "Night Otter", "Pale Lynx", "Sable Moth", "Rook Eleven"]
_TOWNS = ["Oldmere", "Caskbridge", "Fennick", "Hollin Vale", "Brackwater", "Penmarrow", "Sedley Cross"]
_SYSTEMS = ["billing servers", "email system", "booking platform", "warehouse network", "patient records system",
            "ticketing site"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def story(i: int) -> tuple[str, list[str]]:
    """(title, paragraphs) of invented story number ``i``: one ransomware attack each."""
    rng = random.Random(7000 + i)
    org = _ORGS[i % len(_ORGS)]
    group, town, system, day = rng.choice(_GROUPS), rng.choice(_TOWNS), rng.choice(_SYSTEMS), rng.choice(_DAYS)
    gigabytes, days = rng.randint(20, 700), rng.randint(2, 9)
    return f"{org} hit by ransomware (bulletin {i})", [
        f"{org} in {town} said a ransomware attack on {day} encrypted its {system} and kept it offline "
        f"for {days} days.",
        f"The {group} gang claimed the attack on its leak site and said it had taken {gigabytes} gigabytes "
        f"of internal files.",
        f"Bulletin {i}: the organisation reported the intrusion to police in {town} and said it would not pay.",
    ]


def published(i: int) -> str:
    return format_datetime(datetime(2024, 6, 1, 8, 0, tzinfo=timezone.utc) + timedelta(hours=i))


def rss(base: str, numbers: list[int], *, teaser: bool = False, extra_items: str = "") -> bytes:
    """An RSS 2.0 feed of the given stories, newest (highest number) first.

    With ``teaser`` the entries carry one short sentence and link to ``/articles/N.html``.
    """
    items = []
    for i in sorted(numbers, reverse=True):
        title, paras = story(i)
        text = (f"<p>Short note {i}: the full report on this incident is on our website.</p>" if teaser
                else "".join(f"<p>{escape(p)}</p>" for p in paras))
        items.append(f"<item><title>{escape(title)}</title><link>{base}/articles/{i}.html</link>"
                     f"<guid isPermaLink=\"false\">story-{i}</guid><pubDate>{published(i)}</pubDate>"
                     f"<description><![CDATA[{text}]]></description></item>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>Invented Incident Wire</title><link>{base}/</link><description>test feed</description>"
            + "".join(items) + extra_items + "</channel></rss>").encode("utf-8")


def page(i: int) -> bytes:
    title, paras = story(i)
    body = "".join(f"<p>{escape(p)}</p>" for p in paras)
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title></head>"
            f"<body><nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav><main><article>"
            f"<h1>{escape(title)}</h1>{body}</article></main><footer>Invented Incident Wire</footer></body></html>"
            ).encode("utf-8")


class FeedRoute:
    """A feed whose content the test changes between polls; honours If-None-Match / If-Modified-Since."""

    def __init__(self, body: bytes, *, etag: bool = True, last_modified: bool = False):
        self.use_etag, self.use_last_modified = etag, last_modified
        self.version = 0
        self.set(body)

    def set(self, body: bytes) -> None:
        self.version += 1
        self.body = body
        self.etag = f'"v{self.version}"' if self.use_etag else None
        stamp = datetime(2024, 6, 1, tzinfo=timezone.utc) + timedelta(minutes=self.version)
        self.last_modified = format_datetime(stamp, usegmt=True) if self.use_last_modified else None

    def __call__(self, headers: Any) -> tuple[int, dict[str, str], bytes]:
        validators = {}
        if self.etag:
            validators["ETag"] = self.etag
        if self.last_modified:
            validators["Last-Modified"] = self.last_modified
        if self.etag and headers.get("If-None-Match") == self.etag:
            return 304, validators, b""
        if not self.etag and self.last_modified and headers.get("If-Modified-Since") == self.last_modified:
            return 304, validators, b""
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8", **validators}, self.body


def watch_settings(**watch: Any) -> dict[str, Any]:
    """Default settings that allow 127.0.0.1 only, with a short timeout and [watch] keys overridden."""
    s = copy.deepcopy(load_settings())
    s["ingest"].update(allow_private_addresses=["127.0.0.1"], timeout_seconds=2, user_agent="incidex-watch-test/1.0")
    s["watch"].update(watch)
    return s


class FakeClock:
    """Time that moves only when the watcher sleeps: schedules of hours run at once."""

    def __init__(self, start: float = 1_717_200_000.0):
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
