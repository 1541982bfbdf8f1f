"""A throwaway PostgreSQL cluster for the tests, and fresh databases in it.

The storage tests run against SQLite and PostgreSQL. For PostgreSQL the test
session either uses the server named by ``INCIDEX_TEST_PG_URL`` (a URL whose
user may create databases) or starts its own cluster from the PostgreSQL
binaries (``initdb`` into a temporary directory, listening on 127.0.0.1 only
on a free port, ``fsync=off``; as root it runs them as the ``postgres`` user,
since PostgreSQL refuses to run as root) and removes it at the end.

Each test gets its own database, copied from a template that was migrated
once (``CREATE DATABASE ... TEMPLATE``), so opening a store costs no migration;
after the test its tables are emptied (``TRUNCATE ... RESTART IDENTITY``) and
the database is handed to a later test, which is ten times faster than
creating and dropping one per test.
Without binaries the PostgreSQL tests skip and say how to enable them, unless
``INCIDEX_REQUIRE_PG=1`` (set by ``.ci/run``), where they fail instead.
"""
from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

HOW_TO_ENABLE = ("PostgreSQL tests need the PostgreSQL server binaries (initdb, pg_ctl): "
                 "`apt-get install postgresql-15` (Debian), or set INCIDEX_TEST_PG_URL=postgresql://user@host/db "
                 "to a server where that user may create databases; .ci/run does the former.")
TEMPLATE = "incidex_template"
_counter = itertools.count(1)


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: $INCIDEX_PG_BIN, PATH, then /usr/lib/postgresql/*/bin."""
    candidates = []
    if os.environ.get("INCIDEX_PG_BIN"):
        candidates.append(Path(os.environ["INCIDEX_PG_BIN"]))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0), reverse=True)
    candidates += versions
    for d in candidates:
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``initdb`` + ``pg_ctl start`` in a temporary directory; ``stop()`` removes it all."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="incidex-pg-"))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:  # PostgreSQL will not run as root
            shutil.chown(self.root, user="postgres")
        self.port = 0

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            runuser = shutil.which("runuser")
            cmd = [runuser, "-u", "postgres", "--", *cmd] if runuser else ["su", "postgres", "-s", "/bin/sh", "-c",
                                                                          " ".join(f"'{c}'" for c in cmd)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")

    def start(self) -> str:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8",
                  "--no-sync")
        for attempt in range(5):
            self.port = _free_port()
            opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            try:
                self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "server.log"), "-w",
                          "-t", "60", "start")
                return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
            except RuntimeError:
                if attempt == 4:
                    log = (self.root / "server.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class Databases:
    """Fresh databases on one server, each a copy of a migrated template."""

    def __init__(self, admin_url: str):
        self.admin_url = sa.make_url(admin_url).set(drivername="postgresql+psycopg")
        self.engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self.prefix = f"incidex_t{os.getpid()}_"
        self._template_ready = False
        self._clean: list[str] = []  # migrated databases emptied after use, ready for another test

    def url(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def _template(self) -> str:
        if not self._template_ready:
            from incidex.store import open_store

            name = f"{self.prefix}template"
            self._exec(f'DROP DATABASE IF EXISTS "{name}"')
            self._exec(f'CREATE DATABASE "{name}"')
            open_store(self.url(name)).close()
            self._template_ready, self.template_name = True, name
        return self.template_name

    def _exec(self, sql: str) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(sql)

    def fresh(self, *, migrated: bool = True) -> str:
        """URL of a new database (already at the newest schema unless ``migrated=False``)."""
        if migrated and self._clean:
            return self.url(self._clean.pop())
        name = f"{self.prefix}{next(_counter)}"
        if migrated:
            self.copy(self._template(), name)
        else:
            self._exec(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def copy(self, source: str, target: str) -> str:
        """``target`` as a copy of database ``source`` (names or URLs); other sessions on ``source`` are ended."""
        source = sa.make_url(source).database if "://" in source else source
        target = sa.make_url(target).database if "://" in target else target
        with self.engine.connect() as conn:  # CREATE DATABASE ... TEMPLATE needs the source to itself
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": source})
            conn.exec_driver_sql(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
        return self.url(target)

    def drop(self, url: str) -> None:
        """Done with the database ``url``: emptied for reuse when it still has the newest schema, else dropped."""
        name = sa.make_url(url).database
        try:
            self._empty(name)
        except Exception:
            self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            self._clean.append(name)

    def _empty(self, name: str) -> None:
        from incidex.store.tables import metadata

        engine = sa.create_engine(self.admin_url.set(database=name), poolclass=sa.NullPool)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name})
                head = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
                want = self._head()
                if head != want:
                    raise RuntimeError(f"{name} is at {head}, not {want}")
                tables = ", ".join(f'"{t}"' for t in metadata.tables)
                conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        finally:
            engine.dispose()

    def _head(self) -> str:
        if not hasattr(self, "_head_rev"):
            engine = sa.create_engine(self.admin_url.set(database=self._template()), poolclass=sa.NullPool)
            with engine.connect() as conn:
                self._head_rev = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            engine.dispose()
        return self._head_rev

    def close(self) -> None:
        self.engine.dispose()
