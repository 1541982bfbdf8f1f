"""Filters and grouped counts over a facet index snapshot (``incidex.store.facet_index``).

``mask`` turns the keyword filters of ``Store.list_incidents`` into a boolean
mask by incident ``seq`` with exactly the meaning the SQL filters have
(``api_sql.incident_conditions``): the same value normalisation (shared
helpers), several values of a field an OR, the fields an AND, the victim
filters held by one victim together, a negation dropping every incident with
a matching child row. ``counts`` is ``Store.incident_counts`` on the mask.
Equality with the grouped SQL, on SQLite and PostgreSQL and after writes, is
what tests/test_facet_index.py checks.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import sqlalchemy as sa

from incidex.store import codec
from incidex.store.api_sql import TERM_FILTERS, _one_of, _values, actor_keys, victim_keys
from incidex.store.facet_index import MULTI, FacetIndex, Snapshot
from incidex.store.tables import incident_terms, incident_victims, incidents

#: incident_victims columns -> the snapshot's victim columns (victim names are read from SQL).
_VICTIM_COLUMNS = {"country_key": "country", "sector": "sector"}


def mask(index: FacetIndex, snap: Snapshot, conn: Any, text: Any, query: str | None,
         filters: dict[str, Any]) -> np.ndarray | None:
    """The incidents matching ``filters`` and ``query`` as a boolean array by seq; None when the
    query has nothing searchable (nothing matches). ``text``: the store's ``TextSearch``."""
    m = snap.alive.copy()
    f = filters
    names = _values(f.get("actor"))
    if names:
        m &= _actor_hit(index, snap, names)
    keys = victim_keys(f.get("victim"), f.get("country"), f.get("sector"))
    if keys:
        m &= _victim_hit(index, snap, conn, keys)
    types = [t.lower() for t in _values(f.get("attack_type"))]
    if types:
        m &= _hit(index, snap, "types", [("type", types)])
    for kind in TERM_FILTERS:
        terms = [k for k in (codec.term_key(kind, v) for v in _values(f.get(kind))) if k]
        if terms:
            t = incident_terms
            m &= _sql_hit(snap, conn, t, [t.c.kind == kind, _one_of(t.c.term_key, terms)])
    outcomes = [o.lower() for o in _values(f.get("outcome"))]
    if outcomes:
        m &= _column_in(index, snap, "outcome", outcomes)
    left_out = [o.lower() for o in _values(f.get("not_outcome"))]
    if left_out:
        m &= ~_column_in(index, snap, "outcome", left_out)
    lo, hi = codec.bound_date(f.get("since"), end=False), codec.bound_date(f.get("until"), end=True)
    if lo is not None:
        m &= snap.cols["date_to"] >= lo.toordinal()
    if hi is not None:
        m &= snap.cols["date_from"] <= hi.toordinal()
    if f.get("include_background", True) is False:
        m &= snap.cols["background"] == 0
    m &= ~_negated(index, snap, conn, f)
    if query is not None and query.strip():
        seqs = text.match_incident_seqs(query)
        if seqs is None:
            return None
        m &= snap.seqs_of(np.fromiter(conn.execute(seqs).scalars(), np.int64))
    return m


def _negated(index: FacetIndex, snap: Snapshot, conn: Any, f: dict[str, Any]) -> np.ndarray:
    """Every incident a negation leaves out (``_negated_sets``: each negated field on its own)."""
    out = np.zeros(snap.size, dtype=bool)
    names = _values(f.get("not_actor"))
    if names:
        out |= _actor_hit(index, snap, names)
    for field in ("victim", "country", "sector"):
        keys = victim_keys(**{"victim": None, "country": None, "sector": None, field: f.get(f"not_{field}")})
        if keys:
            out |= _victim_hit(index, snap, conn, keys)
    types = [t.lower() for t in _values(f.get("not_attack_type"))]
    if types:
        out |= _hit(index, snap, "types", [("type", types)])
    return out


def _hit(index: FacetIndex, snap: Snapshot, table: str, conds: list[tuple[str, list[str]]]) -> np.ndarray:
    """Incidents with a child row of ``table`` meeting every ``(column, any of values)``."""
    rows = snap.rows[table]
    sel = np.ones(len(rows["seq"]), dtype=bool)
    for col, values in conds:
        sel &= member(rows[col], index.vocab[col].known(values), len(index.vocab[col].values))
    return snap.seqs_of(rows["seq"][sel])


def _column_in(index: FacetIndex, snap: Snapshot, col: str, values: list[str]) -> np.ndarray:
    """Incidents whose ``col`` (a per-incident column) is one of ``values``."""
    return member(snap.cols[col], index.vocab[col].known(values), len(index.vocab[col].values))


def member(codes: np.ndarray, wanted: list[int], n_values: int) -> np.ndarray:
    """``codes`` in ``wanted``, by a lookup table of the ``n_values`` codes (one gather, where
    ``np.isin`` sorts); a null code (-1) is in no set."""
    table = np.zeros(n_values + 1, dtype=bool)
    table[np.asarray(wanted, dtype=np.int64) + 1] = True
    return table[codes + 1]


def _actor_hit(index: FacetIndex, snap: Snapshot, names: list[str]) -> np.ndarray:
    """An actor filter: a row with one of the kb ids or one of the name keys (``_actor_alternatives``)."""
    kb_ids, keys = actor_keys(names)
    return _hit(index, snap, "actors", [("actor_kb", kb_ids)]) | _hit(index, snap, "actors", [("actor_name", keys)])


def _victim_hit(index: FacetIndex, snap: Snapshot, conn: Any, keys: list[tuple[str, list[str]]]) -> np.ndarray:
    """Victim filters on one victim row; with a victim name, read from its SQL index (few rows)."""
    if any(col not in _VICTIM_COLUMNS for col, _ in keys):
        v = incident_victims
        return _sql_hit(snap, conn, v, [_one_of(v.c[col], values) for col, values in keys])
    return _hit(index, snap, "victims", [(_VICTIM_COLUMNS[col], values) for col, values in keys])


def _sql_hit(snap: Snapshot, conn: Any, table: sa.Table, conds: list[sa.ColumnElement]) -> np.ndarray:
    stmt = sa.select(incidents.c.seq).where(incidents.c.id.in_(sa.select(table.c.incident_id).where(*conds)))
    return snap.seqs_of(np.fromiter(conn.execute(stmt).scalars(), np.int64))


def counts(index: FacetIndex, snap: Snapshot, m: np.ndarray, dims: Sequence[str]) -> list[tuple[Any, ...]] | None:
    """``incident_counts`` rows over the incidents of ``m``: ``(key, ..., count)``, largest count first,
    then by key; None for two multi-valued dimensions at once (left to SQL).

    A multi-valued dimension counts its unique (incident, value) pairs, so an
    incident counts once per key; an incident without a value (no month, a
    victim without a country) is in no row, as the SQL's ``IS NOT NULL``.
    """
    multi = [d for d in dims if d in MULTI]
    if len(multi) > 1:
        return None
    if multi:
        seqs, codes = snap.pairs[multi[0]]
        keep = m[seqs]
        seqs, codes = seqs[keep], codes[keep]
    else:
        seqs, codes = np.flatnonzero(m), None
    parts = [codes if d in MULTI else snap.cols[d][seqs] for d in dims]
    valid = np.logical_and.reduce([p >= 0 for p in parts])
    sizes = [max(1, len(index.vocab[d].values)) for d in dims]
    flat = np.ravel_multi_index([p[valid].astype(np.int64) for p in parts], sizes)
    if np.prod(sizes, dtype=np.float64) <= 4_000_000:  # a count per key combination: one pass
        n = np.bincount(flat, minlength=int(np.prod(sizes)))
        keys = np.flatnonzero(n)
        n = n[keys]
    else:
        keys, n = np.unique(flat, return_counts=True)
    decoded = np.unravel_index(keys, sizes)
    values = [index.vocab[d].values for d in dims]
    rows = [(*(values[j][int(decoded[j][k])] for j in range(len(dims))), int(n[k])) for k in range(len(keys))]
    rows.sort(key=lambda r: (-r[-1], r[:-1]))
    return rows
