"""``SqlStore``: the Store on SQLAlchemy Core, over SQLite or PostgreSQL.

Portable SQL everywhere except in three isolated places:

* ``_configure_sqlite`` / ``_configure_postgresql``: connection settings and
  how a writing transaction takes the single write lock;
* ``incidex.store.fts``: full-text search (FTS5 vs tsvector);
* the migration's full-text section.

Transactions. pysqlite's implicit transactions are switched off and the store
emits ``BEGIN`` itself, ``BEGIN IMMEDIATE`` for anything that writes: a
deferred transaction that later writes can fail with "database is locked"
regardless of busy_timeout when another process wrote in between, while
IMMEDIATE takes the write lock up front and waits for it (busy_timeout). WAL
lets readers (the API) run alongside the single writer. ``synchronous=FULL``
makes each commit durable before the next article starts, so killing an
ingest loses nothing that was reported committed.

PostgreSQL (``postgresql://`` URLs, driven by psycopg 3) gets the same
semantics: a writing transaction first takes a transaction-scoped advisory
lock (``pg_advisory_xact_lock``), so writers serialize exactly as SQLite's
``BEGIN IMMEDIATE`` makes them, and every dedup and resolution decision sees
everything committed before it (two processes ingesting the same articles
store each once, and a syndicated copy is linked to its original even when
the two arrive through different processes). Readers never take the lock.
The expensive work (cleaning, extraction) happens outside transactions, so
parallel writers still overlap on it; only the short store phase is serial.
``lock_timeout`` follows ``[store] busy_timeout_ms``.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from incidex.records import Article, IncidexError, Incident
from incidex.settings import load_settings
from incidex.resolve.actors import canonical_actor
from incidex.store import codec, fts
from incidex.store.alerts_sql import AlertStoreMixin
from incidex.store.api_sql import ApiStoreMixin
from incidex.store.facet_sql import FacetIndexMixin
from incidex.store.base import Bands, Role
from incidex.store import driver
from incidex.store.resolution_sql import ResolutionStoreMixin
from incidex.store.watch_sql import WatchStoreMixin
from incidex.store.tables import (
    article_bands, articles, failures, incident_actors, incident_articles, incident_attack_types, incident_terms,
    incident_victims, incidents, store_meta,
)

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_WRITE = "incidex_write"
_DEDUP_META_KEY = "dedup_params"


# -- engine set-up ---------------------------------------------------------------

def _set_wal(cur: Any, busy_ms: int) -> None:
    """Switch to WAL, retrying while another process holds the database.

    Switching the journal mode of a new file needs an exclusive lock and
    SQLite answers "database is locked" at once, without its busy handler,
    when a second process is creating the same database at that moment;
    so wait here as ``busy_timeout`` would.
    """
    deadline = time.monotonic() + busy_ms / 1000
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _configure_sqlite(engine: Engine, settings: dict[str, Any]) -> None:
    cfg = settings.get("store", {})
    busy_ms = int(cfg.get("busy_timeout_ms", 30_000))
    synchronous = str(cfg.get("sqlite_synchronous", "FULL")).upper()
    if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise IncidexError(f"settings [store] sqlite_synchronous: {synchronous!r} is not OFF/NORMAL/FULL/EXTRA")
    memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # no implicit BEGIN: see _on_begin
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
            if not memory:
                _set_wal(cur, busy_ms)
            cur.execute(f"PRAGMA synchronous = {synchronous}")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


_PG_WRITE_LOCK = 0x696E636964657801  # "incidex" + 1: the advisory lock key of the single writer


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_WRITE_LOCK})")


def postgres_url(url: sa.URL) -> sa.URL:
    """``postgresql://`` and ``postgres://`` URLs go through psycopg 3 (other drivers as given)."""
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def make_engine(url: sa.URL, settings: dict[str, Any]) -> Engine:
    if url.get_backend_name() == "sqlite":
        kwargs: dict[str, Any] = {}
        if url.database in (None, "", ":memory:"):
            kwargs.update(poolclass=sa.StaticPool, connect_args={"check_same_thread": False})
        else:
            Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        _configure_sqlite(engine, settings)
        return engine
    if url.get_backend_name() in ("postgresql", "postgres"):
        busy_ms = int(settings.get("store", {}).get("busy_timeout_ms", 30_000))
        try:
            engine = sa.create_engine(
                postgres_url(url), pool_pre_ping=True,
                connect_args={"options": f"-c timezone=UTC -c lock_timeout={busy_ms}",
                              "application_name": "incidex"})
        except ImportError as exc:
            raise IncidexError(f"PostgreSQL needs the psycopg driver: pip install 'psycopg[binary]' ({exc})") from None
        _configure_postgresql(engine)
        return engine
    raise IncidexError(f"unsupported database {url.get_backend_name()!r}: use sqlite:///path/to/incidex.db "
                       "or postgresql://user@host/dbname")


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration, inside one write transaction.

    Two processes opening a new database at once serialize on the write lock;
    the second finds the schema already at head and does nothing.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")


# Statements run once or more per ingested article or incident, built once
# (building a statement costs more than SQLite takes to run it; see
# docs/performance.md and docs/scaling.md).
_ARTICLE_SEQ = sa.select(articles.c.seq).where(articles.c.id == sa.bindparam("article_id"))
_ARTICLE = sa.select(articles).where(articles.c.id == sa.bindparam("article_id"))
_ARTICLE_INSERT = articles.insert()
_ARTICLE_SOURCES = (sa.select(articles.c.id, articles.c.source, articles.c.url, articles.c.published)
                    .where(articles.c.id.in_(sa.bindparam("ids", expanding=True))))
_BANDS_INSERT = article_bands.insert()
_DEDUP_INFO = (sa.select(articles.c.id, articles.c.signature, articles.c.duplicate_of)
               .where(articles.c.id.in_(sa.bindparam("ids", expanding=True))))
_INCIDENT_DOC = sa.select(incidents.c.doc).where(incidents.c.id == sa.bindparam("iid"))
_INCIDENT_UPDATE = incidents.update().where(incidents.c.id == sa.bindparam("b_id"))
_INCIDENT_INSERT = incidents.insert()
_CHILDREN = (incident_actors, incident_victims, incident_attack_types, incident_terms)
_CHILD_DELETE = {t: t.delete().where(t.c.incident_id == sa.bindparam("iid")) for t in _CHILDREN}
# the columns given, so the driver's SQL needs no default for the serial ids
_CHILD_INSERT = {t: t.insert().values({c.name: sa.bindparam(c.name) for c in t.c if c.name != "id"})
                 for t in _CHILDREN}
_LINK_ROLE = sa.select(incident_articles.c.role).where(incident_articles.c.incident_id == sa.bindparam("iid"),
                                                       incident_articles.c.article_id == sa.bindparam("aid"))
_LINK_INSERT = incident_articles.insert()
_LINK_UPDATE = incident_articles.update().where(incident_articles.c.incident_id == sa.bindparam("b_iid"),
                                                incident_articles.c.article_id == sa.bindparam("b_aid"))
_INCIDENTS_OF_ARTICLE = (sa.select(incidents.c.doc)
                         .join(incident_articles, incident_articles.c.incident_id == incidents.c.id)
                         .where(incident_articles.c.article_id == sa.bindparam("aid"))
                         .order_by(incidents.c.seq))
_ARTICLES_OF_INCIDENT = (sa.select(incident_articles.c.article_id, incident_articles.c.role)
                         .join(articles, articles.c.id == incident_articles.c.article_id)
                         .where(incident_articles.c.incident_id == sa.bindparam("iid"))
                         .order_by(articles.c.seq))


_PAIRS_PER_QUERY = 400  # (band, hash) pairs per candidate query: 800 parameters, under every SQLite's limit


@lru_cache(maxsize=8)
def _candidate_rows_sql(n_pairs: int, paramstyle: str) -> str:
    """The stored (band, hash, article, seq) rows matching any of ``n_pairs`` pairs.

    Driver SQL run on the driver's cursor (SQLAlchemy's per-statement cost was
    larger than the lookup itself, see docs/performance.md): the pairs as a
    VALUES table joined to the (band, hash) index, one index search a pair on
    SQLite and PostgreSQL alike (SQLite scans the whole table for a row-value
    ``IN (VALUES ...)`` instead).
    """
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}[paramstyle]
    values = ", ".join([f"({mark}, {mark})"] * n_pairs)
    return (f"WITH q(band, hash) AS (VALUES {values}) "
            "SELECT b.band, b.hash, b.article_id, a.seq FROM q "
            "JOIN article_bands b ON b.band = q.band AND b.hash = q.hash "
            "JOIN articles a ON a.id = b.article_id")


def _article_stored(conn: Connection, article_id: str) -> bool:
    return driver.exists(conn, _ARTICLE_SEQ, {"article_id": article_id})


# -- the store -------------------------------------------------------------------

class SqlStore(ResolutionStoreMixin, WatchStoreMixin, ApiStoreMixin, FacetIndexMixin, AlertStoreMixin):
    """Store over a SQLAlchemy engine; use ``incidex.store.open_store`` to make one."""

    def __init__(self, engine: Engine, settings: dict[str, Any] | None = None):
        self._engine = engine
        self._settings = settings or load_settings()
        self._local = threading.local()
        self._decoded: dict[str, tuple[Any, Incident]] = {}  # get_incidents' reuse of decoded records
        self._decoded_lock = threading.Lock()
        self._text = fts.for_dialect(engine.dialect.name)
        self._sqlite = engine.dialect.name == "sqlite"
        self.url = engine.url.render_as_string(hide_password=True)

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> "SqlStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    def worker_url(self) -> str | None:
        """The URL other processes can open this store with (password included), or None (in-memory)."""
        if self._sqlite and self._engine.url.database in (None, "", ":memory:"):
            return None
        return self._engine.url.render_as_string(hide_password=False)

    @property
    def engine(self) -> Engine:
        """For tests and maintenance tools; callers should use the methods."""
        return self._engine

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._savepoint_or_transaction():
            yield

    @contextmanager
    def _connection(self, write: bool) -> Iterator[Connection]:
        """The current transaction's connection, or a new transaction for one call.

        Inside ``transaction()`` a nested ``transaction()`` is a SAVEPOINT;
        plain method calls simply join the open transaction.
        """
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            if write and not getattr(self._local, "write", False):
                raise IncidexError("store: write inside a read-only transaction")
            yield current
            return
        with self._engine.connect() as conn:
            if write:
                conn.execution_options(**{_WRITE: True})
            with conn.begin():
                self._local.conn, self._local.write = conn, write
                self._local.memo = {} if write else None
                try:
                    yield conn
                finally:
                    self._local.conn, self._local.write, self._local.memo = None, False, None

    @contextmanager
    def _savepoint_or_transaction(self) -> Iterator[Connection]:
        """A write transaction, or a SAVEPOINT inside the open one.

        The savepoint is issued on the driver's cursor: SQLAlchemy's
        ``begin_nested`` cost ~0.2 ms a savepoint, more than the writes of a
        typical call inside it (ingest opens two per article). The same three
        statements (SAVEPOINT, RELEASE, ROLLBACK TO) on SQLite and PostgreSQL.
        """
        current: Connection | None = getattr(self._local, "conn", None)
        if current is None:
            with self._connection(write=True) as conn:
                yield conn
            return
        depth = getattr(self._local, "savepoints", 0) + 1
        name = f"incidex_sp{depth}"
        cur = current.connection.driver_connection.cursor()
        cur.execute(f"SAVEPOINT {name}")
        self._local.savepoints = depth
        try:
            yield current
        except BaseException:
            self._forget()  # what the savepoint wrote is gone
            cur.execute(f"ROLLBACK TO SAVEPOINT {name}")
            cur.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            cur.execute(f"RELEASE SAVEPOINT {name}")
        finally:
            self._local.savepoints = depth - 1
            cur.close()

    def _memo(self) -> dict | None:
        """Lookups remembered for the rest of the current write transaction.

        Only a write transaction holds the database's write lock, so only
        there can nobody else change what was read; a rolled back savepoint
        forgets everything (``_forget``). Resolution asks for the same
        entities and article sources many times in one chunk.
        """
        return getattr(self._local, "memo", None)

    def _memo_table(self, name: str) -> dict:
        """One kind of remembered lookup; outside a write transaction a dict nobody keeps."""
        memo = self._memo()
        return memo.setdefault(name, {}) if memo is not None else {}

    def _forget(self) -> None:
        memo = self._memo()
        if memo:
            memo.clear()

    def _ts(self, dt: datetime | None) -> datetime | None:
        # SQLite's DATETIME storage has no offset: store UTC wall time so text
        # comparison is chronological; PostgreSQL gets the aware value.
        if dt is None:
            return None
        return dt.astimezone(codec.UTC).replace(tzinfo=None) if self._sqlite else dt

    @staticmethod
    def _aware(dt: datetime | None) -> datetime | None:
        if dt is None or dt.tzinfo is not None:
            return dt
        return dt.replace(tzinfo=codec.UTC)

    # -- articles ------------------------------------------------------------

    def has_article(self, article_id: str) -> bool:
        with self._connection(write=False) as conn:
            return _article_stored(conn, article_id)

    def find_article_by_external_id(self, external_id: str, source: str | None = None) -> Article | None:
        stmt = sa.select(articles).where(articles.c.external_id == external_id)
        if source is not None:
            stmt = stmt.where(articles.c.source == source)
        with self._connection(write=False) as conn:
            row = conn.execute(stmt.order_by(articles.c.seq).limit(1)).mappings().first()
        return self._article(row) if row else None

    def add_article(self, article: Article, bands: Bands | None = None) -> bool:
        from incidex.resolve import duplicates

        sig = article.signature
        if sig is None:  # every stored article must be findable as a near-duplicate
            sig = article.signature = duplicates.signature(article.body, self._settings)
        if bands is None:
            bands = duplicates.bands(sig, self._settings)
        row = {
            "id": article.id, "external_id": article.external_id, "url": article.url, "source": article.source,
            "title": article.title, "author": article.author, "published": article.published,
            "published_at": self._ts(codec.parse_instant(article.published)), "language": article.language,
            "body": article.body, "raw": article.raw, "raw_kind": article.raw_kind or "text",
            "origin": article.origin, "fetched_at": article.fetched_at, "ingested_at": article.ingested_at,
            "stored_at": self._ts(codec.now_utc()), "signature": codec.pack_signature(sig),
            "duplicate_of": article.duplicate_of, "removed": list(article.removed or []),
        }
        with self._savepoint_or_transaction() as conn:
            if _article_stored(conn, article.id):
                return False
            if article.duplicate_of is not None and not _article_stored(conn, article.duplicate_of):
                raise IncidexError(f"article {article.id}: duplicate_of {article.duplicate_of} is not stored")
            conn.execute(_ARTICLE_INSERT, row)  # through SQLAlchemy: dates and JSON need its type handling
            unique_bands = sorted({(int(b), int(h)) for b, h in bands})
            if unique_bands:
                driver.execute(conn, _BANDS_INSERT,
                               [{"band": b, "hash": h, "article_id": article.id} for b, h in unique_bands])
        return True

    def get_article(self, article_id: str) -> Article | None:
        with self._connection(write=False) as conn:
            row = conn.execute(_ARTICLE, {"article_id": article_id}).mappings().first()
        return self._article(row) if row else None

    def article_sources(self, article_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None, str | None]]:
        """(source, url, published) of stored articles: what resolution credits a fact to,
        without reading their bodies."""
        known = self._memo_table("sources")  # stored articles' metadata never changes
        todo = [i for i in dict.fromkeys(article_ids) if i not in known]
        if todo:
            with self._connection(write=False) as conn:
                for ids in codec.in_batches(todo):
                    known.update((r.id, (r.source, r.url, r.published))
                                 for r in conn.execute(_ARTICLE_SOURCES, {"ids": list(ids)}))
        return {i: known[i] for i in article_ids if i in known}

    def list_articles(self, query: str | None = None, source: str | None = None,
                      since: datetime | date | str | None = None, until: datetime | date | str | None = None,
                      limit: int = 50, offset: int = 0, include_duplicates: bool = True) -> list[Article]:
        cols = [c for c in articles.c if c.name != "raw"]
        stmt = sa.select(*cols).order_by(articles.c.published_at.desc().nulls_last(), articles.c.seq.desc())
        if source is not None:
            stmt = stmt.where(articles.c.source == source)
        lo, hi = codec.bound_instant(since, end=False), codec.bound_instant(until, end=True)
        if lo is not None:
            stmt = stmt.where(articles.c.published_at >= self._ts(lo))
        if hi is not None:
            stmt = stmt.where(articles.c.published_at <= self._ts(hi))
        if not include_duplicates:
            stmt = stmt.where(articles.c.duplicate_of.is_(None))
        if query is not None and query.strip():
            matched = self._text.match_articles(stmt, articles.c.seq, query)
            if matched is None:  # nothing searchable in the query
                return []
            stmt = matched
        stmt = stmt.limit(_limit(limit)).offset(max(0, int(offset)))
        with self._connection(write=False) as conn:
            return [self._article(r) for r in conn.execute(stmt).mappings()]

    def count_articles(self, include_duplicates: bool = True) -> int:
        stmt = sa.select(sa.func.count()).select_from(articles)
        if not include_duplicates:
            stmt = stmt.where(articles.c.duplicate_of.is_(None))
        with self._connection(write=False) as conn:
            return int(conn.execute(stmt).scalar_one())

    def near_duplicate_candidates(self, bands: Bands) -> list[str]:
        return [aid for aid, _ in self.near_duplicate_candidates_many([bands])[0]]

    def near_duplicate_candidates_many(self, bands_list: Sequence[Bands]) -> list[list[tuple[str, int]]]:
        wanted = [sorted({(int(b), int(h)) for b, h in bands}) for bands in bands_list]
        owners: dict[tuple[int, int], list[int]] = {}  # (band, hash) -> positions asking for it
        for k, pairs in enumerate(wanted):
            for pair in pairs:
                owners.setdefault(pair, []).append(k)
        found: list[dict[str, list[int]]] = [{} for _ in wanted]  # per position: id -> [shared, seq]
        todo = list(owners)
        if todo:
            with self._connection(write=False) as conn:
                style = conn.dialect.paramstyle
                cur = conn.connection.driver_connection.cursor()
                try:
                    for start in range(0, len(todo), _PAIRS_PER_QUERY):
                        part = todo[start:start + _PAIRS_PER_QUERY]
                        cur.execute(_candidate_rows_sql(len(part), style), [v for pair in part for v in pair])
                        for band, hsh, aid, seq in cur.fetchall():
                            for k in owners[(int(band), int(hsh))]:
                                hit = found[k].get(aid)
                                if hit is None:
                                    found[k][aid] = [1, seq]
                                else:
                                    hit[0] += 1
                finally:
                    cur.close()
        limit = int(self._settings["dedup"].get("max_candidates", 100))
        # most shared bands first, then the earliest stored (seq is unique: a total order)
        return [[(aid, hit[0]) for aid, hit in sorted(rows.items(), key=lambda kv: (-kv[1][0], kv[1][1]))[:limit]]
                for rows in found]

    def dedup_info(self, article_ids: Sequence[str]) -> dict[str, tuple[list[int] | None, str | None]]:
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        out: dict[str, tuple[list[int] | None, str | None]] = {}
        with self._connection(write=False) as conn:
            for batch in codec.in_batches(ids):
                out.update({r.id: (codec.unpack_signature(r.signature), r.duplicate_of)
                            for r in conn.execute(_DEDUP_INFO, {"ids": list(batch)})})
        return out

    def rebuild_dedup_index(self, batch: int = 500) -> int:
        """Recompute every signature and band after a ``[dedup]`` settings change.

        Runs in batches of separate transactions; the settings fingerprint is
        recorded only at the end, so an interrupted rebuild restarts next time.
        Returns the number of articles processed.
        """
        from incidex.resolve import duplicates

        done, last = 0, 0
        while True:
            with self._connection(write=True) as conn:
                rows = conn.execute(sa.select(articles.c.seq, articles.c.id, articles.c.body)
                                    .where(articles.c.seq > last).order_by(articles.c.seq).limit(batch)).all()
                for r in rows:
                    sig = duplicates.signature(r.body, self._settings)
                    conn.execute(articles.update().where(articles.c.seq == r.seq)
                                 .values(signature=codec.pack_signature(sig)))
                    conn.execute(article_bands.delete().where(article_bands.c.article_id == r.id))
                    conn.execute(article_bands.insert(), [
                        {"band": b, "hash": h, "article_id": r.id}
                        for b, h in sorted(set(duplicates.bands(sig, self._settings)))])
            if not rows:
                break
            done += len(rows)
            last = rows[-1].seq
        self._set_meta(_DEDUP_META_KEY, duplicates.params_fingerprint(self._settings))
        return done

    def check_dedup_params(self) -> None:
        """Record the dedup fingerprint on a new database; rebuild the index if it changed."""
        from incidex.resolve import duplicates

        want = duplicates.params_fingerprint(self._settings)
        have = self._get_meta(_DEDUP_META_KEY)
        if have == want:
            return
        if have is not None or self.count_articles():
            log.warning("dedup settings changed (%s -> %s): rebuilding signatures and LSH bands", have, want)
            self.rebuild_dedup_index()
        else:
            self._set_meta(_DEDUP_META_KEY, want)

    # -- incidents -----------------------------------------------------------

    def add_incident(self, incident: Incident, article_id: str, role: Role | None = None) -> bool:
        role = role or ("background" if incident.background else "primary")
        if role not in ("primary", "background", "syndicated"):
            raise IncidexError(f"incident {incident.id}: role must be 'primary', 'background' or 'syndicated', not {role!r}")
        with self._connection(write=True) as conn:
            if not conn.execute(_ARTICLE_SEQ, {"article_id": article_id}).first():
                raise IncidexError(f"incident {incident.id}: article {article_id} is not stored")
            created = self._put_incident(conn, incident)
            link = conn.execute(_LINK_ROLE, {"iid": incident.id, "aid": article_id}).first()
            if link is None:
                conn.execute(_LINK_INSERT, {"incident_id": incident.id, "article_id": article_id, "role": role})
            elif link.role != role and role == "primary":  # an article that reports it first-hand wins
                conn.execute(_LINK_UPDATE, {"role": role, "b_iid": incident.id, "b_aid": article_id})
        return created

    def put_incident(self, incident: Incident, *, new: bool | None = None) -> bool:
        """Write an incident's record and index rows, its article links left as they are.

        Resolution rewrites an incident after every mention and sets its links
        itself (``relink_articles``), so it skips ``add_incident``'s link checks;
        it also knows whether the incident is ``new`` (None: look it up).
        """
        with self._connection(write=True) as conn:
            return self._put_incident(conn, incident, new)

    def _put_incident(self, conn: Connection, incident: Incident, new: bool | None = None) -> bool:
        doc = incident.to_dict()
        d_from, d_to = codec.date_range(incident.date)
        now = self._ts(codec.now_utc())
        attack_types = sorted({t.strip().lower() for t in incident.attack_types if t and t.strip()})
        values = {
            "doc": doc, "summary": incident.summary or None,
            "date_value": incident.date.value if incident.date else None,
            "date_precision": incident.date.precision if incident.date else None,
            "date_from": d_from, "date_to": d_to, "outcome": incident.outcome or "unknown",
            "attribution_status": incident.attribution.status or "unknown",
            "attack_types": attack_types, "confidence": incident.confidence,
            "background": bool(incident.background), "updated_at": now,
        }
        exists = not new if new is not None else self.has_incident(incident.id)
        if exists:
            conn.execute(_INCIDENT_UPDATE, {**values, "b_id": incident.id})
            for child in _CHILDREN:
                driver.execute(conn, _CHILD_DELETE[child], {"iid": incident.id})
        else:
            conn.execute(_INCIDENT_INSERT, {**values, "id": incident.id, "created_at": now})
        self._insert_children(conn, incident, attack_types, doc)
        return not exists

    @staticmethod
    def _insert_children(conn: Connection, incident: Incident, attack_types: list[str], doc: dict) -> None:
        actors, seen = [], set()
        for a in incident.attackers:
            a = canonical_actor(a)  # facets and listings group one actor under one id and name
            key = codec.name_key(a.name)
            if key and key not in seen:
                seen.add(key)
                actors.append({"incident_id": incident.id, "name": a.name.strip(), "name_key": key,
                               "kind": a.kind, "kb_id": a.kb_id, "state_link": a.state_link})
        victims, vseen = [], set()
        for v in incident.victims:
            key = codec.name_key(v.name)
            sector = v.sector.strip().lower() if v.sector else None
            ident = (key, codec.name_key(v.country), sector)
            if key and ident not in vseen:
                vseen.add(ident)
                victims.append({"incident_id": incident.id, "name": v.name.strip(), "name_key": key,
                                "country": v.country, "country_key": codec.name_key(v.country), "sector": sector})
        # plain strings: straight to the driver (resolution rewrites these rows after every mention)
        if actors:
            driver.execute(conn, _CHILD_INSERT[incident_actors], actors)
        if victims:
            driver.execute(conn, _CHILD_INSERT[incident_victims], victims)
        if attack_types:
            driver.execute(conn, _CHILD_INSERT[incident_attack_types],
                           [{"incident_id": incident.id, "attack_type": t} for t in attack_types])
        terms = codec.term_rows(doc)  # techniques, malware, CVEs: for their pivot pages
        if terms:
            driver.execute(conn, _CHILD_INSERT[incident_terms], [{"incident_id": incident.id, **t} for t in terms])

    def get_incident(self, incident_id: str) -> Incident | None:
        with self._connection(write=False) as conn:
            doc = conn.execute(_INCIDENT_DOC, {"iid": incident_id}).scalar_one_or_none()
        return codec.incident_from_dict(doc) if doc is not None else None

    def list_incidents(self, *, actor: Any = None, victim: Any = None, country: Any = None,
                       sector: Any = None, attack_type: Any = None, outcome: Any = None,
                       since: date | str | None = None, until: date | str | None = None, query: str | None = None,
                       include_background: bool = True, limit: int = 50, offset: int = 0,
                       **negations: Any) -> list[Incident]:
        docs = self.list_incident_docs(
            actor=actor, victim=victim, country=country, sector=sector, attack_type=attack_type, outcome=outcome,
            since=since, until=until, query=query, include_background=include_background, limit=limit, offset=offset,
            **negations)
        return [codec.incident_from_dict(doc) for doc in docs]

    def count_incidents(self) -> int:
        with self._connection(write=False) as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(incidents)).scalar_one())

    def list_incidents_since(self, after: datetime | None = None, limit: int = 500,
                             offset: int = 0) -> list[tuple[Incident, datetime]]:
        i = incidents
        stmt = sa.select(i.c.doc, i.c.updated_at).order_by(i.c.updated_at, i.c.seq)
        if after is not None:
            stmt = stmt.where(i.c.updated_at > self._ts(self._aware(after)))
        stmt = stmt.limit(_limit(limit)).offset(max(0, int(offset)))
        with self._connection(write=False) as conn:
            return [(codec.incident_from_dict(r.doc), self._aware(r.updated_at)) for r in conn.execute(stmt)]

    def incident_times(self, incident_ids: Sequence[str]) -> dict[str, tuple[datetime, datetime]]:
        ids = list(dict.fromkeys(incident_ids))
        out: dict[str, tuple[datetime, datetime]] = {}
        for batch in codec.in_batches(ids):
            stmt = (sa.select(incidents.c.id, incidents.c.created_at, incidents.c.updated_at)
                    .where(incidents.c.id.in_(batch)))
            with self._connection(write=False) as conn:
                out.update({r.id: (self._aware(r.created_at), self._aware(r.updated_at)) for r in conn.execute(stmt)})
        return out

    def incidents_for_article(self, article_id: str) -> list[Incident]:
        with self._connection(write=False) as conn:
            return [codec.incident_from_dict(doc) for doc in conn.execute(_INCIDENTS_OF_ARTICLE, {"aid": article_id}).scalars()]

    def articles_for_incident(self, incident_id: str) -> list[tuple[str, Role]]:
        with self._connection(write=False) as conn:
            return [(r.article_id, r.role) for r in conn.execute(_ARTICLES_OF_INCIDENT, {"iid": incident_id})]

    # -- reporting -----------------------------------------------------------

    def record_failure(self, origin: str, reason: str, stage: str | None = None) -> None:
        with self._savepoint_or_transaction() as conn:
            conn.execute(failures.insert().values(origin=origin, reason=reason, stage=stage,
                                                  at=self._ts(codec.now_utc())))

    def list_failures(self, limit: int = 100, offset: int = 0) -> list[dict[str, str | None]]:
        stmt = sa.select(failures).order_by(failures.c.id.desc()).limit(_limit(limit)).offset(max(0, int(offset)))
        with self._connection(write=False) as conn:
            return [{"origin": r.origin, "reason": r.reason, "stage": r.stage,
                     "at": self._aware(r.at).isoformat() if r.at else None} for r in conn.execute(stmt)]

    # -- helpers -------------------------------------------------------------

    def _get_meta(self, key: str) -> str | None:
        with self._connection(write=False) as conn:
            return conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == key)).scalar_one_or_none()

    def _set_meta(self, key: str, value: str) -> None:
        with self._savepoint_or_transaction() as conn:
            conn.execute(store_meta.delete().where(store_meta.c.key == key))
            conn.execute(store_meta.insert().values(key=key, value=value))

    def _article(self, row: Any) -> Article:
        return Article(
            id=row["id"], body=row["body"], url=row["url"], source=row["source"], title=row["title"],
            author=row["author"], published=row["published"], language=row["language"],
            external_id=row["external_id"], origin=row["origin"], raw=row.get("raw"),
            raw_kind=row["raw_kind"] or "text", fetched_at=row["fetched_at"], ingested_at=row["ingested_at"],
            signature=codec.unpack_signature(row["signature"]), duplicate_of=row["duplicate_of"],
            removed=list(row["removed"] or []),
        )


def _limit(limit: int) -> int:
    return max(0, min(int(limit), 10_000))
