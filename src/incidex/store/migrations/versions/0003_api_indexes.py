"""REST API: API keys, and indexes for the API's listings, filters and statistics.

Revision ID: 0003
Revises: 0005

(0003 was reserved for this issue; 0005 reached main first and databases may
already be at it, so this revision follows it and upgrades them too.)

``api_keys`` keeps the sha256 of each key (never the key itself), a short
prefix to recognise it by, and when it was made, last used and revoked.

Indexes (figures in docs/performance.md, "REST API"):

* ``ix_incidents_updated_at``: the TAXII feed and the caches of the API read
  the latest change (``max(updated_at)``) and the changes after a time.
* ``ix_incidents_order`` (``date_to, date_from, id``) replaces
  ``ix_incidents_date_to``: it is the listing order and holds every column a
  filtered listing checks while it walks it, so no table row is read until the
  page is known.
* The child tables' filter indexes gain ``incident_id`` (same names, now
  covering): a filter's incident ids are read from the index alone.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0005"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COVERING = [  # (index, table, filter column): the index becomes (column, incident_id)
    ("ix_incident_victims_country_key", "incident_victims", "country_key"),
    ("ix_incident_victims_sector", "incident_victims", "sector"),
    ("ix_incident_victims_name_key", "incident_victims", "name_key"),
    ("ix_incident_actors_kb_id", "incident_actors", "kb_id"),
    ("ix_incident_actors_name_key", "incident_actors", "name_key"),
    ("ix_incident_attack_types_attack_type", "incident_attack_types", "attack_type"),
]
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_used_at", Timestamp),
        sa.Column("revoked_at", Timestamp),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_incidents_updated_at", "incidents", ["updated_at"])
    op.drop_index("ix_incidents_date_to", table_name="incidents")
    op.create_index("ix_incidents_order", "incidents", ["date_to", "date_from", "id"])
    for name, table, column in COVERING:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column, "incident_id"])


def downgrade() -> None:
    for name, table, column in COVERING:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column])
    op.drop_index("ix_incidents_order", table_name="incidents")
    op.create_index("ix_incidents_date_to", "incidents", ["date_to"])
    op.drop_index("ix_incidents_updated_at", table_name="incidents")
    op.drop_table("api_keys")
