"""Feed watching: per-feed cursors and per-entry state.

Revision ID: 0005
Revises: 0002

``watch_feeds`` keeps each feed's HTTP validators (ETag, Last-Modified), its
schedule and its last success and error; ``watch_entries`` one row per feed
entry handled, written in the transaction that stores the entry's article so
a killed watcher neither loses nor repeats an entry.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "watch_feeds",
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("last_poll_at", Timestamp),
        sa.Column("last_success_at", Timestamp),
        sa.Column("last_error_at", Timestamp),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_errors", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_poll_at", Timestamp),
    )
    op.create_table(
        "watch_entries",
        sa.Column("feed_url", sa.Text, sa.ForeignKey("watch_feeds.url", ondelete="CASCADE"), primary_key=True),
        sa.Column("entry_key", sa.String(64), primary_key=True),
        sa.Column("external_id", sa.Text),
        sa.Column("link", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="SET NULL")),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("first_seen_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.CheckConstraint("outcome IN ('new', 'duplicate', 'unchanged', 'failed')",
                           name="ck_watch_entries_outcome"),
    )
    op.create_index("ix_watch_entries_article_id", "watch_entries", ["article_id"])


def downgrade() -> None:
    op.drop_table("watch_entries")
    op.drop_table("watch_feeds")
