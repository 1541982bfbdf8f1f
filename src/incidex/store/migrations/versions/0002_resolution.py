"""Cross-article resolution: per-article incident mentions, analyst decisions, entities.

Revision ID: 0002
Revises: 0001

A resolved incident (``incidents``) is the merge of its mentions: what each
article reported about it (``incident_mentions``, the per-article extraction
kept whole). Analysts' merge/split decisions are kept apart from the data
(``resolution_decisions``) so re-processing re-applies them. Organisations
and actors under several names are one entity with aliases (``entities``,
``entity_aliases``).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident_mentions",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("doc", JsonType, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_index("ix_incident_mentions_incident_id", "incident_mentions", ["incident_id"])
    op.create_index("ix_incident_mentions_article_id", "incident_mentions", ["article_id"])
    op.create_table(
        "resolution_decisions",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("target", sa.String(80)),
        sa.Column("note", sa.Text),
        sa.Column("at", Timestamp, nullable=False),
        sa.CheckConstraint("kind IN ('pin', 'apart', 'alias', 'unalias')", name="ck_resolution_decisions_kind"),
    )
    op.create_index("ix_resolution_decisions_subject", "resolution_decisions", ["subject"])
    op.create_table(
        "entities",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("country", sa.String(8)),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "entity_aliases",
        sa.Column("entity_id", sa.String(40), sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("alias", sa.Text, nullable=False),
        sa.Column("alias_key", sa.Text, nullable=False),
        sa.Column("country_key", sa.String(8), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("alias", "country_key", name="pk_entity_aliases"),
    )
    op.create_index("ix_entity_aliases_entity_id", "entity_aliases", ["entity_id"])
    op.create_index("ix_entity_aliases_alias_key", "entity_aliases", ["alias_key", "country_key"])


def downgrade() -> None:
    op.drop_table("entity_aliases")
    op.drop_table("entities")
    op.drop_table("resolution_decisions")
    op.drop_table("incident_mentions")
