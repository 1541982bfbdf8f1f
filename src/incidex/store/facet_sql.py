"""The facet index behind the store's counts: when it is used, built, and read (``SqlStore``'s mixin).

The index itself is ``incidex.store.facet_index`` (arrays by incident seq,
refreshed from what changed) and ``facet_query`` (filters as masks, grouped
counts); this module decides when the store's counting methods
(``incident_counts``, ``count_incidents_matching``, ``incident_page_docs``
in ``api_sql``) ask it instead of SQL, and gives its reads a connection of
their own that sees one state of the database.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

from incidex.store import facet_index, facet_query

_LOCK = threading.Lock()  # one facet index per store, however many threads ask first


class FacetIndexMixin:
    """``warm_counts`` and the facet index reads of ``SqlStore``."""

    def warm_counts(self) -> dict[str, Any] | None:
        """Build the facet index now (and load the knowledge base its labels need), so that the first
        request does not pay for it (``incidex serve`` calls this before it takes requests); None when
        ``[store] facet_index`` is off.

        Returns ``incidents`` (held), ``bytes`` (the arrays' memory) and ``seconds`` (to build).
        """
        from incidex.export.common import kb

        start = time.perf_counter()
        index = self._facet_index()
        if index is None:
            return None
        with self._index_reader() as conn:
            snap = index.snapshot(conn)
        kb()  # the labels of the counts (``actor_label``) read the knowledge base: 0.3 s to load
        return {"incidents": int(snap.alive.sum()), "bytes": snap.nbytes(),
                "seconds": round(time.perf_counter() - start, 3)}

    def _facet_index(self) -> facet_index.FacetIndex | None:
        """The store's facet index (made on first use), or None when it is off, for an in-memory
        database, or when this thread has a transaction open: the index holds committed incidents
        only, and a transaction must see its own writes, which the SQL counts do."""
        cfg = self._settings.get("store", {})
        if not cfg.get("facet_index", True) or getattr(self._local, "conn", None) is not None:
            return None
        if self.worker_url() is None:  # in-memory SQLite: one connection, another thread's transaction on it
            return None
        with _LOCK:
            if getattr(self, "_facets", None) is None:
                self._facets = facet_index.FacetIndex(cfg.get("facet_index_margin_seconds", 5))
        return self._facets

    @contextmanager
    def _index_reader(self) -> Iterator[Any]:
        """A read transaction of its own that sees one state of the database throughout (SQLite's
        transactions do; PostgreSQL's READ COMMITTED would not), for the facet index's reads."""
        with self._engine.connect() as conn:
            if not self._sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _index_read(self, query: str | None, filters: dict[str, Any],
                    build: bool = True) -> tuple[facet_index.FacetIndex, facet_index.Snapshot, Any] | None:
        """``(index, snapshot, mask of the incidents matching)``, or None when the index is not used.

        ``build=False``: only an index already built (by ``warm_counts`` or a grouped count) is
        used: a total or a page alone costs SQL a few milliseconds, building 2-3 s at 100k, which
        a one-shot command (``incidex alerts show``) would pay for nothing.
        """
        index = self._facet_index()
        if index is None or not (build or index.built):
            return None
        with self._index_reader() as conn:
            snap = index.snapshot(conn)
            m = facet_query.mask(index, snap, conn, self._text, query, filters)
        return index, snap, m if m is not None else np.zeros(snap.size, dtype=bool)

    def _index_mask(self, query: str | None, filters: dict[str, Any]) -> Any:
        indexed = self._index_read(query, filters, build=False)
        return indexed[2] if indexed is not None else None

    def _index_counts(self, query: str | None, filters: dict[str, Any],
                      dims: Sequence[str]) -> list[tuple[Any, ...]] | None:
        """``incident_counts`` rows from the index (built if need be), or None: not used, or two
        multi-valued dimensions at once (left to SQL)."""
        indexed = self._index_read(query, filters)
        return facet_query.counts(*indexed, dims) if indexed is not None else None
