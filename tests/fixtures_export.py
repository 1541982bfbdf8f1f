"""A real store filled by ``incidex.api.ingest`` with the export test articles.

The articles in ``tests/data/exports/`` are written for these tests (see the
README there). The store is built once per test session and backend (SQLite
and PostgreSQL, so every export test runs on both); tests that change it take
a private copy with ``copy_store``. ``export_db`` is a SQLite file path or a
PostgreSQL URL: either works as ``--db`` and with ``open_store``.
"""
from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from incidex.store import open_store

DATA = Path(__file__).resolve().parent / "data" / "exports"
ARTICLES = sorted(str(p) for p in DATA.glob("*.txt"))
LATE_ARTICLES = sorted(str(p) for p in (DATA / "late").glob("*.txt"))


_pg = {}  # the session's pgcluster.Databases, once a PostgreSQL export store exists


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def export_db(request, tmp_path_factory) -> Path | str:
    """Path or URL of the session's export store (do not write to it)."""
    import incidex

    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("exports") / "exports.db"
    else:
        _pg["dbs"] = request.getfixturevalue("pg_databases")
        path = _pg["dbs"].fresh()
    store = open_store(path)
    try:
        report = incidex.ingest(ARTICLES, store)
        assert report.failed == [] and report.new == 5 and report.duplicate == 1, report.to_dict()
    finally:
        store.close()
    return path


@pytest.fixture()
def export_store(export_db):
    store = open_store(export_db)
    yield store
    store.close()


def copy_store(src: Path | str, dst: Path) -> Path | str:
    """A consistent copy of the store ``src``: SQLite (WAL included) at ``dst``; PostgreSQL as a new database."""
    if isinstance(src, str) and "://" in src:
        dbs = _pg["dbs"]
        return dbs.copy(src, f"{dbs.prefix}copy_{dst.stem}_{abs(hash(str(dst))) % 10**8}")
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()
    return dst


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(app) -> Iterator[str]:
    """uvicorn serving ``app`` on 127.0.0.1 at a free port, in a thread: yields the base URL, stops at the end."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive()
