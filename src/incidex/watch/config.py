"""Feeds files: which feeds to watch, how often, and whether to read the linked pages.

Two formats, told apart by content (OPML is XML whose root is ``<opml>``):

YAML::

    defaults:                 # optional; applies to every feed below
      interval: 30m           # seconds, or a number with s, m, h or d
      fetch_pages: false
    feeds:
      - url: https://news.example/feed.xml
        name: Example News    # optional; default: the URL's host
        interval: 15m         # optional
        fetch_pages: true     # optional: read each entry's linked page

(a bare list of feeds, or of URLs, works too).

OPML (what feed readers export): every ``<outline>`` with an ``xmlUrl``,
nested or not; ``text`` or ``title`` is the name. Optional attributes
``interval`` and ``fetchPages`` (or ``fetch_pages``) carry the two settings.
The OPML is parsed with defusedxml (no entity expansion, no external
entities).

Every URL must be http or https and appear once; an interval below
``[watch] min_interval_seconds`` is raised to it (with a warning), since a
shorter one only costs the outlets requests.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from incidex.records import IncidexError

log = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.I)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str
    interval: float  # seconds between two polls
    fetch_pages: bool = False


def default_feeds_path() -> Path:
    """The feeds file shipped with the package (well-known outlets and government advisories)."""
    return Path(str(resources.files("incidex.watch").joinpath("feeds.yaml")))


def parse_interval(value: Any, where: str) -> float:
    """``900``, ``"900"``, ``"15m"``, ``"1.5h"`` -> seconds."""
    if isinstance(value, bool):
        raise IncidexError(f"{where}: interval {value!r} is not a duration (e.g. 900, 15m, 2h)")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _INTERVAL.match(str(value))
        if not m:
            raise IncidexError(f"{where}: interval {value!r} is not a duration (e.g. 900, 15m, 2h)")
        seconds = float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]
    if seconds <= 0:
        raise IncidexError(f"{where}: interval must be positive, not {value!r}")
    return seconds


def _parse_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise IncidexError(f"{where}: fetch_pages {value!r} is not true or false")


def _feed(raw: dict[str, Any], defaults: dict[str, Any], where: str, settings: dict[str, Any]) -> FeedConfig:
    watch = settings.get("watch", {})
    url = str(raw.get("url") or "").strip()
    if not url:
        raise IncidexError(f"{where}: a feed needs a url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IncidexError(f"{where}: {url!r} is not an http(s) URL")
    name = str(raw.get("name") or "").strip() or parts.hostname
    interval = parse_interval(raw.get("interval", defaults.get("interval", watch.get("default_interval_seconds", 1800))),
                              where)
    floor = float(watch.get("min_interval_seconds", 60))
    if interval < floor:
        log.warning("%s: interval %gs raised to %gs ([watch] min_interval_seconds)", where, interval, floor)
        interval = floor
    fetch_pages = _parse_bool(raw.get("fetch_pages", defaults.get("fetch_pages", False)), where)
    return FeedConfig(url=url, name=name, interval=interval, fetch_pages=fetch_pages)


def _yaml_feeds(text: str, path: str) -> tuple[list[Any], dict[str, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise IncidexError(f"{path}: not valid YAML: {exc}") from None
    defaults: dict[str, Any] = {}
    if isinstance(data, dict):
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            raise IncidexError(f"{path}: 'defaults' must be a mapping")
        data = data.get("feeds")
    if not isinstance(data, list):
        raise IncidexError(f"{path}: expected a list of feeds (or a mapping with a 'feeds' list)")
    return [{"url": item} if isinstance(item, str) else item for item in data], defaults


def _opml_feeds(data: bytes, path: str) -> list[dict[str, Any]]:
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        root = DET.fromstring(data)
    except DefusedXmlException:
        raise IncidexError(f"{path}: OPML declares entities or a DTD (refused)") from None
    except Exception as exc:
        raise IncidexError(f"{path}: not well-formed OPML: {exc}") from None
    out = []
    for node in root.iter():
        if str(node.tag).rsplit("}", 1)[-1] != "outline" or not node.get("xmlUrl"):
            continue
        item: dict[str, Any] = {"url": node.get("xmlUrl"), "name": node.get("text") or node.get("title")}
        if node.get("interval"):
            item["interval"] = node.get("interval")
        flag = node.get("fetchPages", node.get("fetch_pages"))
        if flag is not None:
            item["fetch_pages"] = flag
        out.append(item)
    return out


def _is_opml(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and re.search(rb"<opml[\s>]", head, re.I) is not None


def load_feeds(path: str | Path | None = None, settings: dict[str, Any] | None = None) -> list[FeedConfig]:
    """The feeds of a YAML or OPML file (default: the packaged one); ``IncidexError`` on a bad file."""
    from incidex.readers.util import resolve_settings

    settings = resolve_settings(settings)
    p = Path(path) if path is not None else default_feeds_path()
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise IncidexError(f"cannot read feeds file {p}: {exc.strerror or exc}") from None
    where = str(p)
    if _is_opml(data):
        raw_feeds, defaults = _opml_feeds(data, where), {}
    else:
        raw_feeds, defaults = _yaml_feeds(data.decode("utf-8", "replace"), where)
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_feeds, 1):
        if not isinstance(raw, dict):
            raise IncidexError(f"{where}: feed {i}: expected a mapping with a url, got {raw!r}")
        feed = _feed(raw, defaults, f"{where}: feed {i}", settings)
        if feed.url in seen:
            raise IncidexError(f"{where}: feed {i}: {feed.url} is listed twice")
        seen.add(feed.url)
        feeds.append(feed)
    if not feeds:
        raise IncidexError(f"{where}: no feeds")
    return feeds
