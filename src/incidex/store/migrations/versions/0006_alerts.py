"""Alerts: saved searches with an optional webhook, and the webhook's delivery log.

Revision ID: 0006
Revises: 0003

``alerts`` keeps each saved search by name (the store's incident filters as
JSON), its webhook URL and signing secret; ``alert_deliveries`` one row per
delivery attempt (``incidex alerts show`` lists them). An incident counts as
delivered to an alert once one attempt succeeded, so it is sent once.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("filters", JsonType, nullable=False),
        sa.Column("webhook_url", sa.Text),
        sa.Column("secret", sa.Text),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("alert_name", sa.String(64), sa.ForeignKey("alerts.name", ondelete="CASCADE"), nullable=False),
        sa.Column("incident_id", sa.String(64)),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("at", Timestamp, nullable=False),
    )
    op.create_index("ix_alert_deliveries_alert_incident", "alert_deliveries", ["alert_name", "incident_id"])


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("alerts")
