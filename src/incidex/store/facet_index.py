"""In-memory facet index: the incidents' facet values as arrays, kept in step with the database.

Why: the web UI's list page counts five facets for every new filter and the
statistics count eight dimensions after every change; as grouped SQL counts
over 100k incidents that took 1.3 s and 1.4-2 s (docs/performance.md, "REST
API"). Held as arrays indexed by incident ``seq``, a filter is a boolean mask
and a facet one ``np.unique`` over the (incident, value) pairs it selects:
milliseconds, and the same on SQLite and PostgreSQL.

What is held (``Snapshot``): per incident (by ``seq``) its outcome,
attribution, month, year, dating, background flag and date range as integer
codes, and the multi-valued fields as rows of (seq, code...): victims
(country, sector), actors (name key, kb id, the actor id the counts group
by) and attack types. Values are coded by ``Vocab`` (append-only, shared by
all snapshots). Victim names, techniques, malware, CVEs and the full text are
not held: those filters select few incidents and are read from their SQL
indexes as a set of ``seq`` (``facet_filters``).

Kept in step (``FacetIndex.snapshot``): every call first reads the store's
change marker (highest ``seq``, latest ``updated_at``, last logged deletion:
three index lookups). When it moved, the incidents written since the last
read (``updated_at`` from the previous marker on, less a small margin, or a
new ``seq``) are read again with their child rows, the deletions logged
since (migration 0008's trigger) are dropped, and a new snapshot replaces the
old one: readers never see one half-updated. Writers are serialised on both
databases (SQLite's write lock, PostgreSQL's advisory lock) and stamp
``updated_at`` inside the lock, so what a refresh has not seen is newer than
the marker it read. A refresh also compares its incident count with the
table's and rebuilds on a mismatch, so rows written around the store (not
stamped) cannot leave it wrong for long.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from incidex.store import codec
from incidex.store.tables import (
    incident_actors, incident_attack_types, incident_deletions, incident_victims, incidents,
)

NULL = -1
_NO_START, _NO_END = np.iinfo(np.int32).max, np.iinfo(np.int32).min  # date_from <= x, date_to >= x never hold

#: The change marker: (highest seq, latest updated_at, last deletion logged), two or three index lookups.
VERSION = sa.select(sa.select(sa.func.max(incidents.c.seq)).scalar_subquery(),
                    sa.select(sa.func.max(incidents.c.updated_at)).scalar_subquery(),
                    sa.select(sa.func.max(incident_deletions.c.id)).scalar_subquery())

#: Per-incident columns (codes by seq) and the value each has for an incident without one.
SCALARS = {"outcome": NULL, "attribution": NULL, "month": NULL, "year": NULL, "dating": NULL,
           "background": 0, "date_from": _NO_START, "date_to": _NO_END}
#: Child rows held: name -> (table, its columns as read, the names they are kept under).
CHILDREN = {
    "victims": (incident_victims, (incident_victims.c.country_key, incident_victims.c.sector), ("country", "sector")),
    "actors": (incident_actors, (incident_actors.c.name_key, incident_actors.c.kb_id), ("actor_name", "actor_kb")),
    "types": (incident_attack_types, (incident_attack_types.c.attack_type,), ("type",)),
}
#: Multi-valued group-by dimensions: dimension -> (child rows, column).
MULTI = {"type": ("types", "type"), "country": ("victims", "country"), "sector": ("victims", "sector"),
         "actor": ("actors", "actor")}


class Vocab:
    """The values of one field as dense integer codes, in first-seen order.

    Append-only: a snapshot holds codes, and every snapshot shares one Vocab,
    so a value keeps its code for the life of the index (a value no incident
    has any more simply counts zero). Written only under the index's lock.
    """

    def __init__(self) -> None:
        self.values: list[str] = []
        self._codes: dict[str, int] = {}

    def code(self, value: str | None) -> int:
        if value is None:
            return NULL
        c = self._codes.get(value)
        if c is None:
            c = self._codes[value] = len(self.values)
            self.values.append(value)
        return c

    def known(self, values: list[str]) -> list[int]:
        """The codes of those of ``values`` seen so far (an unknown value matches nothing)."""
        return [self._codes[v] for v in values if v in self._codes]


@dataclass(frozen=True)
class Snapshot:
    """The index at one change marker; never modified once built (a refresh makes a new one)."""

    version: tuple
    alive: np.ndarray  # bool by seq: an incident with this seq exists
    cols: dict[str, np.ndarray]  # SCALARS, int32 by seq
    rows: dict[str, dict[str, np.ndarray]]  # CHILDREN (and "actor" in actors): int32 columns, "seq" first
    pairs: dict[str, tuple[np.ndarray, np.ndarray]]  # MULTI: unique (seq, code), what the counts read

    @property
    def size(self) -> int:
        return len(self.alive)

    def nbytes(self) -> int:
        """Memory held by the arrays (the vocabularies are a few thousand short strings)."""
        arrays = [self.alive, *self.cols.values(), *(a for t in self.rows.values() for a in t.values()),
                  *(a for p in self.pairs.values() for a in p)]
        return int(sum(a.nbytes for a in arrays))

    def seqs_of(self, seqs: np.ndarray) -> np.ndarray:
        """A boolean mask by seq from a set of seqs (those beyond this snapshot left out)."""
        hit = np.zeros(self.size, dtype=bool)
        hit[seqs[(seqs >= 0) & (seqs < self.size)]] = True
        return hit


class FacetIndex:
    """The facet index of one store: ``snapshot(conn)`` gives the current ``Snapshot``.

    ``conn`` must read one consistent state of the database (a transaction
    on SQLite, REPEATABLE READ on PostgreSQL: ``SqlStore._index_reader``), so
    the marker and the rows read agree.
    """

    def __init__(self, margin_seconds: float = 5.0) -> None:
        self.margin = timedelta(seconds=float(margin_seconds))
        self.vocab: dict[str, Vocab] = {k: Vocab() for k in (*SCALARS, "country", "sector", "actor_name",
                                                             "actor_kb", "type", "actor")}
        self._snap: Snapshot | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._snap is not None

    def snapshot(self, conn: Any) -> Snapshot:
        version = tuple(conn.execute(VERSION).one())
        seen = self._snap
        if seen is not None and seen.version == version:
            return seen
        with self._lock:
            if self._snap is not seen:  # another thread refreshed while this one waited
                return self._snap
            self._snap = self._refresh(conn, version, seen)
            return self._snap

    # -- reading -----------------------------------------------------------------------

    def _refresh(self, conn: Any, version: tuple, old: Snapshot | None) -> Snapshot:
        if old is None:
            return self._apply(_empty(), self._read(conn, []), np.zeros(0, np.int64), version)
        max_seq, latest, deleted_to = old.version
        changed = [incidents.c.seq > (max_seq or 0)]
        since = _instant(latest)
        if since is not None:
            changed.append(incidents.c.updated_at >= since - self.margin)
        deleted = np.fromiter(conn.execute(sa.select(incident_deletions.c.incident_seq)
                                           .where(incident_deletions.c.id > (deleted_to or 0))).scalars(), np.int64)
        batch = self._read(conn, [sa.or_(*changed)])
        alive = int(old.alive.sum())
        if len(batch["seq"]) > max(1000, alive // 4):  # most of the store changed: read it whole
            return self._refresh(conn, version, None)
        snap = self._apply(old, batch, deleted, version)
        if int(snap.alive.sum()) != conn.execute(sa.select(sa.func.count()).select_from(incidents)).scalar_one():
            return self._refresh(conn, version, None)  # rows changed around the store: start again
        return snap

    def _read(self, conn: Any, where: list[sa.ColumnElement]) -> dict[str, Any]:
        """The incidents matching ``where`` (all with ``[]``) and their child rows, coded."""
        i, v = incidents, self.vocab
        cols: dict[str, list[int]] = {k: [] for k in SCALARS}
        seqs: list[int] = []
        stmt = sa.select(i.c.seq, i.c.outcome, i.c.attribution_status, i.c.date_value, i.c.date_precision,
                         i.c.background, i.c.date_from, i.c.date_to).where(*where)
        for seq, outcome, attribution, value, precision, background, d_from, d_to in conn.execute(stmt):
            seqs.append(seq)
            dating = "undated" if value is None else "year" if len(value) < 7 or precision == "year" else "month"
            # as incident_counts' SQL: a month needs 7 characters and a precision that is not 'year'
            month = value[:7] if dating == "month" and precision is not None else None
            for name, val in (("outcome", outcome), ("attribution", attribution), ("dating", dating),
                              ("month", month), ("year", None if value is None else value[:4])):
                cols[name].append(v[name].code(val))
            cols["background"].append(1 if background else 0)
            cols["date_from"].append(d_from.toordinal() if d_from is not None else _NO_START)
            cols["date_to"].append(d_to.toordinal() if d_to is not None else _NO_END)
        out: dict[str, Any] = {"seq": np.array(seqs, np.int64),
                               "cols": {k: np.array(x, np.int32) for k, x in cols.items()}, "rows": {}}
        for name, (table, columns, keys) in CHILDREN.items():
            stmt = (sa.select(i.c.seq, *columns).select_from(table.join(i, i.c.id == table.c.incident_id))
                    .where(*where))
            got: dict[str, list[int]] = {"seq": [], **{k: [] for k in keys}}
            if name == "actors":
                got["actor"] = []
            for r in conn.execute(stmt):
                got["seq"].append(r[0])
                for k, val in zip(keys, r[1:]):
                    got[k].append(v[k].code(val))
                if name == "actors":  # the id the counts group by: kb id, else name:<key> (DIMENSIONS)
                    got["actor"].append(v["actor"].code(r[2] if r[2] is not None else f"name:{r[1]}"))
            out["rows"][name] = {k: np.array(x, np.int64 if k == "seq" else np.int32) for k, x in got.items()}
        return out

    @staticmethod
    def _apply(old: Snapshot, batch: dict[str, Any], deleted: np.ndarray, version: tuple) -> Snapshot:
        """A new snapshot: ``old`` less ``deleted`` and the incidents of ``batch``, plus ``batch``."""
        seqs = batch["seq"]
        need = int(max(seqs.max(initial=-1), (version[0] or 0))) + 1
        size = max(old.size, need + need // 8 + 64)  # room for the next incidents without a resize
        alive = _grown(old.alive, size, False)
        alive[deleted[deleted < size]] = False
        alive[seqs] = True
        cols = {}
        for k, fill in SCALARS.items():
            cols[k] = _grown(old.cols[k], size, fill)
            cols[k][seqs] = batch["cols"][k]
        gone = np.union1d(deleted, seqs)
        rows = {}
        for name, table in old.rows.items():
            keep = ~np.isin(table["seq"], gone)
            rows[name] = {k: np.concatenate([a[keep], batch["rows"][name][k]]) for k, a in table.items()}
        pairs = {}
        for dim, (t, col) in MULTI.items():  # the old pairs stay unique; the batch's incidents are new to them
            old_seqs, old_codes = old.pairs.get(dim, (np.zeros(0, np.int64), np.zeros(0, np.int32)))
            keep = ~np.isin(old_seqs, gone)
            new_seqs, new_codes = _unique_pairs(batch["rows"][t]["seq"], batch["rows"][t][col])
            pairs[dim] = (np.concatenate([old_seqs[keep], new_seqs]), np.concatenate([old_codes[keep], new_codes]))
        return Snapshot(version, alive, cols, rows, pairs)


def _empty() -> Snapshot:
    rows = {name: {k: np.zeros(0, np.int64 if k == "seq" else np.int32)
                   for k in ("seq", *keys, *(("actor",) if name == "actors" else ()))}
            for name, (_, _, keys) in CHILDREN.items()}
    return Snapshot((None, None, None), np.zeros(0, bool), {k: np.zeros(0, np.int32) for k in SCALARS}, rows, {})


def _grown(a: np.ndarray, size: int, fill: Any) -> np.ndarray:
    """A copy of ``a`` of ``size`` entries, the new ones ``fill`` (snapshots are never written to)."""
    out = np.full(size, fill, dtype=a.dtype)
    out[:len(a)] = a
    return out


def _unique_pairs(seqs: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(seq, code) with null codes left out and each pair once: an incident counts once per value
    (two victims in one country count one incident, as ``count(DISTINCT seq)`` does)."""
    ok = codes >= 0
    key = np.sort((seqs[ok] << 32) | codes[ok].astype(np.int64))  # a sort: np.unique hashes, 5x slower here
    key = key[np.concatenate([[True], key[1:] != key[:-1]])] if len(key) else key
    return key >> 32, (key & 0xFFFFFFFF).astype(np.int32)


def _instant(value: Any) -> Any:
    """The marker's latest ``updated_at`` as a datetime (SQLite's max() returns text)."""
    if isinstance(value, str):
        parsed = codec.parse_instant(value)
        return parsed.replace(tzinfo=None) if parsed is not None else None
    return value
