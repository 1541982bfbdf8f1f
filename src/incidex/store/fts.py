"""Full-text search, the one place where SQL dialects really differ.

``SqliteText`` uses the FTS5 tables created by the migration; ``PostgresText``
the generated ``search`` tsvector columns (GIN-indexed) of ``articles`` and
``incidents``. The rest of the store only calls ``match_articles`` /
``match_incidents`` / ``match_victim_words`` and never writes dialect-specific
SQL itself.

Both read a query the same way: every term is required, ``"a phrase"`` is a
phrase, a bare ``term*`` is a prefix, and everything else (operators,
punctuation, column filters) is literal text. User queries are never passed
to FTS5 or ``to_tsquery`` as syntax, so ``"``, ``*``, ``-``, ``:``,
parentheses or the words AND/OR/NOT/NEAR cannot raise or change the meaning.

Both stem English words (FTS5's porter tokenizer; PostgreSQL's ``incidex`` text
search configuration, the English snowball stemmer *without* a stop-word
list, so "not" or "it's" stay searchable words as they are in FTS5). FTS5 also
folds diacritics; PostgreSQL does not (``unaccent`` is an extension).
"""
from __future__ import annotations

import re
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR as _TSVECTOR

from incidex.records import IncidexError

_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_WORDCHAR = re.compile(r"\w", re.UNICODE)
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)  # what may go into to_tsquery text: letters and digits only

TS_CONFIG = "incidex"  # created by the migration: English stemming, no stop words


def query_terms(query: str) -> list[tuple[str, bool]]:
    """``(text, prefix)`` per searchable term of a free-text query (phrases kept whole).

    A NUL separates terms like a space: inside FTS5's query parser it would end the
    string ("unterminated string") and PostgreSQL refuses it in any text.
    """
    terms: list[tuple[str, bool]] = []
    for m in _TOKEN.finditer(query.replace("\x00", " ")):
        phrase, bare = m.group(1), m.group(2)
        text = phrase if phrase is not None else bare
        prefix = bare is not None and bare.endswith("*")
        text = text.rstrip("*") if prefix else text
        if _WORDCHAR.search(text):
            terms.append((text, prefix))
    return terms


def to_fts5_query(query: str) -> str | None:
    """A safe FTS5 query for free text: every term quoted, all terms required.

    * ``"exact phrase"`` in the input stays a phrase;
    * a bare term ending in ``*`` is a prefix search (``ransom*``);
    * everything else (operators, punctuation, column filters) is literal text;
      FTS5's tokenizer then drops the punctuation inside the quotes.

    Returns None when nothing searchable is left (e.g. ``"***"``).
    """
    parts = []
    for text, prefix in query_terms(query):
        quoted = '"' + text.replace('"', '""') + '"'
        parts.append(quoted + "*" if prefix else quoted)
    return " ".join(parts) if parts else None


class TextSearch(Protocol):
    """Dialect strategy: restrict a SELECT over a table to rows matching ``query``."""

    def match_articles(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None: ...

    def match_incidents(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None: ...

    def match_victim_words(self, words: list[str], limit: int) -> sa.Select | None:
        """Ids of incidents naming a victim with any of ``words``, best first (resolution candidates)."""
        ...

    def match_incident_seqs(self, query: str) -> sa.Select | None:
        """A SELECT of the ``seq`` of every incident matching ``query`` (unordered), None if nothing searchable."""
        ...


class SqliteText:
    """FTS5: join the virtual table on rowid = seq, order by bm25 relevance."""

    def _match(self, fts: str, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        q = to_fts5_query(query)
        return None if q is None else self._match_fts5(fts, stmt, seq_col, q)

    @staticmethod
    def _match_fts5(fts: str, stmt: sa.Select, seq_col: sa.ColumnElement, q: str) -> sa.Select:
        table = sa.table(fts, sa.column("rowid"))
        return (stmt.join(table, table.c.rowid == seq_col)
                .where(sa.literal_column(fts).op("MATCH")(q))
                .order_by(None)
                .order_by(sa.func.bm25(sa.literal_column(fts)), seq_col.desc()))

    def match_articles(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        return self._match("articles_fts", stmt, seq_col, query)

    def match_incidents(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        return self._match("incidents_fts", stmt, seq_col, query)

    def match_victim_words(self, words: list[str], limit: int) -> sa.Select | None:
        from incidex.store.tables import incidents

        if not words:
            return None
        q = "victims : (" + " OR ".join('"' + t.replace('"', '""') + '"' for t in words) + ")"
        return self._match_fts5("incidents_fts", sa.select(incidents.c.id), incidents.c.seq, q).limit(limit)

    def match_incident_seqs(self, query: str) -> sa.Select | None:
        q = to_fts5_query(query)
        if q is None:
            return None
        table = sa.table("incidents_fts", sa.column("rowid"))
        return sa.select(table.c.rowid).where(sa.literal_column("incidents_fts").op("MATCH")(q))


class PostgresText:
    """PostgreSQL: ``search @@ tsquery`` over the generated, GIN-indexed tsvector columns, by ts_rank.

    The tsquery is built from the terms, never parsed from user text:
    ``plainto_tsquery`` for a word, ``phraseto_tsquery`` for a phrase (neither
    can raise on any input), and ``to_tsquery`` only over letters and digits
    for a prefix (``word:*``). Terms are ANDed. In ``incidents.search`` the
    summary has weight A, victim names B and actor names and aliases C, so
    ``match_victim_words`` can look at victims only (``word:B``).
    """

    def _tsquery(self, query: str) -> sa.ColumnElement | None:
        parts: list[sa.ColumnElement] = []
        for text, prefix in query_terms(query):
            words = _WORDS.findall(text)
            if prefix and words:
                parts.append(sa.func.to_tsquery(TS_CONFIG, " <-> ".join(words) + ":*"))
            elif " " in text.strip():
                parts.append(sa.func.phraseto_tsquery(TS_CONFIG, text))
            else:
                parts.append(sa.func.plainto_tsquery(TS_CONFIG, text))
        if not parts:
            return None
        q = parts[0]
        for p in parts[1:]:
            q = q.op("&&")(p)
        return q

    def _match(self, table: sa.Table, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        q = self._tsquery(query)
        if q is None:
            return None
        search = _search(table)
        return (stmt.where(search.op("@@")(q))
                .order_by(None)
                .order_by(sa.func.ts_rank(search, q).desc(), seq_col.desc()))

    def match_articles(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        from incidex.store.tables import articles

        return self._match(articles, stmt, seq_col, query)

    def match_incidents(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        from incidex.store.tables import incidents

        return self._match(incidents, stmt, seq_col, query)

    def match_victim_words(self, words: list[str], limit: int) -> sa.Select | None:
        from incidex.store.tables import incidents

        alts = [" <-> ".join(w + ":B" for w in parts) for parts in (_WORDS.findall(t) for t in words) if parts]
        if not alts:
            return None
        q = sa.func.to_tsquery(TS_CONFIG, " | ".join(alts))
        search = _search(incidents)
        return (sa.select(incidents.c.id).where(search.op("@@")(q))
                .order_by(sa.func.ts_rank(search, q).desc(), incidents.c.seq.desc()).limit(limit))

    def match_incident_seqs(self, query: str) -> sa.Select | None:
        from incidex.store.tables import incidents

        q = self._tsquery(query)
        return None if q is None else sa.select(incidents.c.seq).where(_search(incidents).op("@@")(q))


def _search(table: sa.Table) -> sa.ColumnElement:
    # the generated tsvector column is not part of ``tables.metadata`` (SQLite has none)
    return sa.literal_column(f"{table.name}.search", _TSVECTOR)


def for_dialect(name: str) -> TextSearch:
    if name == "sqlite":
        return SqliteText()
    if name == "postgresql":
        return PostgresText()
    raise IncidexError(f"database dialect {name!r} is not supported (use SQLite or PostgreSQL)")
