"""Persistence behind one interface: ``open_store(url) -> Store``.

The database is SQLite (one file, WAL, FTS5 search) or PostgreSQL
(``postgresql://user@host/db``; tsvector search, advisory-lock writers) behind
the same interface: SQLAlchemy Core plus Alembic migrations shared by both.
``open_store`` upgrades the schema to the newest migration.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, DatabaseError

from incidex.records import IncidexError
from incidex.settings import load_settings
from incidex.store.base import Store

__all__ = ["Store", "open_store", "resolve_url", "DEFAULT_DB"]

DEFAULT_DB = "incidex.db"


def resolve_url(url: str | os.PathLike[str] | None = None) -> sa.URL:
    """``url`` as a SQLAlchemy URL: a URL is used as given, a bare path means SQLite.

    Without ``url``: ``$INCIDEX_DB`` (URL or path), else ``./incidex.db``.
    """
    raw = os.fspath(url) if url is not None else (os.environ.get("INCIDEX_DB") or DEFAULT_DB)
    if "://" in raw:
        try:
            return sa.make_url(raw)
        except ArgumentError as exc:
            raise IncidexError(f"not a database URL: {raw!r} ({exc})") from None
    if raw == ":memory:":
        return sa.make_url("sqlite://")
    return sa.URL.create("sqlite", database=str(Path(raw).expanduser().resolve()))


def open_store(url: str | os.PathLike[str] | None = None, *, settings: dict[str, Any] | None = None) -> Store:
    """Open (creating if needed) the store at ``url`` and upgrade its schema.

    Errors the user can act on (unsupported URL, a file that is not a
    database, a locked database) come out as ``IncidexError``.
    """
    from incidex.store.sql import SqlStore, make_engine, upgrade

    settings = settings or load_settings()
    sa_url = resolve_url(url)
    engine = make_engine(sa_url, settings)
    try:
        upgrade(engine)
        store = SqlStore(engine, settings)
        store.check_dedup_params()
    except DatabaseError as exc:
        engine.dispose()
        raise IncidexError(f"cannot open database {sa_url.render_as_string(hide_password=True)}: "
                           f"{exc.orig or exc}") from None
    except BaseException:
        engine.dispose()
        raise
    return store
