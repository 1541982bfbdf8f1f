"""Initial schema: articles + LSH bands, incidents + flattened filter tables, failures.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

This revision is frozen: later schema changes go into new revisions, and
``incidex/store/tables.py`` mirrors the result for queries.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("external_id", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("published", sa.Text),
        sa.Column("published_at", Timestamp),
        sa.Column("language", sa.String(16)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("raw", sa.Text),
        sa.Column("raw_kind", sa.String(8), nullable=False, server_default="text"),
        sa.Column("origin", sa.Text),
        sa.Column("fetched_at", sa.Text),
        sa.Column("ingested_at", sa.Text),
        sa.Column("stored_at", Timestamp, nullable=False),
        sa.Column("signature", sa.LargeBinary),
        sa.Column("duplicate_of", sa.String(64)),
        sa.Column("removed", JsonType),
        sa.UniqueConstraint("id", name="uq_articles_id"),
        sa.ForeignKeyConstraint(["duplicate_of"], ["articles.id"], name="fk_articles_duplicate_of",
                                ondelete="SET NULL"),
    )
    op.create_index("ix_articles_url", "articles", ["url"])
    op.create_index("ix_articles_source", "articles", ["source"])
    op.create_index("ix_articles_published_at", "articles", ["published_at"])
    op.create_index("ix_articles_external_id", "articles", ["external_id"])
    op.create_index("ix_articles_duplicate_of", "articles", ["duplicate_of"])

    op.create_table(
        "article_bands",
        sa.Column("band", sa.SmallInteger, nullable=False),
        sa.Column("hash", sa.BigInteger, nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("band", "hash", "article_id", name="pk_article_bands"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], name="fk_article_bands_article_id",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_article_bands_article_id", "article_bands", ["article_id"])

    op.create_table(
        "incidents",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("doc", JsonType, nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("date_value", sa.String(10)),
        sa.Column("date_precision", sa.String(8)),
        sa.Column("date_from", sa.Date),
        sa.Column("date_to", sa.Date),
        sa.Column("outcome", sa.String(16), nullable=False, server_default="unknown"),
        sa.Column("attribution_status", sa.String(16), nullable=False, server_default="unknown"),
        sa.Column("attack_types", JsonType),
        sa.Column("confidence", sa.Float),
        sa.Column("background", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.UniqueConstraint("id", name="uq_incidents_id"),
    )
    for col in ("date_from", "date_to", "outcome", "attribution_status"):
        op.create_index(f"ix_incidents_{col}", "incidents", [col])

    op.create_table(
        "incident_articles",
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "article_id", name="pk_incident_articles"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_incident_articles_incident_id",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], name="fk_incident_articles_article_id",
                                ondelete="CASCADE"),
        sa.CheckConstraint("role IN ('primary', 'background', 'syndicated')", name="ck_incident_articles_role"),
    )
    op.create_index("ix_incident_articles_article_id", "incident_articles", ["article_id"])

    op.create_table(
        "incident_actors",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("kb_id", sa.Text),
        sa.Column("state_link", sa.Text),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_incident_actors_incident_id",
                                ondelete="CASCADE"),
    )
    for col in ("incident_id", "name_key", "kb_id", "state_link"):
        op.create_index(f"ix_incident_actors_{col}", "incident_actors", [col])

    op.create_table(
        "incident_victims",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", sa.Text, nullable=False),
        sa.Column("country", sa.Text),
        sa.Column("country_key", sa.Text),
        sa.Column("sector", sa.String(32)),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_incident_victims_incident_id",
                                ondelete="CASCADE"),
    )
    for col in ("incident_id", "name_key", "country_key", "sector"):
        op.create_index(f"ix_incident_victims_{col}", "incident_victims", [col])

    op.create_table(
        "incident_attack_types",
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("attack_type", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "attack_type", name="pk_incident_attack_types"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_incident_attack_types_incident_id",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_incident_attack_types_attack_type", "incident_attack_types", ["attack_type"])

    op.create_table(
        "failures",
        sa.Column("id", SeqType, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("stage", sa.String(16)),
        sa.Column("at", Timestamp, nullable=False),
    )
    op.create_index("ix_failures_at", "failures", ["at"])

    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_fts_up()
    elif dialect == "postgresql":
        _postgres_fts_up()


# --- PostgreSQL full text (tsvector + GIN) ------------------------------------
# Written with PostgreSQL support (the branch used to raise, so no PostgreSQL
# database was ever at this revision without it). Both columns are GENERATED
# ... STORED, so every code path that writes a row keeps search correct, like
# the FTS5 triggers. The ``incidex`` configuration is English snowball stemming
# without stop words (FTS5's porter tokenizer has none either). In incidents,
# weights tell the fields apart: summary A, victim names B, actor names and
# aliases C (``incidex.store.fts.PostgresText`` matches victims with ``:B``).
_POSTGRES_FTS = [
    "CREATE TEXT SEARCH DICTIONARY incidex_stem (TEMPLATE = snowball, Language = english)",
    "CREATE TEXT SEARCH CONFIGURATION incidex (COPY = english)",
    """ALTER TEXT SEARCH CONFIGURATION incidex ALTER MAPPING
           FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH incidex_stem""",
    """ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('incidex', coalesce(title, '')), 'A') ||
           setweight(to_tsvector('incidex', body), 'B')) STORED""",
    "CREATE INDEX ix_articles_search ON articles USING gin (search)",
    """ALTER TABLE incidents ADD COLUMN search tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('incidex', coalesce(summary, '')), 'A') ||
           setweight(to_tsvector('incidex', jsonb_path_query_array(doc, '$.victims[*].name')), 'B') ||
           setweight(to_tsvector('incidex', jsonb_path_query_array(doc, '$.attackers[*].name') ||
                                            jsonb_path_query_array(doc, '$.attackers[*].aliases[*]')), 'C')) STORED""",
    "CREATE INDEX ix_incidents_search ON incidents USING gin (search)",
]


def _postgres_fts_up() -> None:
    for stmt in _POSTGRES_FTS:
        op.execute(stmt)


# --- SQLite full text (FTS5) -------------------------------------------------
# articles_fts reads its text from ``articles`` (external content, rowid =
# articles.seq) and is kept in sync by triggers, so every code path that
# writes articles keeps search correct. incidents_fts holds its own copy of
# the summary and of victim and actor names (with aliases) taken from the
# JSON document by triggers on ``incidents``.
_TOKENIZE = "porter unicode61 remove_diacritics 2"

_INCIDENT_FTS_VALUES = """
    new.seq, coalesce(new.summary, ''),
    coalesce((SELECT group_concat(json_extract(v.value, '$.name'), ' ')
              FROM json_each(new.doc, '$.victims') AS v), ''),
    coalesce((SELECT group_concat(n, ' ') FROM (
                SELECT json_extract(a.value, '$.name') AS n FROM json_each(new.doc, '$.attackers') AS a
                UNION ALL
                SELECT al.value AS n FROM json_each(new.doc, '$.attackers') AS a,
                                          json_each(a.value, '$.aliases') AS al)), '')
"""

_SQLITE_FTS = [
    f"""CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, body, content='articles', content_rowid='seq', tokenize='{_TOKENIZE}')""",
    """CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, body) VALUES (new.seq, new.title, new.body);
       END""",
    """CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, body)
            VALUES ('delete', old.seq, old.title, old.body);
       END""",
    """CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, body ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, body)
            VALUES ('delete', old.seq, old.title, old.body);
            INSERT INTO articles_fts(rowid, title, body) VALUES (new.seq, new.title, new.body);
       END""",
    f"""CREATE VIRTUAL TABLE incidents_fts USING fts5(summary, victims, actors, tokenize='{_TOKENIZE}')""",
    f"""CREATE TRIGGER incidents_fts_ai AFTER INSERT ON incidents BEGIN
            INSERT INTO incidents_fts(rowid, summary, victims, actors) VALUES ({_INCIDENT_FTS_VALUES});
       END""",
    """CREATE TRIGGER incidents_fts_ad AFTER DELETE ON incidents BEGIN
            DELETE FROM incidents_fts WHERE rowid = old.seq;
       END""",
    f"""CREATE TRIGGER incidents_fts_au AFTER UPDATE OF summary, doc ON incidents BEGIN
            DELETE FROM incidents_fts WHERE rowid = old.seq;
            INSERT INTO incidents_fts(rowid, summary, victims, actors) VALUES ({_INCIDENT_FTS_VALUES});
       END""",
]


def _sqlite_fts_up() -> None:
    for stmt in _SQLITE_FTS:
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("incidents_fts_au", "incidents_fts_ad", "incidents_fts_ai",
                     "articles_fts_au", "articles_fts_ad", "articles_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS incidents_fts")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    for table in ("store_meta", "failures", "incident_attack_types", "incident_victims", "incident_actors",
                  "incident_articles", "incidents", "article_bands", "articles"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":  # after the tables whose columns use it
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS incidex")
        op.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS incidex_stem")
