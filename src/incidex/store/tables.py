"""The relational schema as SQLAlchemy Core tables, used to build queries.

The database itself is created and upgraded by the Alembic migrations in
``migrations/versions``; ``tests/test_store.py`` checks that the migrated
database and these definitions agree, so a schema change needs both a new
revision and an edit here.

Design notes (the schema serves dedup, resolution, the REST API and exports):

* ``articles.id`` is the logical key (hash of the normalized body) and what
  every foreign key references; ``seq`` is an INTEGER PRIMARY KEY because
  SQLite full-text tables link to the rowid, and only an INTEGER PRIMARY KEY
  keeps rowids stable across VACUUM. ``seq`` also gives insertion order
  ("the first stored copy"). ``incidents`` follow the same pattern.
* Values users filter on are flattened out of the JSON documents into indexed
  columns or child tables (actors, victims, attack types; techniques, malware and CVEs); the full record is
  kept verbatim in ``incidents.doc`` so nothing is lost by flattening.
* Names are matched through ``name_key`` (casefolded, whitespace collapsed)
  so filters are case-insensitive and still use an index.
* Timestamps are timezone-aware UTC; ``published`` keeps the text as found,
  ``published_at`` its parsed UTC instant for range filters.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

# SQLite only aliases the rowid for a column declared exactly INTEGER.
SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)

articles = sa.Table(
    "articles", metadata,
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
    sa.Column("duplicate_of", sa.String(64), sa.ForeignKey("articles.id", ondelete="SET NULL")),
    sa.Column("removed", JsonType),
    sa.UniqueConstraint("id", name="uq_articles_id"),
    sa.Index("ix_articles_url", "url"),
    sa.Index("ix_articles_source", "source"),
    sa.Index("ix_articles_published_at", "published_at"),
    sa.Index("ix_articles_external_id", "external_id"),
    sa.Index("ix_articles_duplicate_of", "duplicate_of"),
)

article_bands = sa.Table(
    "article_bands", metadata,
    sa.Column("band", sa.SmallInteger, primary_key=True),
    sa.Column("hash", sa.BigInteger, primary_key=True),
    sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_article_bands_article_id", "article_id"),
)

incidents = sa.Table(
    "incidents", metadata,
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
    sa.Index("ix_incidents_date_from", "date_from"),
    sa.Index("ix_incidents_order", "date_to", "date_from", "id"),  # listing order, covering (0003)
    sa.Index("ix_incidents_outcome", "outcome"),
    sa.Index("ix_incidents_attribution_status", "attribution_status"),
    sa.Index("ix_incidents_updated_at", "updated_at"),
)

incident_articles = sa.Table(
    "incident_articles", metadata,
    sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.CheckConstraint("role IN ('primary', 'background', 'syndicated')", name="ck_incident_articles_role"),
    sa.Index("ix_incident_articles_article_id", "article_id"),
)

incident_actors = sa.Table(
    "incident_actors", metadata,
    sa.Column("id", SeqType, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_key", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16)),
    sa.Column("kb_id", sa.Text),
    sa.Column("state_link", sa.Text),
    sa.Index("ix_incident_actors_incident_id", "incident_id"),
    sa.Index("ix_incident_actors_name_key", "name_key", "incident_id"),
    sa.Index("ix_incident_actors_kb_id", "kb_id", "incident_id"),
    sa.Index("ix_incident_actors_kb_name", "kb_id", "name"),  # actor labels (0008)
    sa.Index("ix_incident_actors_state_link", "state_link"),
)

incident_victims = sa.Table(
    "incident_victims", metadata,
    sa.Column("id", SeqType, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_key", sa.Text, nullable=False),
    sa.Column("country", sa.Text),
    sa.Column("country_key", sa.Text),
    sa.Column("sector", sa.String(32)),
    sa.Index("ix_incident_victims_incident_id", "incident_id"),
    sa.Index("ix_incident_victims_name_key", "name_key", "incident_id"),
    sa.Index("ix_incident_victims_country_key", "country_key", "incident_id"),
    sa.Index("ix_incident_victims_sector", "sector", "incident_id"),
)

incident_attack_types = sa.Table(
    "incident_attack_types", metadata,
    sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("attack_type", sa.String(32), primary_key=True),
    sa.Index("ix_incident_attack_types_attack_type", "attack_type", "incident_id"),
)

incident_terms = sa.Table(  # migration 0007: techniques, malware and CVEs, for pivot pages
    "incident_terms", metadata,
    sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("term_key", sa.String(200), primary_key=True),
    sa.Column("term", sa.String(200), nullable=False),
    sa.Index("ix_incident_terms_kind_key", "kind", "term_key", "incident_id"),
)

incident_deletions = sa.Table(  # migration 0008: filled by a trigger on incidents, read by the facet index
    "incident_deletions", metadata,
    sa.Column("id", SeqType, primary_key=True, autoincrement=True),
    sa.Column("incident_seq", sa.BigInteger, nullable=False),
)

failures = sa.Table(
    "failures", metadata,
    sa.Column("id", SeqType, primary_key=True, autoincrement=True),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("stage", sa.String(16)),
    sa.Column("at", Timestamp, nullable=False),
    sa.Index("ix_failures_at", "at"),
)

store_meta = sa.Table(
    "store_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Full-text tables are dialect-specific and are not part of ``metadata``:
# SQLite: FTS5 virtual tables ``articles_fts`` and ``incidents_fts`` (created
# by the migration, kept in sync by triggers); PostgreSQL: generated tsvector
# columns ``articles.search`` and ``incidents.search`` with GIN indexes (see
# migration 0001). Schema comparisons leave both out.
FTS_TABLES = ("articles_fts", "incidents_fts")
FTS_COLUMNS = ("search",)
FTS_INDEXES = ("ix_articles_search", "ix_incidents_search")

# -- cross-article resolution (migration 0002) ------------------------------------

incident_mentions = sa.Table(
    "incident_mentions", metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("doc", JsonType, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_incident_mentions_incident_id", "incident_id"),
    sa.Index("ix_incident_mentions_article_id", "article_id"),
)

resolution_decisions = sa.Table(
    "resolution_decisions", metadata,
    sa.Column("id", SeqType, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(80), nullable=False),
    sa.Column("target", sa.String(80)),
    sa.Column("note", sa.Text),
    sa.Column("at", Timestamp, nullable=False),
    sa.CheckConstraint("kind IN ('pin', 'apart', 'alias', 'unalias')", name="ck_resolution_decisions_kind"),
    sa.Index("ix_resolution_decisions_subject", "subject"),
)

entities = sa.Table(
    "entities", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("country", sa.String(8)),
    sa.Column("created_at", Timestamp, nullable=False),
)

entity_aliases = sa.Table(
    "entity_aliases", metadata,
    sa.Column("entity_id", sa.String(40), sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    sa.Column("alias", sa.Text, nullable=False),
    sa.Column("alias_key", sa.Text, nullable=False),
    sa.Column("country_key", sa.String(8), nullable=False, server_default=""),
    sa.PrimaryKeyConstraint("alias", "country_key", name="pk_entity_aliases"),
    sa.Index("ix_entity_aliases_entity_id", "entity_id"),
    sa.Index("ix_entity_aliases_alias_key", "alias_key", "country_key"),
)

# -- feed watching (migration 0005) ---------------------------------------------------
# One row per watched feed (its HTTP validators, schedule and last outcome) and one per
# feed entry handled; an entry row commits in the transaction that stores its article.

watch_feeds = sa.Table(
    "watch_feeds", metadata,
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

watch_entries = sa.Table(
    "watch_entries", metadata,
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
    sa.CheckConstraint("outcome IN ('new', 'duplicate', 'unchanged', 'failed')", name="ck_watch_entries_outcome"),
    sa.Index("ix_watch_entries_article_id", "article_id"),
)

# -- REST API (migration 0003) ------------------------------------------------------

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", SeqType, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),      # the key's first characters, to recognise it
    sa.Column("key_hash", sa.String(64), nullable=False),    # sha256 hex of the whole key; the key is not stored
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp),
    sa.Column("revoked_at", Timestamp),
    sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
)

# -- alerts (migration 0006) ---------------------------------------------------------
# A saved search (store filters as JSON) with an optional webhook, and one row per
# delivery attempt; an incident counts as delivered to an alert once an attempt succeeded.

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("filters", JsonType, nullable=False),
    sa.Column("webhook_url", sa.Text),
    sa.Column("secret", sa.Text),            # HMAC key of the webhook's signature header
    sa.Column("created_at", Timestamp, nullable=False),
)

alert_deliveries = sa.Table(
    "alert_deliveries", metadata,
    sa.Column("id", SeqType, primary_key=True, autoincrement=True),
    sa.Column("alert_name", sa.String(64), sa.ForeignKey("alerts.name", ondelete="CASCADE"), nullable=False),
    sa.Column("incident_id", sa.String(64)),  # None for a test delivery
    sa.Column("delivery_id", sa.String(36), nullable=False),  # one per payload, the same on each retry
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("at", Timestamp, nullable=False),
    sa.Index("ix_alert_deliveries_alert_incident", "alert_name", "incident_id"),
)
