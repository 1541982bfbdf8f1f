"""Full-text search, the one place where SQL dialects really differ.

``SqliteText`` uses the FTS5 tables created by the migration; a PostgreSQL
variant (``PostgresText``) will implement the same two methods over tsvector
columns. The rest of the store only calls ``match_articles`` /
``match_incidents`` and never writes dialect-specific SQL itself.

User queries are never passed to FTS5 as syntax: ``to_fts5_query`` turns them
into quoted terms, so ``"``, ``*``, ``-``, ``:``, parentheses or the words
AND/OR/NOT/NEAR cannot raise a syntax error or change the meaning.
"""
from __future__ import annotations

import re
from typing import Protocol

import sqlalchemy as sa

from incidex.records import IncidexError

_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_WORDCHAR = re.compile(r"\w", re.UNICODE)


def to_fts5_query(query: str) -> str | None:
    """A safe FTS5 query for free text: every term quoted, all terms required.

    * ``"exact phrase"`` in the input stays a phrase;
    * a bare term ending in ``*`` is a prefix search (``ransom*``);
    * everything else (operators, punctuation, column filters) is literal text;
      FTS5's tokenizer then drops the punctuation inside the quotes.

    Returns None when nothing searchable is left (e.g. ``"***"``).
    """
    parts: list[str] = []
    for m in _TOKEN.finditer(query):
        phrase, bare = m.group(1), m.group(2)
        text = phrase if phrase is not None else bare
        prefix = bare is not None and bare.endswith("*")
        text = text.rstrip("*") if prefix else text
        if not _WORDCHAR.search(text):
            continue
        quoted = '"' + text.replace('"', '""') + '"'
        parts.append(quoted + "*" if prefix else quoted)
    return " ".join(parts) if parts else None


class TextSearch(Protocol):
    """Dialect strategy: restrict a SELECT over a table to rows matching ``query``."""

    def match_articles(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None: ...

    def match_incidents(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None: ...


class SqliteText:
    """FTS5: join the virtual table on rowid = seq, order by bm25 relevance."""

    def _match(self, fts: str, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        q = to_fts5_query(query)
        if q is None:
            return None
        table = sa.table(fts, sa.column("rowid"))
        return (stmt.join(table, table.c.rowid == seq_col)
                .where(sa.literal_column(fts).op("MATCH")(q))
                .order_by(None)
                .order_by(sa.func.bm25(sa.literal_column(fts)), seq_col.desc()))

    def match_articles(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        return self._match("articles_fts", stmt, seq_col, query)

    def match_incidents(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        return self._match("incidents_fts", stmt, seq_col, query)


class PostgresText:  # pragma: no cover - placeholder
    """PostgreSQL: ``search @@ websearch_to_tsquery('english', :q)`` ordered by ts_rank.

    To be written together with the tsvector columns in the migration (see
    ``migrations/versions/0001_initial.py``). ``websearch_to_tsquery`` never
    raises on user input, so no escaping is needed there.
    """

    def match_articles(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        raise IncidexError("full-text search on PostgreSQL is not supported yet")

    def match_incidents(self, stmt: sa.Select, seq_col: sa.ColumnElement, query: str) -> sa.Select | None:
        raise IncidexError("full-text search on PostgreSQL is not supported yet")


def for_dialect(name: str) -> TextSearch:
    if name == "sqlite":
        return SqliteText()
    if name == "postgresql":
        return PostgresText()
    raise IncidexError(f"database dialect {name!r} is not supported (use SQLite)")
