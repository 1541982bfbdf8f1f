"""Incident deletions: a log of the incidents deleted, for the in-memory facet index; actor labels.

Revision ID: 0008
Revises: 0007

The facet index (``incidex.store.facet_index``) follows the incidents by
reading what changed since its last read: new and rewritten incidents carry
a newer ``updated_at``, but a deleted one (a merge, ``delete_incident``)
leaves nothing behind. A trigger writes the ``seq`` of every deleted
incident to ``incident_deletions``; its ``id`` only grows, so "deleted since
the last read" is one index range, and its highest value is part of
``Store.incidents_version`` (the caches' change marker). The rows are small
(one per deleted incident) and are kept.

``ix_incident_actors_kb_name`` (kb id, name) answers an actor's label, the
first name it was reported under, in one index lookup (``Store.actor_label``:
facet and statistics labels of actors the knowledge base does not know).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_TRIGGER = """CREATE TRIGGER incidents_deleted_log AFTER DELETE ON incidents BEGIN
  INSERT INTO incident_deletions (incident_seq) VALUES (old.seq);
END"""

POSTGRES_FUNCTION = """CREATE FUNCTION incidex_log_incident_deletion() RETURNS trigger AS $$
BEGIN
  INSERT INTO incident_deletions (incident_seq) VALUES (OLD.seq);
  RETURN OLD;
END $$ LANGUAGE plpgsql"""

POSTGRES_TRIGGER = """CREATE TRIGGER incidents_deleted_log AFTER DELETE ON incidents
FOR EACH ROW EXECUTE FUNCTION incidex_log_incident_deletion()"""


def upgrade() -> None:
    op.create_table(
        "incident_deletions",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("incident_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_incident_actors_kb_name", "incident_actors", ["kb_id", "name"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_TRIGGER)
    else:
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS incidents_deleted_log")
    else:
        op.execute("DROP TRIGGER IF EXISTS incidents_deleted_log ON incidents")
        op.execute("DROP FUNCTION IF EXISTS incidex_log_incident_deletion()")
    op.drop_index("ix_incident_actors_kb_name", "incident_actors")
    op.drop_table("incident_deletions")
