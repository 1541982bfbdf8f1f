"""Alembic environment for the incidex store.

Runs only programmatically (``incidex.store.sql.upgrade``): the caller passes
an open connection, already inside a write transaction, through
``config.attributes["connection"]``; there is no alembic.ini and no URL here.
To write a new revision by hand, copy ``versions/0001_initial.py``, set
``down_revision`` to the current head, and update ``incidex/store/tables.py``.
"""
from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - misuse
    raise RuntimeError("incidex migrations run through incidex.store.open_store(), not the alembic CLI")

context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
