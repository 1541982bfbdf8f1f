"""The ``Store`` interface: everything the pipeline, API and exports persist.

One small protocol so the backend (SQLite or PostgreSQL) can change
without touching callers. Records in and out are ``incidex.records`` types.

Transactions: every method runs in its own transaction unless called inside
``with store.transaction():``, in which case all of them commit or roll back
together. The ingest loop wraps one article, its dedup verdict and its
incidents in one transaction, so a crash never leaves half an article.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol, Sequence, runtime_checkable

from incidex.records import Article, Incident

Role = Literal["primary", "background", "syndicated"]  # syndicated: a near-duplicate copy of a source
Bands = Sequence[tuple[int, int]]
EntryOutcome = Literal["new", "duplicate", "unchanged", "failed"]


@dataclass
class FeedState:
    """A watched feed's cursor: HTTP validators, schedule, last success and error."""

    url: str
    name: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    consecutive_errors: int = 0
    next_poll_at: datetime | None = None


@dataclass
class EntryMark:
    """What became of one feed entry; ``key`` is stable across polls (see incidex.watch)."""

    key: str
    outcome: EntryOutcome
    article_id: str | None = None
    external_id: str | None = None
    link: str | None = None
    title: str | None = None


@runtime_checkable
class Store(Protocol):
    url: str

    # -- lifecycle -----------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        """All store calls inside the block commit together or not at all.

        Nested blocks are savepoints: an exception inside an inner block rolls
        back only that block (if the outer block catches it).
        """
        ...

    def close(self) -> None:
        """Release connections; the store cannot be used afterwards."""
        ...

    # -- articles ------------------------------------------------------------
    def has_article(self, article_id: str) -> bool:
        """Cheap exact-duplicate check before any cleaning or extraction work."""
        ...

    def find_article_by_external_id(self, external_id: str, source: str | None = None) -> Article | None:
        """Feeds and JSONL exports carry their own ids; re-reading one must not re-ingest."""
        ...

    def add_article(self, article: Article, bands: Bands | None = None) -> bool:
        """Store an article (and its LSH bands); False if that id is already stored.

        Idempotent so a re-run after a crash simply skips what was committed.
        Every stored article gets a signature so later copies can find it: when
        ``article.signature`` is None it is computed (and set on ``article``);
        ``bands`` default to the LSH bands of that signature.
        """
        ...

    def get_article(self, article_id: str) -> Article | None:
        """The full article, raw text and signature included."""
        ...

    def list_articles(self, query: str | None = None, source: str | None = None,
                      since: datetime | date | str | None = None, until: datetime | date | str | None = None,
                      limit: int = 50, offset: int = 0, include_duplicates: bool = True) -> list[Article]:
        """Articles, newest first, or by relevance when ``query`` is given.

        ``query`` is free text (never FTS syntax, so punctuation cannot raise);
        ``since``/``until`` bound ``published_at`` (inclusive). Without ``raw``.
        """
        ...

    def count_articles(self, include_duplicates: bool = True) -> int:
        """For reports and API paging."""
        ...

    def near_duplicate_candidates(self, bands: Bands) -> list[str]:
        """Ids of stored articles sharing at least one LSH band, oldest first.

        An indexed lookup on (band, hash); candidates still need verifying.
        """
        ...

    def near_duplicate_candidates_many(self, bands_list: Sequence[Bands]) -> list[list[tuple[str, int]]]:
        """``near_duplicate_candidates`` for several articles in one lookup, with the
        number of bands each candidate shares: ``(id, shared)`` pairs, most shared
        first, then oldest first (the order ``near_duplicate_candidates`` gives)."""
        ...

    def dedup_info(self, article_ids: Sequence[str]) -> dict[str, tuple[list[int] | None, str | None]]:
        """``id -> (signature, duplicate_of)`` without loading bodies, for verification."""
        ...

    # -- incidents -----------------------------------------------------------
    def add_incident(self, incident: Incident, article_id: str, role: Role | None = None) -> bool:
        """Store an incident and link it to the article it was read from.

        True if the incident is new. An existing id is replaced by the given
        record (resolution merges send the merged record) and gains the link.
        ``role`` defaults from ``incident.background``.
        """
        ...

    def get_incident(self, incident_id: str) -> Incident | None:
        ...

    def list_incidents(self, *, actor: Any = None, victim: Any = None, country: Any = None,
                       sector: Any = None, attack_type: Any = None, outcome: Any = None,
                       since: date | str | None = None, until: date | str | None = None, query: str | None = None,
                       include_background: bool = True, limit: int = 50, offset: int = 0,
                       **negations: Any) -> list[Incident]:
        """Incidents matching every given filter, most recent incident date first.

        The six facet filters (actor, victim, country, sector, attack_type,
        outcome) take a value or a list of values (any of them: OR within a
        field, AND across fields); ``not_<facet>`` (e.g. ``not_attack_type=
        ["ddos"]``) leaves out the incidents having any of its values.
        ``actor``/``victim`` match names case-insensitively (actor also kb_id);
        ``since``/``until`` keep incidents whose date range overlaps the
        interval (undated incidents are left out when either is given).
        """
        ...

    def count_incidents(self) -> int:
        ...

    def list_incidents_since(self, after: datetime | None = None, limit: int = 500,
                             offset: int = 0) -> list[tuple[Incident, datetime]]:
        """``(incident, updated_at)`` for incidents stored or changed after ``after``.

        Oldest change first (ties in storage order), so a reader can resume from
        the last ``updated_at`` it saw; ``after`` is exclusive, None means all.
        Timestamps are timezone-aware UTC. For feeds (TAXII ``added_after``).
        """
        ...

    def incident_times(self, incident_ids: Sequence[str]) -> dict[str, tuple[datetime, datetime]]:
        """``id -> (created_at, updated_at)`` (aware UTC) for the stored ones among ``incident_ids``."""
        ...

    def incidents_for_article(self, article_id: str) -> list[Incident]:
        """What one article reported, for the article view and re-extraction."""
        ...

    def articles_for_incident(self, incident_id: str) -> list[tuple[str, Role]]:
        """``(article_id, role)`` sources of an incident, in link order."""
        ...

    # -- reporting -----------------------------------------------------------
    def record_failure(self, origin: str, reason: str, stage: str | None = None) -> None:
        """Keep an unreadable or rejected input for the run report; the batch goes on."""
        ...

    def list_failures(self, limit: int = 100, offset: int = 0) -> list[dict[str, str | None]]:
        ...

    # -- feed watching -------------------------------------------------------
    def get_feed_state(self, url: str) -> FeedState | None:
        ...

    def save_feed_state(self, state: FeedState) -> None:
        """Insert or replace the feed's row (timestamps aware UTC)."""
        ...

    def seen_entries(self, feed_url: str, keys: Sequence[str]) -> dict[str, tuple[EntryOutcome, int]]:
        """``key -> (outcome, attempts)`` for the entries of ``keys`` already recorded for the feed."""
        ...

    def mark_entries(self, feed_url: str, marks: Sequence[EntryMark]) -> None:
        """Record entries as handled (idempotent: a mark again replaces the outcome).

        A ``failed`` mark of an entry already failed counts one more attempt.
        Called inside the transaction that stores the entries' articles.
        """
        ...

    def watch_status(self) -> list[dict[str, Any]]:
        """Per feed: its state plus ``items_seen``, ``articles``, ``failed_items``, ``incidents_found``."""
        ...

    # -- REST API and web UI (incidex.store.api_sql) -----------------------------
    def list_incident_docs(self, *, query: str | None = None, limit: int = 50, offset: int = 0,
                           **filters: object) -> list[dict]:
        """``list_incidents`` as stored documents (``Incident.to_dict()``), for listings that serialise them."""
        ...

    def incident_page_docs(self, *, query: str | None = None, limit: int = 50, offset: int = 0,
                           count_cap: int | None = None, **filters: object) -> tuple[list[dict], int | None]:
        """A page of ``list_incident_docs`` and, with ``count_cap``, the capped count of all matches."""
        ...

    def count_incidents_matching(self, *, query: str | None = None, cap: int | None = None, **filters: object) -> int:
        """How many incidents ``list_incidents(query=query, **filters)`` pages through (at most ``cap``)."""
        ...

    def incident_counts(self, group_by: str | Sequence[str], *, top: int | None = None, query: str | None = None,
                        **filters: object) -> list[tuple]:
        """``(key, ..., count)`` of matching incidents grouped by month, year, outcome, attribution,
        type, country, sector or actor (several for a cross table), largest count first."""
        ...

    def incidents_version(self) -> tuple[int, datetime | None, int]:
        """``(highest seq, latest updated_at, last deletion)`` of the incidents: a cache key that changes
        with them."""
        ...

    def warm_counts(self) -> dict | None:
        """Build what the counts above read (the facet index) before the first request needs it."""
        ...

    def sources_for_incidents(self, incident_ids: Sequence[str]) -> dict[str, list[dict]]:
        """The source articles (role and header fields) of many incidents in one go."""
        ...

    def list_actors(self, query: str | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
        """Attackers aggregated over incidents (id, name, names, aliases, state link, counts, first/last date)."""
        ...

    def get_actor(self, actor_id: str) -> dict | None:
        """One actor by the id ``list_actors`` gives, a kb id or a name."""
        ...

    def actor_label(self, actor_id: str) -> str | None:
        """The name ``get_actor`` gives an actor, without reading its incidents (for labels)."""
        ...

    def list_victims(self, query: str | None = None, country: str | None = None, sector: str | None = None,
                     limit: int = 50, offset: int = 0) -> list[dict]:
        """Victims aggregated over incidents (name, country, sector, counts, first/last date)."""
        ...

    def get_victim(self, name: str, country: str | None = None) -> dict | None:
        """One victim by name (in ``country`` when given): countries, sectors, counts, first/last date
        and the names the news used for it; None when no incident names it."""
        ...

    def list_terms(self, kind: str, query: str | None = None, limit: int = 50, offset: int = 0) -> list[dict]:
        """Techniques, malware or CVEs (``kind``: technique, malware, cve) over all incidents, most first."""
        ...

    def get_term(self, kind: str, value: str) -> dict | None:
        """One technique, malware or CVE (any case), as ``list_terms`` gives it, or None."""
        ...

    def add_api_key(self, name: str, key_hash: str, prefix: str) -> int:
        """Store the hash of a new API key (never the key); returns its id."""
        ...

    def api_key_by_hash(self, key_hash: str) -> dict | None:
        """The active key with this hash (id, name, prefix, times), or None."""
        ...

    def touch_api_key(self, key_id: int) -> None:
        ...

    def list_api_keys(self, include_revoked: bool = False) -> list[dict]:
        ...

    def revoke_api_key(self, key: int | str) -> int:
        """Revoke by id or name; the number of keys revoked."""
        ...
