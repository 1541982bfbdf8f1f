"""Shared test fixtures: paths to ../shared and the repo's example corpus."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# The property tests draw the same examples on every run, so a red test run means a
# change broke something, not that the dice found something new (as fuzz/run.py's
# fixed seed). INCIDEX_HYPOTHESIS=explore draws new ones, for hunting; what it finds
# becomes an explicit example with its fix.
hypothesis_settings.register_profile("fixed", derandomize=True, database=None)
hypothesis_settings.register_profile("explore")
hypothesis_settings.load_profile("explore" if os.environ.get("INCIDEX_HYPOTHESIS") == "explore" else "fixed")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples" / "articles"
GOLD = ROOT / "tests" / "gold"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the repository (CI always has it)")
    return SHARED


@pytest.fixture(scope="session")
def extractor():
    from incidex.extraction.pipeline import default_extractor

    return default_extractor()


# -- databases: every storage test runs on SQLite and on PostgreSQL -----------------------

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_databases():
    """``pgcluster.Databases`` on the test PostgreSQL server (see tests/pgcluster.py)."""
    from pgcluster import HOW_TO_ENABLE, Cluster, Databases, find_bindir

    cluster = None
    url = os.environ.get("INCIDEX_TEST_PG_URL")
    if not url:
        bindir = find_bindir()
        if bindir is None:
            if os.environ.get("INCIDEX_REQUIRE_PG") == "1":
                pytest.fail("INCIDEX_REQUIRE_PG=1 but no PostgreSQL binaries were found. " + HOW_TO_ENABLE)
            pytest.skip(HOW_TO_ENABLE)
        cluster = Cluster(bindir)
        url = cluster.start()
    dbs = Databases(url)
    try:
        yield dbs
    finally:
        dbs.close()
        if cluster is not None:
            cluster.stop()


def new_db_url(backend: str, request, tmp_path: Path, name: str = "store.db") -> str:
    """A URL of a new, empty store database of ``backend`` (dropped after the test)."""
    if backend == "sqlite":
        return str(tmp_path / name)
    dbs = request.getfixturevalue("pg_databases")
    url = dbs.fresh()
    request.addfinalizer(lambda: dbs.drop(url))
    return url


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture()
def db_url(backend, request, tmp_path) -> str:
    """A new store database: a SQLite file path, or a PostgreSQL URL."""
    return new_db_url(backend, request, tmp_path)


@pytest.fixture()
def store(db_url):
    from incidex.store import open_store

    s = open_store(db_url)
    yield s
    s.close()
