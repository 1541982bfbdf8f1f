"""Store methods behind the REST API and the web UI (tables of migrations 0001 and 0003).

A mixin of ``SqlStore`` in its own module, like ``resolution_sql``: filtered
counts and group counts (statistics, facets), actors and victims aggregated
over incidents, the sources of many incidents in one query, and API keys.

Everything is SQLAlchemy Core over the flattened filter tables, so it runs
unchanged on PostgreSQL; full-text restrictions go through the dialect's
``TextSearch`` (``incidex.store.fts``) as a sub-select of incident ``seq``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from datetime import date, datetime
from typing import Any, Sequence

import numpy as np
import sqlalchemy as sa

from incidex.records import IncidexError
from incidex.resolve import actors as actor_resolver
from incidex.store import codec, facet_index
from incidex.store.tables import (
    api_keys, articles, incident_actors, incident_articles, incident_attack_types, incident_terms, incident_victims,
    incidents,
)

#: Group-by dimensions of ``incident_counts``: name -> (child table or None, key column).
#: ``month``/``year`` read the text ``date_value`` (YYYY, YYYY-MM or YYYY-MM-DD), which
#: ``substr`` slices the same way on every database.
_MONTH = sa.func.substr(incidents.c.date_value, 1, 7)
#: How precisely an incident is dated, as the monthly charts need it: ``month`` (a month, week or
#: day: on a monthly chart), ``year`` (known only to the year) or ``undated``.
_DATING = sa.case((incidents.c.date_value.is_(None), "undated"),
                  (sa.or_(sa.func.length(incidents.c.date_value) < 7, incidents.c.date_precision == "year"), "year"),
                  else_="month")
DIMENSIONS: dict[str, tuple[sa.Table | None, sa.ColumnElement]] = {
    "month": (None, _MONTH),
    "year": (None, sa.func.substr(incidents.c.date_value, 1, 4)),
    "dating": (None, _DATING),
    "outcome": (None, incidents.c.outcome),
    "attribution": (None, incidents.c.attribution_status),
    "type": (incident_attack_types, incident_attack_types.c.attack_type),
    "country": (incident_victims, incident_victims.c.country_key),
    "sector": (incident_victims, incident_victims.c.sector),
    "actor": (incident_actors, sa.func.coalesce(incident_actors.c.kb_id, "name:" + incident_actors.c.name_key)),
}


def incident_conditions(**filters: Any) -> list[sa.ColumnElement]:
    """WHERE conditions on ``incidents`` for the filters of ``Store.list_incidents`` (all but ``query``).

    ``actor`` matches a name (case-insensitive) or a kb id; an ``actor`` of the
    form ``name:<key>`` (the id ``list_actors`` gives actors without a kb id)
    matches that name key. The victim filters must hold for one victim together.
    Every facet filter takes one value or several (any of them matches), and
    each has a negation ``not_<filter>`` (see ``_negated_sets``).

    Child-table filters are ``id IN (sub-select)``, not correlated EXISTS: the
    planner can then start from the child index (a victim name: a handful of
    rows) or scan incidents in date order and probe the sub-select's result,
    whichever is cheaper; a correlated EXISTS forces the scan (1.1 s for a
    victim name at 100k incidents). They are uncorrelated, so they also work in
    queries that join the child tables themselves (group counts).
    """
    conds = [incidents.c.id.in_(ids) for ids, _, _ in _child_sets(**filters)]
    return conds + _row_conditions(**filters)


#: The facet filters that take several values and a negation (``not_<name>``), by store keyword.
FACET_FILTERS = ("actor", "victim", "country", "sector", "attack_type", "outcome")
NEGATIONS = tuple(f"not_{f}" for f in FACET_FILTERS)
#: Filters on an incident's techniques, malware and CVEs (``incident_terms``; several values: any).
TERM_FILTERS = tuple(codec.TERM_KINDS)
#: Every keyword filter of ``Store.list_incidents`` (what exports and alerts accept).
INCIDENT_FILTERS = (*FACET_FILTERS, "since", "until", "query", "include_background", *NEGATIONS, *TERM_FILTERS)


def _values(value: Any) -> list[str]:
    """A filter's values: None, one text, or several (a list or tuple), blanks left out."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if v is not None and str(v).strip()]


def _one_of(col: sa.ColumnElement, values: list[str]) -> sa.ColumnElement:
    """``col = v`` for one value (the plainest plan), ``col IN (...)`` for several."""
    return col == values[0] if len(values) == 1 else col.in_(values)


def _intersection(id_sets: list[Any], excluded: Sequence[sa.Select] = ()) -> Any:
    """The incident ids in every set (smallest first) and in none of ``excluded`` (the negations):
    the smallest walked on its index and each id probed in the others' ``(key, incident_id)``
    indexes; an INTERSECT when the first is a UNION."""
    first, rest = id_sets[0], id_sets[1:]
    if not rest and not excluded:
        return first
    if not isinstance(first, sa.Select):
        inner = (sa.intersect(*id_sets) if rest else first).subquery()
        return sa.select(inner.c[0]).where(*(inner.c[0].not_in(x) for x in excluded))
    col = first.selected_columns[0]
    return first.where(*(col.in_(other) for other in rest), *(col.not_in(x) for x in excluded)).distinct()


_KB_ID = re.compile(r"^(attack|misp):[^\s:]+$")

#: Listing order: latest incident first (the end of its date range, then its
#: start), undated last; ``ix_incidents_order`` reads rows in exactly this order.
LISTING_ORDER = (incidents.c.date_to.desc().nulls_last(), incidents.c.date_from.desc(), incidents.c.id.desc())


@dataclass
class _Plan:
    """How to read a filtered, ordered page of incidents (see ``ApiStoreMixin._plan``)."""

    conds: list[sa.ColumnElement]
    rank_query: str | None = None  # order by full-text relevance for this query, else by date
    empty: bool = False
    id_sets: list[sa.Select] | None = None  # the filter is exactly these child-table id sets (smallest first)
    excluded: list[sa.Select] = dc_field(default_factory=list)  # ... less these (negations), with ``id_sets``
    count_conds: list[sa.ColumnElement] | None = None  # for counting (whole sets read once), else ``conds``
    text_only: sa.Select | None = None  # the filter is exactly this full-text match: count it in the text index


def _child_sets(actor: Any = None, victim: Any = None, country: Any = None, sector: Any = None,
                attack_type: Any = None, **terms: Any) -> list[tuple[sa.Select, sa.Select, sa.ColumnElement]]:
    """``(incident ids, matching child rows, EXISTS probe)`` per child-table filter.

    The first two read only the child table's covering ``(key, incident_id)``
    index; the probe checks one incident through the child's ``incident_id``
    index. Each filter takes one value or several (a list: any of them), which
    stays one set per table, so several values of a field are an OR and the
    fields an AND. Actor names and kb ids are a UNION of two index lookups
    (``_actor_alternatives``).
    """
    out = []

    def add(table: sa.Table, *alternatives: list[sa.ColumnElement]) -> None:
        ids = [sa.select(table.c.incident_id).where(*conds) for conds in alternatives]
        rows = [sa.select(sa.literal(1).label("one")).select_from(table).where(*conds) for conds in alternatives]
        probe = sa.exists().where(table.c.incident_id == incidents.c.id,
                                  sa.or_(*(sa.and_(*conds) for conds in alternatives))).correlate(incidents)
        out.append((ids[0] if len(ids) == 1 else sa.union(*ids),
                    rows[0] if len(rows) == 1 else sa.union_all(*rows), probe))

    names = _values(actor)
    if names:
        add(incident_actors, *_actor_alternatives(names))
    v = _victim_conditions(victim, country, sector)
    if v:
        add(incident_victims, v)
    types = [t.lower() for t in _values(attack_type)]
    if types:
        add(incident_attack_types, [_one_of(incident_attack_types.c.attack_type, types)])
    for kind in TERM_FILTERS:
        keys = [k for k in (codec.term_key(kind, v) for v in _values(terms.get(kind))) if k]
        if keys:
            add(incident_terms, [incident_terms.c.kind == kind, _one_of(incident_terms.c.term_key, keys)])
    return out


def _actor_alternatives(names: list[str]) -> list[list[sa.ColumnElement]]:
    """Conditions on ``incident_actors`` rows, any of which names one of the actors ``names``.

    An actor is a kb id when it looks like one (``source:id``, no space), a
    name otherwise; a KB name or alias also matches every incident filed under
    its kb ids; another text with a colon may be either. Each alternative is
    one index lookup (an OR of two columns would scan the table).
    """
    t = incident_actors
    kb_ids, keys = actor_keys(names)
    alternatives = []
    if kb_ids:
        alternatives.append([_one_of(t.c.kb_id, kb_ids)])
    if keys:
        alternatives.append([_one_of(t.c.name_key, keys)])
    return alternatives


def actor_keys(names: list[str]) -> tuple[list[str], list[str]]:
    """``(kb ids, name keys)`` an actor filter's values match (``_actor_alternatives``, the facet index)."""
    kb_ids: list[str] = []
    keys: list[str] = []
    for raw in names:
        key = codec.name_key(raw[5:] if raw.startswith("name:") else raw)
        known = actor_resolver.filter_ids(raw)
        if known:  # a KB name, alias or id: every incident filed under the actor (or reported by that name)
            kb_ids += known
            keys.append(key)
        elif _KB_ID.match(raw):  # attack:G0007, misp:<uuid>
            kb_ids.append(raw)
        elif ":" in raw and not raw.startswith("name:"):  # a name with a colon could still be a kb id
            kb_ids.append(raw)
            keys.append(key)
        else:  # kb ids always have a colon, so a name cannot be one
            keys.append(key)
    return list(dict.fromkeys(kb_ids)), list(dict.fromkeys(keys))


def _victim_conditions(victim: Any, country: Any, sector: Any) -> list[sa.ColumnElement]:
    """Conditions one ``incident_victims`` row must meet together (any of each filter's values)."""
    return [_one_of(incident_victims.c[col], values) for col, values in victim_keys(victim, country, sector)]


def victim_keys(victim: Any, country: Any, sector: Any) -> list[tuple[str, list[str]]]:
    """``(incident_victims column, values)`` of the victim filters that are set, as the table keeps them."""
    out = [("name_key", [codec.name_key(x) for x in _values(victim)]),
           ("country_key", [codec.name_key(x) for x in _values(country)]),
           ("sector", [x.lower() for x in _values(sector)])]
    return [(col, values) for col, values in out if values]


def _negated_sets(not_actor: Any = None, not_victim: Any = None, not_country: Any = None, not_sector: Any = None,
                  not_attack_type: Any = None, **_: Any) -> list[sa.Select]:
    """The incident ids the child-table negations leave out, one sub-select each.

    ``not_country=US`` drops every incident with a victim in the US (not only
    those whose victims are all there), so an incident with no victims or no
    country passes; each negated victim field stands alone. Used as ``id NOT
    IN (sub-select)``, which reads the child index once; incident ids are
    never null, so NOT IN means what it says on both databases.
    """
    out: list[sa.Select] = []

    def drop(table: sa.Table, *alternatives: list[sa.ColumnElement]) -> None:
        out.extend(sa.select(table.c.incident_id).where(*conds) for conds in alternatives)

    names = _values(not_actor)
    if names:
        drop(incident_actors, *_actor_alternatives(names))
    for field, value in (("victim", not_victim), ("country", not_country), ("sector", not_sector)):
        conds = _victim_conditions(**{"victim": None, "country": None, "sector": None, field: value})
        if conds:
            drop(incident_victims, conds)
    types = [t.lower() for t in _values(not_attack_type)]
    if types:
        drop(incident_attack_types, [_one_of(incident_attack_types.c.attack_type, types)])
    return out


def _row_conditions(since: date | str | None = None, until: date | str | None = None, outcome: Any = None,
                    include_background: bool = True, not_outcome: Any = None,
                    **negations: Any) -> list[sa.ColumnElement]:
    """The filters on the incidents' own columns, and the negations (``NOT IN`` a child-table set)."""
    i = incidents
    conds: list[sa.ColumnElement] = [i.c.id.not_in(ids) for ids in _negated_sets(**negations)]
    outcomes = [o.lower() for o in _values(outcome)]
    if outcomes:
        conds.append(_one_of(i.c.outcome, outcomes))
    left_out = [o.lower() for o in _values(not_outcome)]
    if left_out:
        conds.append(i.c.outcome.not_in(left_out))
    lo, hi = codec.bound_date(since, end=False), codec.bound_date(until, end=True)
    if lo is not None:
        conds.append(i.c.date_to >= lo)
    if hi is not None:
        conds.append(i.c.date_from <= hi)
    if not include_background:
        conds.append(i.c.background.is_(False))
    return conds


class ApiStoreMixin:
    """Reads for the API and UI, and API keys. Mixed into ``SqlStore``."""

    # -- filtered incidents ----------------------------------------------------

    def list_incident_docs(self, *, query: str | None = None, limit: int = 50, offset: int = 0,
                           **filters: Any) -> list[dict[str, Any]]:
        """``list_incidents`` as the stored documents (``Incident.to_dict()`` when stored), not decoded
        into records: a listing that only serialises them again saves the round trip."""
        return self.incident_page_docs(query=query, limit=limit, offset=offset, **filters)[0]

    def incident_page_docs(self, *, query: str | None = None, limit: int = 50, offset: int = 0,
                           count_cap: int | None = None, **filters: Any) -> tuple[list[dict[str, Any]], int | None]:
        """A page of ``list_incident_docs`` and, with ``count_cap``, ``count_incidents_matching(cap=count_cap)``.

        One plan for both (its size estimates are queries too). The page is read
        in two steps: its ``seq`` values in order (an index-only plan from
        ``_plan``), then the documents of those rows only. The count is skipped
        when the first page is not full (it is the page's length).
        """
        i = incidents
        drive = int(self._settings.get("store", {}).get("plan_drive_limit", 2000))
        # a full-text total stays SQL: counting to the cap beats reading every match of a common word
        matched = self._index_mask(query, filters) if count_cap is not None and not _has_text(query) else None
        with self._connection(write=False) as conn:
            plan = self._plan(conn, query, filters)
            if plan.empty or (matched is not None and not matched.any()):
                return [], 0 if count_cap is not None else None
            total = None
            conds = plan.conds
            if matched is not None:  # the facet index counted them: exact, and the set when it is small
                total = int(matched.sum())
                if total <= drive and plan.rank_query is None:
                    conds = [i.c.seq.in_(np.flatnonzero(matched).tolist())]
            elif count_cap is not None and plan.id_sets and len(plan.id_sets) > 1:
                # several child filters: their exact count is cheap and needed anyway; when few
                # incidents have them all, read those instead of walking for them
                ids = list(conn.execute(_intersection(plan.id_sets, plan.excluded)).scalars())
                total = len(ids)
                if total <= drive:
                    conds = [i.c.id.in_(ids)]
            stmt = sa.select(i.c.seq).where(*conds).order_by(*LISTING_ORDER)
            if plan.rank_query is not None:
                stmt = self._text.match_incidents(stmt, i.c.seq, plan.rank_query)
            stmt = stmt.limit(_limit(limit)).offset(max(0, int(offset)))
            seqs = list(conn.execute(stmt).scalars())
            docs = {r.seq: r.doc for r in conn.execute(sa.select(i.c.seq, i.c.doc).where(i.c.seq.in_(seqs)))} \
                if seqs else {}
            if count_cap is not None and total is None:
                total = len(seqs) if offset <= 0 and len(seqs) < limit else self._count(conn, plan, count_cap)
        return [docs[s] for s in seqs], total

    def _plan(self, conn: Any, query: str | None, filters: dict[str, Any]) -> _Plan:
        """Conditions that let the database read a page without touching more rows than needed.

        A filter on a child table (victim, country, sector, actor, type) is a
        set of incident ids read from the child's covering ``(key,
        incident_id)`` index; the full text is a set of ``seq``. When the
        smallest set is small (at most ``[store] plan_drive_limit`` rows), the
        page is read from that set and sorted; otherwise the incidents are
        scanned in listing order on ``ix_incidents_order`` (``date_to,
        date_from, id``: the order and every column the check needs, so no
        table row is read) and each is checked against the sets (written
        ``id || '' IN`` / ``seq + 0 IN``, which keeps the planner from driving
        from a large set): a page of 50 stops after about 50 / selectivity
        index entries. Full-text matches
        are ranked by relevance when there are at most ``[store]
        fts_rank_limit`` of them; more are listed latest first (ranking tens
        of thousands of hits cost 30-100 ms and orders near-ties).
        Figures: docs/performance.md, "REST API".
        """
        cfg = self._settings.get("store", {})
        drive, rank_limit = int(cfg.get("plan_drive_limit", 2000)), int(cfg.get("fts_rank_limit", 1000))
        i = incidents
        sets = _child_sets(**filters)
        rank_query, text_set, text = None, -1, None
        if query is not None and query.strip():
            text = self._text.match_incident_seqs(query)
            if text is None:
                return _Plan([], empty=True)
            n_text = conn.execute(sa.select(sa.func.count()).select_from(
                text.limit(rank_limit + 1).subquery())).scalar_one()
            if n_text == 0:
                return _Plan([], empty=True)
            if n_text <= rank_limit:
                rank_query = query
            else:
                text_set = len(sets)
                sets.append((text, text, None))
        sizes = [conn.execute(sa.select(sa.func.count()).select_from(rows.limit(drive + 1).subquery())).scalar_one()
                 for _, rows, _ in sets]
        if any(n == 0 for n in sizes):
            return _Plan([], empty=True)
        excluded = _negated_sets(**filters)
        plain = _row_conditions(**{k: v for k, v in filters.items() if k not in NEGATIONS or k == "not_outcome"})
        conds = plain + [i.c.id.not_in(ids) for ids in excluded]
        listing, counting = list(conds), list(conds)
        smallest = min(range(len(sets)), key=sizes.__getitem__) if sets else None
        for k, (members, _, probe) in enumerate(sets):
            drive_here = k == smallest and sizes[k] <= drive and rank_query is None
            col = i.c.seq if k == text_set else i.c.id
            if drive_here:
                listing.append(col.in_(members))
                counting.append(col.in_(members))
                continue
            # an expression, so no index on the column can be used to drive from a large set
            counting.append((col + 0 if k == text_set else col + "").in_(members))
            # a page needs few probes: check each incident walked instead of reading the whole set
            listing.append(counting[-1] if k == text_set else probe)
        # child-table filters and their negations alone: counted from the indexes (sets less the negated)
        only_sets = sets and text_set < 0 and rank_query is None and not plain
        by_size = [sets[k][0] for k in sorted(range(len(sets)), key=sizes.__getitem__)]
        text_only = text if query is not None and not conds and len(sets) == (0 if rank_query else 1) else None
        return _Plan(listing, rank_query, id_sets=by_size if only_sets else None, count_conds=counting,
                     text_only=text_only, excluded=excluded if only_sets else [])

    def _incident_where(self, query: str | None, filters: dict[str, Any]) -> list[sa.ColumnElement] | None:
        """Conditions for ``filters`` plus full text (for group counts); None when ``query`` has nothing
        searchable."""
        conds = incident_conditions(**filters)
        if query is not None and query.strip():
            text = self._text.match_incident_seqs(query)
            if text is None:
                return None
            conds.append(incidents.c.seq.in_(text))
        return conds

    def count_incidents_matching(self, *, query: str | None = None, cap: int | None = None, **filters: Any) -> int:
        """How many incidents ``list_incidents`` with the same filters would page through.

        ``cap``: stop counting there (the caller shows "more than N"), which
        bounds the cost of counting a broad filter on a large store. Filters on
        victims, actors and types alone are counted exactly from their indexes
        (the intersection of their id sets), whatever ``cap``; once the facet
        index is built every filter is counted exactly from it, except full
        text with a ``cap`` (counting to the cap is cheaper than every match).
        """
        matched = None if cap is not None and _has_text(query) else self._index_mask(query, filters)
        if matched is not None:
            return int(matched.sum())
        with self._connection(write=False) as conn:
            plan = self._plan(conn, query, filters)
            return 0 if plan.empty else self._count(conn, plan, cap)

    def _count(self, conn: Any, plan: _Plan, cap: int | None) -> int:
        if plan.text_only is not None:  # full text alone: every match is an incident (the index follows the table)
            inner = plan.text_only.limit(int(cap)) if cap is not None else plan.text_only
            return int(conn.execute(sa.select(sa.func.count()).select_from(inner.subquery())).scalar_one())
        if plan.id_sets:  # child filters only: intersect their id sets, all on covering indexes
            ids = _intersection(plan.id_sets, plan.excluded).subquery()
            return int(conn.execute(sa.select(sa.func.count(sa.distinct(ids.c[0])))).scalar_one())
        inner = sa.select(incidents.c.seq).where(*(plan.count_conds or plan.conds))
        if plan.rank_query is not None:
            inner = self._text.match_incidents(inner, incidents.c.seq, plan.rank_query).order_by(None)
        if cap is not None:
            inner = inner.limit(int(cap))
        return int(conn.execute(sa.select(sa.func.count()).select_from(inner.subquery())).scalar_one())

    def incident_counts(self, group_by: str | Sequence[str], *, top: int | None = None, query: str | None = None,
                        **filters: Any) -> list[tuple[Any, ...]]:
        """``(key, ..., count)`` rows: incidents matching the filters, grouped.

        ``group_by`` is one dimension of ``DIMENSIONS`` or several (e.g.
        ``("month", "type")``); an incident counts once per key (two victims in
        one country count once). Rows with an empty key are left out (undated
        incidents have no month); ``month`` also leaves out dates known only to
        the year. Largest count first, then by key; ``top`` keeps the first rows.
        """
        dims = [group_by] if isinstance(group_by, str) else list(group_by)
        unknown = [d for d in dims if d not in DIMENSIONS]
        if unknown or not dims:
            raise IncidexError(f"cannot group incidents by {', '.join(unknown) or 'nothing'}: "
                               f"choose from {', '.join(DIMENSIONS)}")
        rows = self._index_counts(query, filters, dims)
        if rows is not None:
            return rows[:int(top)] if top is not None else rows
        conds = self._incident_where(query, filters)
        if conds is None:
            return []
        i = incidents
        source: sa.FromClause = i
        joined: list[sa.Table] = []
        keys = []
        for d in dims:
            table, col = DIMENSIONS[d]
            if table is not None and table not in joined:
                joined.append(table)
                source = source.join(table, table.c.incident_id == i.c.id)
            keys.append(col.label(d))
            conds.append(col.is_not(None))
            if d == "month":
                conds.append(sa.func.length(i.c.date_value) >= 7)
                conds.append(i.c.date_precision != "year")
        count = (sa.func.count(sa.distinct(i.c.seq)) if joined else sa.func.count()).label("n")
        stmt = (sa.select(*keys, count).select_from(source).where(*conds).group_by(*keys)
                .order_by(count.desc(), *keys))
        if top is not None:
            stmt = stmt.limit(int(top))
        with self._connection(write=False) as conn:
            return [tuple(r) for r in conn.execute(stmt)]

    def incidents_version(self) -> tuple[int, datetime | None, int]:
        """``(highest seq, latest updated_at, last deletion logged)``: changes whenever incidents do
        (for caches).

        Three index lookups (a ``count(*)`` would read all 100k rows: 8 ms). A new
        incident raises the first, a changed one the second, a deleted one (a
        merge, ``delete_incident``) the third (migration 0008's trigger).
        """
        # scalar sub-selects: SQLite answers a lone max() from the index, not two in one SELECT
        with self._connection(write=False) as conn:
            n, latest, deleted = conn.execute(facet_index.VERSION).one()
        if isinstance(latest, str):  # SQLite returns max() of a DATETIME column as text
            latest = codec.parse_instant(latest)
        return int(n or 0), self._aware(latest), int(deleted or 0)

    # -- sources ---------------------------------------------------------------

    def sources_for_incidents(self, incident_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """``id -> [{article_id, role, url, source, title, published, language, ingested_at}]`` in link
        order, for many incidents in one query (a listing page would otherwise load each article)."""
        ids = list(dict.fromkeys(incident_ids))
        out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        a, l = articles, incident_articles
        for batch in codec.in_batches(ids):
            stmt = (sa.select(l.c.incident_id, l.c.article_id, l.c.role, a.c.url, a.c.source, a.c.title,
                              a.c.published, a.c.language, a.c.ingested_at)
                    .join(a, a.c.id == l.c.article_id)
                    .where(l.c.incident_id.in_(batch))
                    .order_by(l.c.incident_id, a.c.seq))
            with self._connection(write=False) as conn:
                for r in conn.execute(stmt):
                    d = dict(r._mapping)
                    out[d.pop("incident_id")].append(d)
        return out

    # -- actors and victims ----------------------------------------------------

    def list_actors(self, query: str | None = None, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Attackers over all incidents, most incidents first.

        One row per actor: ``id`` is the kb id, or ``name:<name key>`` for an
        actor the knowledge base does not know; ``names`` are the names the
        news used. ``query`` matches part of a name or a kb id.
        """
        t, i = incident_actors, incidents
        aid = DIMENSIONS["actor"][1].label("id")
        n = sa.func.count(sa.distinct(t.c.incident_id)).label("incidents")
        stmt = (sa.select(aid, n, sa.func.min(t.c.name).label("name"), sa.func.max(t.c.kind).label("kind"),
                          sa.func.max(t.c.state_link).label("state_link"), sa.func.max(t.c.kb_id).label("kb_id"),
                          sa.func.min(i.c.date_from).label("first"), sa.func.max(i.c.date_to).label("last"))
                .select_from(t.join(i, i.c.id == t.c.incident_id))
                .group_by(aid).order_by(n.desc(), aid).limit(_limit(limit)).offset(max(0, int(offset))))
        if query is not None and query.strip():
            key = codec.name_key(query) or ""
            ids = actor_resolver.search_ids(query)  # KB names and aliases too ("Sofacy", "G0007" -> APT28)
            stmt = stmt.where(sa.or_(t.c.name_key.contains(key, autoescape=True), t.c.kb_id == query.strip(),
                                     *([t.c.kb_id.in_(ids)] if ids else [])))
        with self._connection(write=False) as conn:
            return [_actor_row(r._mapping) for r in conn.execute(stmt)]

    def get_actor(self, actor_id: str) -> dict[str, Any] | None:
        """One actor (an id from ``list_actors``, a kb id or a name), with every name it was reported under."""
        t, i = incident_actors, incidents
        with self._connection(write=False) as conn:
            kb_id, cond, key = _actor_match(conn, actor_id)
            row = conn.execute(
                sa.select(sa.func.count(sa.distinct(t.c.incident_id)).label("incidents"),
                          sa.func.min(t.c.name).label("name"), sa.func.max(t.c.kind).label("kind"),
                          sa.func.max(t.c.state_link).label("state_link"),
                          sa.func.min(i.c.date_from).label("first"), sa.func.max(i.c.date_to).label("last"))
                .select_from(t.join(i, i.c.id == t.c.incident_id)).where(cond)).one()
            if not row.incidents:
                return None
            surfaces = _news_surfaces(conn, cond, kb_id, key)
        d = dict(row._mapping)
        d.update(id=kb_id or f"name:{key}", kb_id=kb_id, names=[n for n, _ in surfaces],
                 name_counts=[{"name": n, "incidents": c} for n, c in surfaces])
        return _actor_row(d)

    def actor_label(self, actor_id: str) -> str | None:
        """The name ``get_actor`` gives an actor (the KB's, else the first name it was reported
        under), or None for no such actor.

        For facet and chart labels: ``get_actor`` also counts the actor's
        incidents and reads up to 5,000 of their documents for the names the
        news used (0.4 s for an actor of 12k incidents, per label); this is one
        lookup on ``ix_incident_actors_kb_name`` or the name key's index.
        """
        with self._connection(write=False) as conn:
            kb_id, cond, _ = _actor_match(conn, actor_id)
            name = conn.execute(sa.select(sa.func.min(incident_actors.c.name)).where(cond)).scalar_one_or_none()
        return None if name is None else _actor_row({"name": name, "kb_id": kb_id})["name"]

    def list_victims(self, query: str | None = None, country: str | None = None, sector: str | None = None,
                     limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Victims over all incidents (one row per name and country), most incidents first."""
        v, i = incident_victims, incidents
        n = sa.func.count(sa.distinct(v.c.incident_id)).label("incidents")
        stmt = (sa.select(sa.func.min(v.c.name).label("name"), v.c.name_key, sa.func.max(v.c.country).label("country"),
                          sa.func.max(v.c.sector).label("sector"), n,
                          sa.func.min(i.c.date_from).label("first"), sa.func.max(i.c.date_to).label("last"))
                .select_from(v.join(i, i.c.id == v.c.incident_id))
                .group_by(v.c.name_key, v.c.country_key)
                .order_by(n.desc(), v.c.name_key).limit(_limit(limit)).offset(max(0, int(offset))))
        if query is not None and query.strip():
            stmt = stmt.where(v.c.name_key.contains(codec.name_key(query) or "", autoescape=True))
        if country is not None:
            stmt = stmt.where(v.c.country_key == codec.name_key(country))
        if sector is not None:
            stmt = stmt.where(v.c.sector == sector.strip().lower())
        with self._connection(write=False) as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        for r in rows:
            r.pop("name_key")
            r["first"], r["last"] = _iso(r["first"]), _iso(r["last"])
        return rows

    def get_victim(self, name: str, country: str | None = None) -> dict[str, Any] | None:
        """One victim by name (case-insensitive; in ``country`` when given): its countries and
        sectors, incident count, first and last date, and the names the news used for it."""
        v, i = incident_victims, incidents
        key = codec.name_key(name)
        conds = [v.c.name_key == key] + ([v.c.country_key == codec.name_key(country)] if country else [])
        with self._connection(write=False) as conn:
            row = conn.execute(
                sa.select(sa.func.count(sa.distinct(v.c.incident_id)).label("incidents"),
                          sa.func.min(v.c.name).label("name"),
                          sa.func.min(i.c.date_from).label("first"), sa.func.max(i.c.date_to).label("last"))
                .select_from(v.join(i, i.c.id == v.c.incident_id)).where(*conds)).one()
            if not row.incidents:
                return None
            places = conn.execute(sa.select(v.c.country, v.c.sector, sa.func.count(sa.distinct(v.c.incident_id)))
                                  .where(*conds).group_by(v.c.country, v.c.sector)).all()
            ids = sa.select(v.c.incident_id).where(*conds)
            docs = [d for (d,) in conn.execute(sa.select(i.c.doc).where(i.c.id.in_(ids)).limit(5000))]
        return {"name": row.name, "incidents": row.incidents, "first": _iso(row.first), "last": _iso(row.last),
                "countries": _tally((c, n) for c, _, n in places if c),
                "sectors": _tally((s, n) for _, s, n in places if s),
                "names": _victim_surfaces(docs, key)}

    def list_terms(self, kind: str, query: str | None = None, limit: int = 50,
                   offset: int = 0) -> list[dict[str, Any]]:
        """Techniques, malware or CVEs (``kind``) over all incidents, most incidents first: ``key``
        (what the pivot page and the filter take), ``term`` as written, count, first and last date."""
        t, i = incident_terms, incidents
        n = sa.func.count(sa.distinct(t.c.incident_id)).label("incidents")
        stmt = (sa.select(t.c.term_key.label("key"), sa.func.min(t.c.term).label("term"), n,
                          sa.func.min(i.c.date_from).label("first"), sa.func.max(i.c.date_to).label("last"))
                .select_from(t.join(i, i.c.id == t.c.incident_id)).where(t.c.kind == kind)
                .group_by(t.c.term_key).order_by(n.desc(), t.c.term_key)
                .limit(_limit(limit)).offset(max(0, int(offset))))
        if query is not None and query.strip():
            stmt = stmt.where(t.c.term_key.contains(codec.term_key(kind, query) or "", autoescape=True))
        with self._connection(write=False) as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        for r in rows:
            r["kind"], r["first"], r["last"] = kind, _iso(r["first"]), _iso(r["last"])
        return rows

    def get_term(self, kind: str, value: str) -> dict[str, Any] | None:
        """One technique, malware or CVE (any case) as ``list_terms`` gives it, or None."""
        t, i = incident_terms, incidents
        key = codec.term_key(kind, value)
        n = sa.func.count(sa.distinct(t.c.incident_id)).label("incidents")
        stmt = (sa.select(sa.func.min(t.c.term).label("term"), n,
                          sa.func.min(i.c.date_from).label("first"), sa.func.max(i.c.date_to).label("last"))
                .select_from(t.join(i, i.c.id == t.c.incident_id)).where(t.c.kind == kind, t.c.term_key == key))
        with self._connection(write=False) as conn:
            row = conn.execute(stmt).one()
        if not row.incidents:
            return None
        return {"kind": kind, "key": key, "term": row.term, "incidents": row.incidents,
                "first": _iso(row.first), "last": _iso(row.last)}

    # -- API keys --------------------------------------------------------------

    def add_api_key(self, name: str, key_hash: str, prefix: str) -> int:
        """Store a key's hash (never the key); returns its id."""
        with self._savepoint_or_transaction() as conn:
            res = conn.execute(api_keys.insert().values(name=name, key_hash=key_hash, prefix=prefix,
                                                        created_at=self._ts(codec.now_utc())))
            return int(res.inserted_primary_key[0])

    def api_key_by_hash(self, key_hash: str) -> dict[str, Any] | None:
        """The active (not revoked) key with this hash, or None."""
        stmt = sa.select(api_keys).where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
        with self._connection(write=False) as conn:
            row = conn.execute(stmt).first()
        return self._key_row(row) if row else None

    def touch_api_key(self, key_id: int) -> None:
        with self._savepoint_or_transaction() as conn:
            conn.execute(api_keys.update().where(api_keys.c.id == key_id)
                         .values(last_used_at=self._ts(codec.now_utc())))

    def list_api_keys(self, include_revoked: bool = False) -> list[dict[str, Any]]:
        stmt = sa.select(api_keys).order_by(api_keys.c.id)
        if not include_revoked:
            stmt = stmt.where(api_keys.c.revoked_at.is_(None))
        with self._connection(write=False) as conn:
            return [self._key_row(r) for r in conn.execute(stmt)]

    def revoke_api_key(self, key: int | str) -> int:
        """Revoke active keys by id or by name; returns how many were revoked."""
        cond = api_keys.c.id == int(key) if str(key).isdigit() else api_keys.c.name == str(key)
        with self._savepoint_or_transaction() as conn:
            res = conn.execute(api_keys.update().where(cond, api_keys.c.revoked_at.is_(None))
                               .values(revoked_at=self._ts(codec.now_utc())))
            return int(res.rowcount or 0)

    def _key_row(self, row: Any) -> dict[str, Any]:
        d = dict(row._mapping)
        d.pop("key_hash", None)
        for k in ("created_at", "last_used_at", "revoked_at"):
            d[k] = self._aware(d[k]).isoformat(timespec="seconds") if d[k] else None
        return d


def _has_text(query: str | None) -> bool:
    return query is not None and bool(query.strip())


def _iso(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _actor_match(conn: Any, actor_id: str) -> tuple[str | None, sa.ColumnElement, str | None]:
    """``(kb id, condition on incident_actors, name key)`` of one actor: an id from ``list_actors``, a kb
    id or a name. A KB name, alias or id matches every kb id of the entry; a name with a kb id
    somewhere is that kb id's actor; another name matches its reports without a kb id."""
    t = incident_actors
    raw = actor_id.strip()
    key = codec.name_key(raw[5:] if raw.startswith("name:") else raw)
    ref = actor_resolver.resolve(raw)
    if ref is not None:  # a KB name, alias or id ("Fancy Bear", "fancy-bear", "G0007")
        return ref.kb_id, t.c.kb_id.in_(ref.ids), key
    kb_id = conn.execute(sa.select(t.c.kb_id).where(t.c.kb_id == raw).limit(1)).scalar_one_or_none()
    if kb_id is None:  # a name: the actor is its kb id when the name has one
        kb_id = conn.execute(sa.select(t.c.kb_id).where(t.c.name_key == key, t.c.kb_id.is_not(None))
                             .limit(1)).scalar_one_or_none()
    return kb_id, (t.c.kb_id == kb_id if kb_id else sa.and_(t.c.name_key == key, t.c.kb_id.is_(None))), key


def _news_surfaces(conn: Any, cond: sa.ColumnElement, kb_id: str | None, key: str,
                   limit: int = 5000) -> list[tuple[str, int]]:
    """Every name the news used for an actor (the attackers' ``mention``), with the number of
    incidents using it, most used first; read from the stored documents (at most ``limit``)."""
    ids = sa.select(incident_actors.c.incident_id).where(cond)
    counts: dict[str, int] = {}
    rows = conn.execute(sa.select(incidents.c.doc).where(incidents.c.id.in_(ids)).limit(limit))
    ref = actor_resolver.resolve(kb_id) if kb_id else None
    mine = set(ref.ids) if ref else {kb_id}
    for (doc,) in rows:
        seen: set[str] = set()
        for a in (doc or {}).get("attackers") or []:
            if (a.get("kb_id") in mine) if kb_id else codec.name_key(a.get("name")) == key:
                s = (a.get("mention") or a.get("name") or "").strip()
                if s and s not in seen:
                    seen.add(s)
                    counts[s] = counts.get(s, 0) + 1
    return sorted(counts.items(), key=lambda t: (-t[1], t[0]))


def _tally(pairs: Any) -> list[dict[str, Any]]:
    """``(value, count)`` pairs summed per value, most first."""
    counts: dict[str, int] = {}
    for value, n in pairs:
        counts[value] = counts.get(value, 0) + int(n)
    return [{"value": k, "incidents": n} for k, n in sorted(counts.items(), key=lambda t: (-t[1], t[0]))]


def _victim_surfaces(docs: list[dict], key: str | None) -> list[dict[str, Any]]:
    """Every name the news used for a victim (its name, ``mention`` and aliases in the incidents
    naming it), with the number of incidents using each, most used first."""
    counts: dict[str, int] = {}
    for doc in docs:
        seen: set[str] = set()
        for v in (doc or {}).get("victims") or []:
            if codec.name_key(v.get("name")) != key:
                continue
            for s in (v.get("name"), v.get("mention"), *(v.get("aliases") or [])):
                s = " ".join((s or "").split())
                if s and s not in seen:
                    seen.add(s)
                    counts[s] = counts.get(s, 0) + 1
    return [{"name": k, "incidents": n} for k, n in sorted(counts.items(), key=lambda t: (-t[1], t[0]))]


def _actor_row(r: Any) -> dict[str, Any]:
    """An actor as the API shows it: the KB's name, aliases and state when the KB knows it."""
    from incidex.export.common import kb

    d = {k: r.get(k) for k in ("id", "name", "kind", "state_link", "kb_id", "incidents")}
    if r.get("name_counts") is not None:
        d["name_counts"] = r["name_counts"]
    d["first"], d["last"] = _iso(r.get("first")), _iso(r.get("last"))
    names = list(r.get("names") or [d["name"]])
    entry = kb().entry(d["kb_id"])
    if entry is not None:
        d["name"] = actor_resolver.display_name(d["kb_id"], entry.name)
        d["kb_type"] = entry.type
        d["state_link"] = d["state_link"] or entry.state
        aliases = [a for a in entry.aliases]
    else:
        d["kb_type"], aliases = None, []
    d["names"] = names
    d["aliases"] = [a for a in dict.fromkeys([*names, *aliases]) if a != d["name"]]
    return d


def _limit(limit: int) -> int:
    return max(0, min(int(limit), 10_000))

