"""Store methods for feed watching (tables of migration 0005).

A mixin of ``SqlStore``: feed cursors (``watch_feeds``) and handled entries
(``watch_entries``). Plain SQLAlchemy Core (select, then update or insert)
so it runs unchanged on PostgreSQL. The counts ``incidex status`` shows are
computed from the rows, never kept as counters, so they cannot drift from
what is stored: incidents found are the distinct incidents linked to the
feed's articles now (after merges and splits).
"""
from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa

from incidex.store import codec
from incidex.store.base import EntryMark, EntryOutcome, FeedState
from incidex.store.tables import incident_articles, watch_entries, watch_feeds

_STATE_COLUMNS = ("name", "etag", "last_modified", "last_poll_at", "last_success_at", "last_error_at",
                  "last_error", "consecutive_errors", "next_poll_at")
_TIME_COLUMNS = ("last_poll_at", "last_success_at", "last_error_at", "next_poll_at")


class WatchStoreMixin:
    def get_feed_state(self, url: str) -> FeedState | None:
        with self._connection(write=False) as conn:
            row = conn.execute(sa.select(watch_feeds).where(watch_feeds.c.url == url)).mappings().first()
        return self._feed_state(row) if row else None

    def save_feed_state(self, state: FeedState) -> None:
        values = {c: getattr(state, c) for c in _STATE_COLUMNS}
        for c in _TIME_COLUMNS:
            values[c] = self._ts(self._aware(values[c]))
        with self._savepoint_or_transaction() as conn:
            done = conn.execute(watch_feeds.update().where(watch_feeds.c.url == state.url).values(**values))
            if not done.rowcount:
                conn.execute(watch_feeds.insert().values(url=state.url, **values))

    def seen_entries(self, feed_url: str, keys: Sequence[str]) -> dict[str, tuple[EntryOutcome, int]]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, tuple[EntryOutcome, int]] = {}
        with self._connection(write=False) as conn:
            for batch in codec.in_batches(keys):
                stmt = (sa.select(watch_entries.c.entry_key, watch_entries.c.outcome, watch_entries.c.attempts)
                        .where(watch_entries.c.feed_url == feed_url,
                               watch_entries.c.entry_key.in_(batch)))
                out.update({r.entry_key: (r.outcome, int(r.attempts)) for r in conn.execute(stmt)})
        return out

    def mark_entries(self, feed_url: str, marks: Sequence[EntryMark]) -> None:
        if not marks:
            return
        now = self._ts(codec.now_utc())
        with self._savepoint_or_transaction() as conn:
            if not conn.execute(sa.select(watch_feeds.c.url).where(watch_feeds.c.url == feed_url)).first():
                conn.execute(watch_feeds.insert().values(url=feed_url, consecutive_errors=0))
            known = self.seen_entries(feed_url, [m.key for m in marks])
            for m in marks:
                values = {"outcome": m.outcome, "article_id": m.article_id, "external_id": m.external_id,
                          "link": m.link, "title": m.title, "updated_at": now}
                if m.key in known:
                    before, attempts = known[m.key]
                    values["attempts"] = attempts + 1 if (m.outcome == "failed" and before == "failed") else attempts
                    conn.execute(watch_entries.update().where(watch_entries.c.feed_url == feed_url,
                                                              watch_entries.c.entry_key == m.key).values(**values))
                else:
                    conn.execute(watch_entries.insert().values(feed_url=feed_url, entry_key=m.key, attempts=1,
                                                               first_seen_at=now, **values))
                known[m.key] = (m.outcome, values.get("attempts", 1))

    def watch_status(self) -> list[dict[str, Any]]:
        we, ia = watch_entries, incident_articles
        counts = (sa.select(we.c.feed_url, sa.func.count().label("items"),
                            sa.func.count(we.c.article_id).label("articles"),
                            sa.func.sum(sa.case((we.c.outcome == "failed", 1), else_=0)).label("failed"))
                  .group_by(we.c.feed_url))
        found = (sa.select(we.c.feed_url, sa.func.count(sa.distinct(ia.c.incident_id)).label("incidents"))
                 .select_from(we.join(ia, ia.c.article_id == we.c.article_id))
                 .group_by(we.c.feed_url))
        with self._connection(write=False) as conn:
            feeds = [self._feed_state(r) for r in
                     conn.execute(sa.select(watch_feeds).order_by(watch_feeds.c.url)).mappings()]
            per_feed = {r.feed_url: r for r in conn.execute(counts)}
            incidents = {r.feed_url: int(r.incidents) for r in conn.execute(found)}
        out = []
        for f in feeds:
            c = per_feed.get(f.url)
            out.append({**f.__dict__, "items_seen": int(c.items) if c else 0,
                        "articles": int(c.articles) if c else 0, "failed_items": int(c.failed or 0) if c else 0,
                        "incidents_found": incidents.get(f.url, 0)})
        return out

    def _feed_state(self, row: Any) -> FeedState:
        values = {c: row[c] for c in _STATE_COLUMNS}
        for c in _TIME_COLUMNS:
            values[c] = self._aware(values[c])
        values["consecutive_errors"] = int(values["consecutive_errors"] or 0)
        return FeedState(url=row["url"], **values)
