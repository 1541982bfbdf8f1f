"""Store methods for cross-article resolution (tables of migration 0002).

A mixin of ``SqlStore`` kept in its own module: mentions (what one article
reported about one incident), candidate lookup for matching (indexed, never
all-pairs), analysts' decisions, and entities with aliases.

Resolution runs dozens of these per incident in the serial store phase, so
the statements are built once, with bound parameters (``_S``): building a
SQLAlchemy statement costs about three times as much as running a prebuilt
one on SQLite (0.34 vs 0.10 ms measured), see docs/scaling.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from incidex.records import Incident
from incidex.store import codec
from incidex.store import driver
from incidex.store.tables import (
    entities, entity_aliases, incident_actors, incident_articles, incident_mentions, incident_victims, incidents,
    resolution_decisions,
)


_p = sa.bindparam


def _keys(name: str) -> sa.BindParameter:
    return sa.bindparam(name, expanding=True)


def _per_dialect(build: Any) -> dict[str, Any]:
    """A statement in each dialect's own form (upserts), keyed by dialect name."""
    return {"sqlite": build(sqlite), "postgresql": build(postgresql)}


def _mention_upsert(dialect: Any) -> sa.Insert:
    """Insert a mention, or update the one with its id (its created_at stays)."""
    ins = dialect.insert(incident_mentions)
    return ins.on_conflict_do_update(index_elements=[incident_mentions.c.id], set_={
        c: ins.excluded[c] for c in ("incident_id", "article_id", "role", "doc")})


class _S:
    """Prebuilt statements (bound parameters in ``_p(...)``)."""

    m = incident_mentions
    mention_upsert = _per_dialect(_mention_upsert)
    mentions_by = {col: sa.select(m.c.id, m.c.incident_id, m.c.article_id, m.c.role, m.c.doc)
                   .where(m.c[col] == _p("v")).order_by(m.c.created_at, m.c.id)
                   for m, col in ((incident_mentions, c) for c in ("id", "incident_id", "article_id"))}
    links_delete = incident_articles.delete().where(incident_articles.c.incident_id == _p("iid"))
    links_insert = incident_articles.insert().values(
        {c: _p(c) for c in ("incident_id", "article_id", "role")})
    incidents_in = sa.select(incidents.c.id, incidents.c.doc, incidents.c.updated_at).where(
        incidents.c.id.in_(_keys("ids")))
    versions_in = sa.select(incidents.c.id, incidents.c.updated_at).where(incidents.c.id.in_(_keys("ids")))
    incident_exists = sa.select(incidents.c.seq).where(incidents.c.id == _p("iid"))
    d = resolution_decisions
    decisions_of = sa.select(d.c.kind, d.c.subject, d.c.target, d.c.note).where(
        d.c.subject == _p("subject")).order_by(d.c.id)
    a, e = entity_aliases, entities
    entity_by_alias = (sa.select(e.c.id, e.c.kind, e.c.name, e.c.country).join(a, a.c.entity_id == e.c.id)
                       .where(a.c.alias_key == _p("key"), a.c.country_key.in_([_p("ckey"), ""])).limit(1))
    # insert unless present (one statement instead of a lookup and an insert); RETURNING says
    # whether it was added (psycopg reports no rowcount for such an insert)
    entity_insert_new = _per_dialect(lambda d: d.insert(entities).on_conflict_do_nothing())
    alias_insert_new = _per_dialect(
        lambda d: d.insert(entity_aliases).on_conflict_do_nothing().returning(entity_aliases.c.alias))
    entity_row = sa.select(e).where(e.c.id == _p("eid"))
    entity_aliases = sa.select(a.c.alias).where(a.c.entity_id == _p("eid")).order_by(a.c.alias)


@lru_cache(maxsize=64)
def _candidate_arms(victims: bool, actors: bool, kbs: bool, countries: bool, lo: bool, hi: bool,
                    limit: int) -> tuple[sa.Select, ...]:
    """The blocking arms of ``candidate_incident_ids`` for one combination of given inputs, built once."""
    i = incidents
    window = []
    if lo:
        window.append(sa.or_(i.c.date_to.is_(None), i.c.date_to >= _p("date_from", type_=sa.Date)))
    if hi:
        window.append(sa.or_(i.c.date_from.is_(None), i.c.date_from <= _p("date_to", type_=sa.Date)))
    arms = []
    if victims:
        arms.append(sa.select(incident_victims.c.incident_id.label("iid"))
                    .where(incident_victims.c.name_key.in_(_keys("victim_keys"))).limit(limit))
    if actors or kbs:
        conds = []
        if actors:
            conds.append(incident_actors.c.name_key.in_(_keys("actor_keys")))
        if kbs:
            conds.append(incident_actors.c.kb_id.in_(_keys("kb_ids")))
        # no ORDER BY: SQLite walks the index and stops at the limit instead of
        # sorting every incident of a busy actor (measured: 68 -> 134 ms an
        # article at 100k incidents with the sort; flat without it)
        arms.append(sa.select(incident_actors.c.incident_id.label("iid"))
                    .join(i, i.c.id == incident_actors.c.incident_id)
                    .where(sa.or_(*conds), *window).limit(limit))
    if countries and window:
        arms.append(sa.select(incident_victims.c.incident_id.label("iid"))
                    .join(i, i.c.id == incident_victims.c.incident_id)
                    .where(incident_victims.c.country_key.in_(_keys("country_keys")), *window).limit(limit))
    return tuple(arm.subquery().select() for arm in arms)


_DECODED_MAX = 20_000  # decoded incident records kept for resolution (a few KB each)


@dataclass
class MentionRow:
    """One article's account of one incident (its record decoded when first asked for:
    resolution often needs only which incident a mention belongs to)."""

    id: str
    incident_id: str
    article_id: str
    role: str
    doc: dict = field(repr=False)

    @cached_property
    def incident(self) -> Incident:
        return codec.incident_from_dict(self.doc)


class ResolutionStoreMixin:
    # -- mentions --------------------------------------------------------------

    def add_mention(self, mention_id: str, incident_id: str, article_id: str, role: str, incident: Incident) -> None:
        """Insert or replace the mention ``mention_id`` (idempotent on re-processing; keeps its first created_at)."""
        row = {"id": mention_id, "incident_id": incident_id, "article_id": article_id, "role": role,
               "doc": incident.to_dict(), "created_at": self._ts(codec.now_utc())}
        with self._connection(write=True) as conn:
            conn.execute(_S.mention_upsert[conn.dialect.name], row)

    def mentions_for_incident(self, incident_id: str) -> list[MentionRow]:
        return self._mentions("incident_id", incident_id)

    def mentions_for_article(self, article_id: str) -> list[MentionRow]:
        return self._mentions("article_id", article_id)

    def get_mention(self, mention_id: str) -> MentionRow | None:
        rows = self._mentions("id", mention_id)
        return rows[0] if rows else None

    def _mentions(self, column: str, value: str) -> list[MentionRow]:
        with self._connection(write=False) as conn:
            return [MentionRow(r.id, r.incident_id, r.article_id, r.role, r.doc)
                    for r in conn.execute(_S.mentions_by[column], {"v": value})]

    def delete_mention(self, mention_id: str) -> None:
        with self._connection(write=True) as conn:
            conn.execute(incident_mentions.delete().where(incident_mentions.c.id == mention_id))

    def move_mentions(self, mention_ids: Sequence[str], incident_id: str) -> None:
        with self._connection(write=True) as conn:
            conn.execute(incident_mentions.update().where(incident_mentions.c.id.in_(list(mention_ids)))
                         .values(incident_id=incident_id))

    def relink_articles(self, incident_id: str, links: Sequence[tuple[str, str]], *, new: bool = False) -> None:
        """Make ``incident_articles`` of one incident exactly ``links`` (article_id, role);
        ``new``: the incident has no links yet."""
        with self._connection(write=True) as conn:  # plain strings: straight to the driver
            if not new:
                driver.execute(conn, _S.links_delete, {"iid": incident_id})
            if links:
                driver.execute(conn, _S.links_insert,
                               [{"incident_id": incident_id, "article_id": a, "role": r} for a, r in links])

    def delete_incident(self, incident_id: str) -> None:
        with self._connection(write=True) as conn:
            for t in (incident_mentions, incident_articles, incident_actors, incident_victims):
                conn.execute(t.delete().where(t.c.incident_id == incident_id))
            from incidex.store.tables import incident_attack_types, incident_terms
            for t in (incident_attack_types, incident_terms):
                conn.execute(t.delete().where(t.c.incident_id == incident_id))
            conn.execute(incidents.delete().where(incidents.c.id == incident_id))

    # -- candidates --------------------------------------------------------------

    def candidate_incident_ids(self, *, victim_keys: Sequence[str] = (), actor_keys: Sequence[str] = (),
                               kb_ids: Sequence[str] = (), country_keys: Sequence[str] = (),
                               victim_tokens: Sequence[str] = (),
                               date_from: date | None = None, date_to: date | None = None,
                               limit: int = 50) -> list[str]:
        """Incidents sharing a victim name, or an actor / victim country inside the date
        window: each arm is an indexed lookup, so the cost does not grow with the store."""
        arms = _candidate_arms(bool(victim_keys), bool(actor_keys), bool(kb_ids), bool(country_keys),
                               date_from is not None, date_to is not None, int(limit))
        params = {"victim_keys": list(victim_keys), "actor_keys": list(actor_keys), "kb_ids": list(kb_ids),
                  "country_keys": list(country_keys), "date_from": date_from, "date_to": date_to}
        found: dict[str, None] = {}  # insertion-ordered set
        with self._connection(write=False) as conn:
            by_words = self._text.match_victim_words(list(victim_tokens), limit)
            if by_words is not None:  # distinctive words of victim names ("Valemont"), full-text indexed
                found.update((r[0], None) for r in conn.execute(by_words))
            for arm in arms:
                found.update((iid, None) for (iid,) in conn.execute(arm, params))
        return list(found)[: limit * 3]

    def get_incidents(self, incident_ids: Sequence[str]) -> list[Incident]:
        """Several incidents in one query, as shared read-only records (candidate scoring).

        Resolution scores the same stored incidents again and again, and
        decoding their records cost more than the rest of the lookup, so the
        decoded records are kept and reused while their ``updated_at`` is
        unchanged: a cheap version query decides, whoever wrote the row
        (another process included). Callers must not modify what they get.
        """
        if not incident_ids:
            return []
        ids = list(incident_ids)
        cache = self._decoded
        with self._connection(write=False) as conn:
            versions = dict(conn.execute(_S.versions_in, {"ids": ids}).all())
            found = {i: cache.get(i) for i in versions}
            stale = [i for i, v in versions.items() if found[i] is None or found[i][0] != v]
            for batch in codec.in_batches(stale):
                for r in conn.execute(_S.incidents_in, {"ids": list(batch)}):
                    found[r.id] = (r.updated_at, codec.incident_from_dict(r.doc))
        with self._decoded_lock:
            for i in stale:
                cache.pop(i, None)
                if found[i] is not None:
                    cache[i] = found[i]
            while len(cache) > _DECODED_MAX:
                del cache[next(iter(cache))]
        return [found[i][1] for i in ids if found.get(i) is not None]

    def has_incident(self, incident_id: str) -> bool:
        with self._connection(write=False) as conn:
            return driver.exists(conn, _S.incident_exists, {"iid": incident_id})

    # -- decisions ---------------------------------------------------------------

    def add_decision(self, kind: str, subject: str, target: str | None = None, note: str | None = None) -> None:
        with self._connection(write=True) as conn:
            conn.execute(resolution_decisions.insert().values(kind=kind, subject=subject, target=target, note=note,
                                                              at=self._ts(codec.now_utc())))

    def decisions(self, kind: str | None = None, subject: str | None = None) -> list[dict[str, Any]]:
        if subject and not kind:  # resolution asks this for every mention: the prebuilt statement, on the driver
            with self._connection(write=False) as conn:
                return [dict(zip(("kind", "subject", "target", "note"), r))
                        for r in driver.rows(conn, _S.decisions_of, {"subject": subject})]
        d = resolution_decisions
        stmt = sa.select(d.c.kind, d.c.subject, d.c.target, d.c.note).order_by(d.c.id)
        if kind:
            stmt = stmt.where(d.c.kind == kind)
        if subject:
            stmt = stmt.where(d.c.subject == subject)
        with self._connection(write=False) as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    # -- entities ----------------------------------------------------------------

    def entity_by_alias(self, alias_key: str, country_key: str = "") -> dict[str, Any] | None:
        known = self._memo_table("alias").setdefault(alias_key, {})
        if country_key not in known:
            with self._connection(write=False) as conn:
                row = conn.execute(_S.entity_by_alias, {"key": alias_key, "ckey": country_key}).first()
            known[country_key] = dict(row._mapping) if row else None
        found = known[country_key]
        return dict(found) if found else None

    def add_entity(self, entity_id: str, kind: str, name: str, country: str | None) -> None:
        """Create the entity unless it exists (then it is kept as it is)."""
        with self._connection(write=True) as conn:
            conn.execute(_S.entity_insert_new[conn.dialect.name],
                         {"id": entity_id, "kind": kind, "name": name, "country": country,
                          "created_at": self._ts(codec.now_utc())})
        self._memo_table("entity").pop(entity_id, None)

    def add_alias(self, entity_id: str, alias: str, alias_key: str, country_key: str = "") -> bool:
        """Attach an alias; False when the alias already names an entity (kept as it is)."""
        with self._connection(write=True) as conn:
            added = conn.execute(_S.alias_insert_new[conn.dialect.name],
                                 {"entity_id": entity_id, "alias": alias, "alias_key": alias_key,
                                  "country_key": country_key}).first() is not None
        if added:
            self._memo_table("alias").pop(alias_key, None)
            self._memo_table("entity").pop(entity_id, None)
        return added

    def move_aliases(self, from_entity: str, to_entity: str, alias_keys: Sequence[str] | None = None) -> None:
        with self._connection(write=True) as conn:
            stmt = entity_aliases.update().where(entity_aliases.c.entity_id == from_entity)
            if alias_keys is not None:
                stmt = stmt.where(entity_aliases.c.alias_key.in_(list(alias_keys)))
            conn.execute(stmt.values(entity_id=to_entity))
        self._forget()

    def get_entity(self, entity_id: str) -> dict[str, Any] | None:
        known = self._memo_table("entity")
        if entity_id not in known:
            known[entity_id] = self._read_entity(entity_id)
        found = known[entity_id]
        return {**found, "aliases": list(found["aliases"])} if found else None

    def _read_entity(self, entity_id: str) -> dict[str, Any] | None:
        with self._connection(write=False) as conn:
            row = conn.execute(_S.entity_row, {"eid": entity_id}).first()
            if row is None:
                return None
            aliases = [r.alias for r in conn.execute(_S.entity_aliases, {"eid": entity_id})]
        d = dict(row._mapping)
        d["aliases"] = aliases
        d.pop("created_at", None)
        return d

    def list_entities(self, kind: str | None = None, query: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        stmt = sa.select(entities.c.id).order_by(entities.c.name).limit(limit)
        if kind:
            stmt = stmt.where(entities.c.kind == kind)
        if query:
            key = codec.name_key(query) or ""
            stmt = stmt.where(entities.c.id.in_(sa.select(entity_aliases.c.entity_id)
                                                .where(entity_aliases.c.alias_key.contains(key))))
        with self._connection(write=False) as conn:
            ids = [r for (r,) in conn.execute(stmt)]
        return [e for e in (self.get_entity(i) for i in ids) if e]
