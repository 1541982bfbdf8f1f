"""A real SQLite store filled by ``incidex.api.ingest`` with the export test articles.

The articles in ``tests/data/exports/`` are written for these tests (see the
README there). The store is built once per test session; tests that change it
take a private copy with ``copy_store``.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from incidex.store import open_store

DATA = Path(__file__).resolve().parent / "data" / "exports"
ARTICLES = sorted(str(p) for p in DATA.glob("*.txt"))
LATE_ARTICLES = sorted(str(p) for p in (DATA / "late").glob("*.txt"))


@pytest.fixture(scope="session")
def export_db(tmp_path_factory) -> Path:
    """Path of the session's export store (do not write to it)."""
    import incidex

    path = tmp_path_factory.mktemp("exports") / "exports.db"
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


def copy_store(src: Path, dst: Path) -> Path:
    """A consistent copy of the SQLite database ``src`` (WAL included) at ``dst``."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()
    return dst
