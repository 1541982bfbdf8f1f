"""Incident terms: the techniques, malware and CVEs of each incident, flattened for pivot pages.

Revision ID: 0007
Revises: 0006

``incident_terms`` holds one row per incident and term (``kind`` technique,
malware or cve; ``term_key`` the form matched: ATT&CK ids and CVE ids
upper-cased, malware names casefolded), so "every incident using T1486" or
"every incident with CVE-2023-34362" is one index range, as victims and
actors are. The rows of incidents already stored are filled in from their
documents.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    from incidex.store.codec import term_rows

    terms = op.create_table(
        "incident_terms",
        sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("term_key", sa.String(200), nullable=False),
        sa.Column("term", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "kind", "term_key"),
    )
    op.create_index("ix_incident_terms_kind_key", "incident_terms", ["kind", "term_key", "incident_id"])
    docs = sa.table("incidents", sa.column("id", sa.String), sa.column("doc", JsonType))
    conn = op.get_bind()
    batch: list[dict] = []
    for iid, doc in conn.execute(sa.select(docs.c.id, docs.c.doc)):
        batch += [{"incident_id": iid, **row} for row in term_rows(doc or {})]
        if len(batch) >= 1000:
            conn.execute(terms.insert(), batch)
            batch = []
    if batch:
        conn.execute(terms.insert(), batch)


def downgrade() -> None:
    op.drop_table("incident_terms")
