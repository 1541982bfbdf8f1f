"""Prebuilt statements run on the database driver's own cursor.

SQLAlchemy's per-statement work (about 0.1-0.2 ms) costs more than SQLite
takes to run the small lookups and inserts of the ingest and resolution hot
paths, which run dozens of times per article. Only for statements whose
values need no type processing (strings, ints, None): dates, JSON and
datetimes go through SQLAlchemy.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection


@lru_cache(maxsize=64)
def driver_sql(stmt: Any, dialect: Any) -> tuple[str, tuple[str, ...] | None]:
    """A prebuilt statement as the driver's SQL, with the parameter order for positional drivers."""
    compiled = stmt.compile(dialect=dialect)
    return compiled.string, tuple(compiled.positiontup) if dialect.positional else None


def run(conn: Connection, stmt: Any, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """Run a prebuilt statement of plain values (ints, strings) on the driver's cursor; returns the cursor.

    For the per-article hot path only: no SQLAlchemy type processing, so the
    statement's values must need none.
    """
    sql, order = driver_sql(stmt, conn.dialect)
    cur = conn.connection.driver_connection.cursor()
    if isinstance(params, list):
        cur.executemany(sql, [tuple(p[k] for k in order) for p in params] if order else params)
    else:
        cur.execute(sql, tuple(params[k] for k in order) if order else params)
    return cur


def rows(conn: Connection, stmt: Any, params: dict[str, Any]) -> list[tuple]:
    """All rows of a prebuilt query run on the driver's cursor, as tuples."""
    cur = run(conn, stmt, params)
    try:
        return cur.fetchall()
    finally:
        cur.close()


def exists(conn: Connection, stmt: Any, params: dict[str, Any]) -> bool:
    """Whether a prebuilt query run on the driver's cursor finds a row."""
    cur = run(conn, stmt, params)
    try:
        return cur.fetchone() is not None
    finally:
        cur.close()


def execute(conn: Connection, stmt: Any, params: dict[str, Any] | list[dict[str, Any]]) -> None:
    """Run a prebuilt write (one row or many) on the driver's cursor."""
    run(conn, stmt, params).close()
