"""Per-feed status for ``incidex status``: what the store knows, plus configured feeds not yet polled."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from incidex.store.base import FeedState
from incidex.watch.config import FeedConfig

_EMPTY = {"items_seen": 0, "articles": 0, "failed_items": 0, "incidents_found": 0}


def feed_status(store, feeds: Sequence[FeedConfig] | None = None) -> list[dict[str, Any]]:
    """One dict per feed (``FeedState`` fields plus counts); with ``feeds``, exactly those, in that order."""
    rows = {r["url"]: r for r in store.watch_status()}
    if feeds is None:
        return list(rows.values())
    out = []
    for f in feeds:
        row = rows.get(f.url) or {**FeedState(url=f.url).__dict__, **_EMPTY}
        out.append({**row, "name": f.name})
    return out
