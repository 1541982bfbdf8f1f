"""Helpers for tests that run `incidex` as a subprocess and interrupt it while it writes."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path


def scalar(db: Path | str, sql: str):
    """One value from the store ``db`` (a SQLite path, or a PostgreSQL URL)."""
    import sqlalchemy as sa

    from incidex.store.sql import postgres_url

    url = postgres_url(sa.make_url(db)) if "://" in str(db) else sa.URL.create("sqlite", database=str(db))
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()
    finally:
        engine.dispose()


def table_count(db: Path | str, table: str) -> int | None:
    """Rows in ``table``, or None while the database or its schema is not there yet (or briefly locked)."""
    if "://" in str(db):  # PostgreSQL
        import sqlalchemy as sa

        try:
            return scalar(db, f"SELECT count(*) FROM {table}")
        except sa.exc.DBAPIError:
            return None
    db = Path(db)
    if not db.exists():
        return None
    try:
        con = sqlite3.connect(db, timeout=1)
        try:
            return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return None


def wait_for_rows(proc: subprocess.Popen, db: Path, table: str, at_least: int, seconds: float) -> int | None:
    """Poll until ``table`` holds ``at_least`` rows, the process ends, or ``seconds`` pass; the last count."""
    deadline = time.monotonic() + seconds
    seen = None
    while time.monotonic() < deadline and proc.poll() is None:
        seen = table_count(db, table)
        if seen is not None and seen >= at_least:
            break
        time.sleep(0.02)
    return seen


def kill_once_rows(cmd: list[str], env: dict[str, str], db: Path, table: str, at_least: int,
                   seconds: float) -> tuple[bool, int | None, int, str]:
    """Run ``cmd``; SIGKILL it once ``table`` holds ``at_least`` rows.

    Returns (was it still running when killed, the last count, its return code, its stderr).
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    try:
        seen = wait_for_rows(proc, db, table, at_least, seconds)
        still_running = proc.poll() is None
        if still_running:
            proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=30)
    return still_running, seen, proc.returncode, stderr


def extract_offline(article: str, published: str, home, **env) -> dict:
    """``incidex.extract`` in a child process where any socket use raises; its result as a dict.

    Proves that everything extraction loads (spaCy models, the trained CASIE
    model, the knowledge base) comes from the installed package, never a hub.
    """
    import json
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import json, socket
        def refuse(*a, **k):
            raise RuntimeError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        import incidex
        res = incidex.extract({article!r}, published={published!r})
        print(json.dumps(res.to_dict()))
    """)
    full_env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(home), **env}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=full_env, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
