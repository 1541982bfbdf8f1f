"""The store on a real SQLite file and a real PostgreSQL database: schema, idempotence,
search, filters, atomicity, crash safety, concurrent writers.

Tests taking the ``store`` / ``db_url`` fixtures (tests/conftest.py) run once per
backend; the ``sqlite_*`` ones check what only SQLite has (pragmas, FTS5).
All article and incident texts here are invented for the tests.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import socket
import time
from datetime import date, datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from incidex.records import (
    Actor, Article, Attribution, DateValue, Evidence, IncidexError, Incident, Victim,
)
from incidex.store import Store, open_store, resolve_url
from incidex.store import codec
from incidex.store.fts import to_fts5_query
from incidex.store.tables import FTS_COLUMNS, FTS_INDEXES, FTS_TABLES, metadata
from incidex.settings import load_settings


@pytest.fixture()
def db_path(tmp_path):
    return tmp_path / "store.db"


@pytest.fixture()
def sqlite_store(db_path):
    s = open_store(db_path)
    yield s
    s.close()


def scalar(store, sql: str):
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


def is_sqlite(store) -> bool:
    return store.engine.dialect.name == "sqlite"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def art(aid: str, body: str | None = None, **kw) -> Article:
    body = body or (f"Article {aid}: a made-up report about an intrusion at an imaginary shipping firm "
                    f"called Northwind Freight, written only for the {aid} store test.")
    return Article(id=aid, body=body, **kw)


def incident(iid: str, **kw) -> Incident:
    return Incident(id=iid, **kw)


# -- schema and opening -----------------------------------------------------------------

EXPECTED_TABLES = {
    "articles", "articles_fts", "article_bands", "incidents", "incident_articles", "incident_actors",
    "incident_victims", "incident_attack_types", "incidents_fts", "failures", "store_meta", "alembic_version",
    "incident_mentions", "resolution_decisions", "entities", "entity_aliases", "watch_feeds", "watch_entries", "api_keys", "alerts", "alert_deliveries", "incident_terms",
}


def test_sqlite_migrations_create_the_schema(sqlite_store, db_path):
    con = sqlite3.connect(db_path)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    assert EXPECTED_TABLES <= names
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [("0008",)]
    triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"articles_fts_ai", "articles_fts_ad", "articles_fts_au", "incidents_fts_ai"} <= triggers
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    for ix in ("ix_articles_url", "ix_articles_source", "ix_articles_published_at", "ix_articles_external_id",
               "ix_incident_actors_name_key", "ix_incident_victims_country_key", "ix_incident_victims_sector",
               "ix_incident_attack_types_attack_type", "ix_incidents_outcome", "ix_incidents_date_from"):
        assert ix in indexes
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_sqlite_connections_use_the_pragmas(sqlite_store):
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == load_settings()["store"]["busy_timeout_ms"]
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_tables_module_matches_the_migrations(store):
    def include(obj, name, type_, reflected, compare_to):
        if type_ == "table":
            return not (name == "alembic_version" or str(name).startswith(FTS_TABLES))
        return not ((type_ == "column" and name in FTS_COLUMNS) or (type_ == "index" and name in FTS_INDEXES))

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        assert compare_metadata(ctx, metadata) == []


def test_open_store_is_idempotent_and_keeps_data(db_url, backend):
    with open_store(db_url) as s:
        s.add_article(art("keep"))
    with open_store(f"sqlite:///{db_url}" if backend == "sqlite" else db_url) as s:
        assert s.has_article("keep")
        assert isinstance(s, Store)


def test_default_url_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDEX_DB", str(tmp_path / "env.db"))
    assert resolve_url().database == str(tmp_path / "env.db")
    monkeypatch.delenv("INCIDEX_DB")
    monkeypatch.chdir(tmp_path)
    assert resolve_url().database == str(tmp_path / "incidex.db")
    assert resolve_url("sqlite:///rel.db").database == "rel.db"


def test_unsupported_urls_and_bad_files_are_incidex_errors(tmp_path):
    port = free_port()  # nothing listens there
    for url in (f"postgresql://user:secret@127.0.0.1:{port}/incidex", f"postgres://user:secret@127.0.0.1:{port}/x",
                f"postgresql+psycopg://user:secret@127.0.0.1:{port}/incidex"):
        with pytest.raises(IncidexError, match="cannot open database") as e:
            open_store(url)
        assert "secret" not in str(e.value)
    with pytest.raises(IncidexError, match="unsupported database"):
        open_store("mysql://127.0.0.1/incidex")
    bogus = tmp_path / "not-a-db.db"
    bogus.write_bytes(b"this is certainly not an sqlite file" * 100)
    with pytest.raises(IncidexError, match="cannot open database"):
        open_store(bogus)


def test_in_memory_store_works():
    with open_store(":memory:") as s:
        assert s.add_article(art("mem"))
        assert s.count_articles() == 1


# -- articles ------------------------------------------------------------------------

def test_add_article_is_idempotent_and_round_trips(store):
    a = art("a1", url="https://news.example/a1", source="example-news", title="Freight firm breached",
            author="R. Writer", published="2024-03-05T10:00:00+02:00", language="en", external_id="ext-1",
            origin="feed.xml#3", raw="<p>raw</p>", raw_kind="html", fetched_at="2024-03-05T09:00:00Z",
            ingested_at="2024-03-06T00:00:00Z", removed=["newsletter box"])
    assert store.add_article(a) is True
    assert store.add_article(a) is False
    assert store.count_articles() == 1
    got = store.get_article("a1")
    assert got is not None
    assert got.signature is not None and len(got.signature) == 128
    assert got == a  # add_article filled in a.signature; everything else round-trips
    assert store.get_article("missing") is None
    assert store.find_article_by_external_id("ext-1").id == "a1"
    assert store.find_article_by_external_id("ext-1", source="other") is None
    published_at = scalar(store, "SELECT published_at FROM articles")
    if is_sqlite(store):  # UTC wall time as text, so text order is time order
        assert published_at.startswith("2024-03-05 08:00:00")
    else:
        assert published_at == datetime(2024, 3, 5, 8, tzinfo=timezone.utc)
    assert scalar(store, "SELECT count(*) FROM article_bands WHERE article_id = 'a1'") == 25


def test_duplicate_of_must_reference_a_stored_article(store):
    with pytest.raises(IncidexError, match="not stored"):
        store.add_article(art("orphan", duplicate_of="nowhere"))
    assert store.count_articles() == 0


def test_list_articles_filters_and_paging(store):
    store.add_article(art("old", source="a", published="2023-12-31T23:30:00-02:00"))  # 2024-01-01 01:30 UTC
    store.add_article(art("mid", source="b", published="2024-02-10"))
    store.add_article(art("new", source="a", published="March 3, 2024"))
    store.add_article(art("undated", source="a"))
    store.add_article(art("copy", source="b", published="2024-02-11", duplicate_of="mid"))
    ids = lambda xs: [x.id for x in xs]  # noqa: E731
    assert ids(store.list_articles()) == ["new", "copy", "mid", "old", "undated"]
    assert ids(store.list_articles(source="a")) == ["new", "old", "undated"]
    assert ids(store.list_articles(since="2024-01-01")) == ["new", "copy", "mid", "old"]
    assert ids(store.list_articles(since="2024-02", until="2024-02")) == ["copy", "mid"]
    assert ids(store.list_articles(until=date(2024, 1, 1))) == ["old"]
    assert ids(store.list_articles(since=datetime(2024, 2, 10, 12, tzinfo=timezone.utc))) == ["new", "copy"]
    assert ids(store.list_articles(include_duplicates=False)) == ["new", "mid", "old", "undated"]
    assert ids(store.list_articles(limit=2, offset=1)) == ["copy", "mid"]
    assert store.count_articles(include_duplicates=False) == 4
    assert all(a.raw is None for a in store.list_articles())
    with pytest.raises(IncidexError, match="not a date"):
        store.list_articles(since="last tuesday-ish")


def test_full_text_search(store):
    store.add_article(art("s1", "Hackers encrypted the servers of Northwind Freight and demanded payment.",
                          title="Ransomware at Northwind"))
    store.add_article(art("s2", "A phishing campaign impersonated the tax office of Eastmarch.",
                          title="Phishing wave"))
    assert [a.id for a in store.list_articles(query="northwind")] == ["s1"]
    assert [a.id for a in store.list_articles(query="ransom*")] == ["s1"]
    assert [a.id for a in store.list_articles(query="encrypting")] == ["s1"]  # porter stemming
    assert [a.id for a in store.list_articles(query='"tax office"')] == ["s2"]
    assert store.list_articles(query='"office tax"') == []
    assert [a.id for a in store.list_articles(query="PHISHING eastmarch")] == ["s2"]
    assert store.list_articles(query="phishing northwind") == []


ODD_QUERIES = ['"', '""', '*', '-', '--', 'AND', 'OR', 'NOT', 'AND OR NOT', 'NEAR(', 'NEAR(a b, 2)', '(', ')',
               'title:', 'title:northwind', 'body:"x', '^start', 'a"b"c', "it's", '\\', '+', '-northwind',
               'north* *wind', '***', 'CVE-2024-0001', 'ransom-ware', '{a b}', ':', 'ü', '%', "'; DROP TABLE x;--"]


@pytest.mark.parametrize("q", ODD_QUERIES)
def test_search_with_odd_punctuation_never_raises(store, q):
    store.add_article(art("p1", "Northwind Freight said CVE-2024-0001 was used; it's a ransom-ware case."))
    result = store.list_articles(query=q)
    assert isinstance(result, list)
    assert isinstance(store.list_incidents(query=q), list)


def test_punctuated_terms_still_match(store):
    store.add_article(art("p1", "Northwind Freight said CVE-2024-0001 was used; it's a ransom-ware case."))
    # Operators and column filters are literal words; punctuation is dropped by the tokenizer.
    for q in ("CVE-2024-0001", "-northwind", "(northwind)", "north*", "ransom-ware", "it's", "freight: said"):
        assert [a.id for a in store.list_articles(query=q)] == ["p1"], q
    assert store.list_articles(query="***") == []
    assert store.list_articles(query="NOT northwind") == []  # "not" is a required word here, not an operator


def test_fts5_query_translation():
    assert to_fts5_query('ransom* "tax office" AND') == '"ransom"* "tax office" "AND"'
    assert to_fts5_query('say "hi') == '"say" "hi"'
    assert to_fts5_query('a"b') == '"a""b"'
    assert to_fts5_query("*** - ()") is None


def test_fts_index_follows_updates_and_deletes(store):
    store.add_article(art("u1", "The shipping company Northwind Freight reported a breach."))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE articles SET body = 'A bakery in Eastmarch lost its website.' WHERE id='u1'")
    assert store.list_articles(query="northwind") == []
    assert [a.id for a in store.list_articles(query="bakery")] == ["u1"]
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM articles WHERE id='u1'")
        if is_sqlite(store):
            conn.exec_driver_sql("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
        assert conn.exec_driver_sql("SELECT count(*) FROM article_bands").scalar() == 0  # cascaded
    assert store.list_articles(query="bakery") == []


def test_near_duplicate_lookup_is_an_indexed_query(store):
    from incidex.resolve.duplicates import bands, signature

    a = art("n1")
    store.add_article(a)
    assert store.near_duplicate_candidates(bands(signature(a.body))) == ["n1"]
    assert store.near_duplicate_candidates([]) == []
    assert store.near_duplicate_candidates([(0, 12345)]) == []
    query = "SELECT article_id FROM article_bands WHERE (band = 0 AND hash = 1) OR (band = 1 AND hash = 2)"
    with store.engine.connect() as conn:
        if is_sqlite(store):
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + query))
            assert "SCAN article_bands" not in plan and "USING" in plan, plan
        else:  # a tiny table is scanned whatever the indexes: ask whether an index can serve the query
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + query))
            assert "Seq Scan" not in plan and "Index" in plan, plan


# -- incidents -------------------------------------------------------------------------

def _sample_incidents(store):
    store.add_article(art("ra"))
    store.add_article(art("rb"))
    store.add_incident(incident(
        "i-north", summary="Ransomware crew Glass Heron encrypted Northwind Freight file servers",
        attack_types=["ransomware", "data-breach"], outcome="successful",
        attackers=[Actor(name="Glass Heron", aliases=["GH-17"], kind="group", kb_id="kb:glass-heron")],
        attribution=Attribution(status="claimed", by=["Glass Heron"]),
        victims=[Victim(name="Northwind Freight", country="NL", sector="transport")],
        date=DateValue("2024-03", "month"),
        evidence=[Evidence("victim", 0, 9, "Northwind", article_id="ra")]), "ra")
    store.add_incident(incident(
        "i-east", summary="Phishing against the Eastmarch tax office",
        attack_types=["phishing"], outcome="attempted",
        attackers=[Actor(name="Copper Vole", state_link="XX", kind="group")],
        victims=[Victim(name="Eastmarch Tax Office", country="DE", sector="government"),
                 Victim(name="Westmarch Clinic", country="NL", sector="healthcare")],
        date=DateValue("2024-05-14", "week")), "rb")
    store.add_incident(incident(
        "i-old", summary="An older defacement mentioned for context", attack_types=["defacement"],
        attackers=[Actor(name="glass  HERON")], background=True, date=DateValue("2019", "year")), "rb")
    store.add_incident(incident("i-undated", summary="Undated wiper report", attack_types=["wiper"]), "rb")


def ids(xs):
    return [x.id for x in xs]


def test_incident_round_trip_and_links(store):
    _sample_incidents(store)
    got = store.get_incident("i-north")
    assert got is not None and got.to_dict()["victims"][0]["name"] == "Northwind Freight"
    assert got.evidence[0].article_id == "ra" and got.attribution.status == "claimed"
    assert store.get_incident("nope") is None
    assert ids(store.incidents_for_article("rb")) == ["i-east", "i-old", "i-undated"]
    assert store.articles_for_incident("i-old") == [("rb", "background")]
    assert store.count_incidents() == 4


def test_incident_filters(store):
    _sample_incidents(store)
    assert ids(store.list_incidents()) == ["i-east", "i-north", "i-old", "i-undated"]
    assert ids(store.list_incidents(actor="GLASS heron")) == ["i-north", "i-old"]
    assert ids(store.list_incidents(actor="kb:glass-heron")) == ["i-north"]
    assert ids(store.list_incidents(victim="northwind freight")) == ["i-north"]
    assert ids(store.list_incidents(country="nl")) == ["i-east", "i-north"]
    assert ids(store.list_incidents(country="NL", sector="healthcare")) == ["i-east"]
    assert ids(store.list_incidents(country="DE", sector="healthcare")) == []  # not the same victim
    assert ids(store.list_incidents(sector="Government")) == ["i-east"]
    assert ids(store.list_incidents(attack_type="data-breach")) == ["i-north"]
    assert ids(store.list_incidents(outcome="attempted")) == ["i-east"]
    # Date ranges overlap the filter: month precision covers all of March, the week 13-19 May.
    assert ids(store.list_incidents(since="2024-03-31", until="2024-03-31")) == ["i-north"]
    assert ids(store.list_incidents(since="2024-05-19")) == ["i-east"]
    assert ids(store.list_incidents(since="2024-05-20")) == []
    assert ids(store.list_incidents(until="2020")) == ["i-old"]
    assert ids(store.list_incidents(since=date(2024, 1, 1), until=date(2024, 12, 31))) == ["i-east", "i-north"]
    assert ids(store.list_incidents(query="northwind")) == ["i-north"]
    assert ids(store.list_incidents(query="GH-17")) == ["i-north"]  # actor alias
    assert ids(store.list_incidents(query="westmarch clinic")) == ["i-east"]
    assert ids(store.list_incidents(include_background=False)) == ["i-east", "i-north", "i-undated"]
    assert ids(store.list_incidents(actor="glass heron", attack_type="ransomware", country="NL",
                                    since="2024", query="freight")) == ["i-north"]
    assert ids(store.list_incidents(limit=1, offset=1)) == ["i-north"]


def test_re_adding_an_incident_replaces_it_and_adds_the_link(store):
    _sample_incidents(store)
    merged = store.get_incident("i-north")
    merged.victims.append(Victim(name="Southwind Logistics", country="BE", sector="transport"))
    merged.summary = "Glass Heron hit Northwind Freight and its partner Southwind Logistics"
    assert store.add_incident(merged, "rb", role="background") is False
    assert store.add_incident(merged, "rb") is False  # primary upgrades the background link
    assert store.articles_for_incident("i-north") == [("ra", "primary"), ("rb", "primary")]
    assert ids(store.list_incidents(country="be")) == ["i-north"]
    assert ids(store.list_incidents(query="southwind")) == ["i-north"]
    assert store.count_incidents() == 4
    with pytest.raises(IncidexError, match="role"):
        store.add_incident(merged, "ra", role="sideline")
    with pytest.raises(IncidexError, match="not stored"):
        store.add_incident(merged, "missing-article")


def test_date_ranges():
    assert codec.date_range(DateValue("2024", "year")) == (date(2024, 1, 1), date(2024, 12, 31))
    assert codec.date_range(DateValue("2024-02", "month")) == (date(2024, 2, 1), date(2024, 2, 29))
    assert codec.date_range(DateValue("2024-02-14", "month")) == (date(2024, 2, 1), date(2024, 2, 29))
    assert codec.date_range(DateValue("2024-02-14", "week")) == (date(2024, 2, 12), date(2024, 2, 18))
    assert codec.date_range(DateValue("2024-02-14", "day")) == (date(2024, 2, 14), date(2024, 2, 14))
    assert codec.date_range(DateValue("2024-02-30", "day")) == (None, None)
    assert codec.date_range(None) == (None, None)


def test_instants_without_a_utc_value_are_unknown():
    assert codec.parse_instant("2024-03-05T14:20:00+01:00") == datetime(2024, 3, 5, 13, 20, tzinfo=timezone.utc)
    assert codec.parse_instant("0001-01-01T00:00:00+01:00") is None  # would fall before year 1
    assert codec.parse_instant("9999-12-31T23:00:00-05:00") is None


# -- transactions and failures ----------------------------------------------------------

def test_transaction_rollback_leaves_nothing(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_article(art("t1", title="Rolled back"))
            store.add_incident(incident("ti", summary="rolled back incident", attackers=[Actor(name="X")]), "t1")
            store.record_failure("input.jsonl#2", "bad line")
            assert store.has_article("t1")  # visible inside the transaction
            raise RuntimeError("crash after the article and its incident")
    assert store.count_articles() == 0 and store.count_incidents() == 0 and store.list_failures() == []
    tables = ["article_bands", "incident_articles", "incident_actors"]
    tables += ["articles_fts", "incidents_fts"] if is_sqlite(store) else []
    for table in tables:
        assert scalar(store, f"SELECT count(*) FROM {table}") == 0, table


def test_transaction_commits_together_and_nested_blocks_are_savepoints(store):
    with store.transaction():
        store.add_article(art("c1"))
        with pytest.raises(IncidexError):
            with store.transaction():
                store.add_article(art("c2"))
                raise IncidexError("inner failure")
        store.add_incident(incident("ci"), "c1")
    assert store.has_article("c1") and not store.has_article("c2")
    assert ids(store.incidents_for_article("c1")) == ["ci"]


def test_failures_are_recorded(store):
    store.record_failure("a.html", "binary content", stage="ingest")
    store.record_failure("feed.xml#4", "no article text")
    got = store.list_failures()
    assert [(f["origin"], f["reason"], f["stage"]) for f in got] == [
        ("feed.xml#4", "no article text", None), ("a.html", "binary content", "ingest")]
    assert datetime.fromisoformat(got[0]["at"]).tzinfo is not None


def test_changed_dedup_settings_rebuild_signatures(db_url):
    db_path = db_url
    with open_store(db_path) as s:
        s.add_article(art("r1"))
    settings = load_settings()
    changed = {**settings, "dedup": {**settings["dedup"], "num_perm": 64}}
    with open_store(db_path, settings=changed) as s:
        assert len(s.get_article("r1").signature) == 64
        with s.engine.connect() as conn:
            n_bands = conn.exec_driver_sql("SELECT count(*) FROM article_bands").scalar()
        from incidex.resolve.duplicates import lsh_params
        assert n_bands == lsh_params(0.5, 64)[0]


# -- crash safety ---------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys
    from incidex.records import Article, Incident, Victim
    from incidex.store import open_store

    store = open_store(sys.argv[1])
    for i in range(100000):
        aid = f"kill-{i:06d}"
        with store.transaction():
            store.add_article(Article(id=aid, body=(
                f"Bulletin {i}: an invented intrusion at test company number {i}, "
                f"with {i * 7} records said to be copied by an invented crew.")))
            store.add_incident(Incident(id=f"inc-{i:06d}", summary=f"invented incident {i}",
                                        victims=[Victim(name=f"Company {i}")]), aid)
        print(aid, flush=True)
""")


def test_kill_during_ingest_loses_nothing_committed(db_url, backend):
    db_path = db_url
    open_store(db_path).close()  # schema exists before the child starts writing
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path)], stdout=subprocess.PIPE, text=True)
    reported = []
    deadline = time.monotonic() + 120
    try:
        while len(reported) < 25 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            reported.append(line.strip())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)
    reported += [x for x in rest.split() if x]
    assert proc.returncode == -signal.SIGKILL
    assert len(reported) >= 25

    if backend == "sqlite":
        con = sqlite3.connect(db_path)
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        con.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
        con.close()

    with open_store(db_path) as s:
        n = s.count_articles()
        assert n >= len(reported)  # at most one more: committed but killed before printing
        assert n <= len(reported) + 1
        assert s.count_incidents() == n  # article and incident committed together or not at all
        for aid in reported:
            assert s.has_article(aid)
            assert s.add_article(Article(id=aid, body="re-ingested copy")) is False
        assert s.count_articles() == n


WRITER = textwrap.dedent("""
    import sys
    from incidex.records import Article
    from incidex.store import open_store

    store = open_store(sys.argv[1])  # both writers may create the schema at the same moment
    tag = sys.argv[2]
    for i in range(30):
        aid = f"{tag}-{i:03d}"
        with store.transaction():
            store.has_article(aid)  # read first, then write: needs the write lock taken up front
            store.add_article(Article(id=aid, body=f"Writer {tag} filed invented note {i} about a test breach."))
    print("done", flush=True)
""")


@pytest.fixture()
def empty_db_url(backend, request, tmp_path) -> str:
    """A database without any schema yet (SQLite: no file; PostgreSQL: an empty database)."""
    if backend == "sqlite":
        return str(tmp_path / "new.db")
    dbs = request.getfixturevalue("pg_databases")
    url = dbs.fresh(migrated=False)
    request.addfinalizer(lambda: dbs.drop(url))
    return url


def test_concurrent_writers_on_a_new_database_do_not_fail(empty_db_url):
    db_path = empty_db_url
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), tag], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for tag in ("w1", "w2")]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert out.strip() == "done"
    with open_store(db_path) as s:
        assert s.count_articles() == 60


# -- what resolution reuses must never be stale ------------------------------------------

def test_candidate_records_follow_writes_from_another_connection(store, db_url):
    store.add_article(art("a1"))
    store.add_incident(incident("inc-x", summary="first account"), "a1")
    assert [i.summary for i in store.get_incidents(["inc-x"])] == ["first account"]
    with open_store(db_url) as other:  # another process's writer, as far as this store can tell
        other.add_incident(incident("inc-x", summary="second account"), "a1")
    assert [i.summary for i in store.get_incidents(["inc-x"])] == ["second account"]
    with open_store(db_url) as other:
        other.delete_incident("inc-x")
    assert store.get_incidents(["inc-x"]) == []


def test_a_rolled_back_savepoint_leaves_no_remembered_lookups(store):
    store.add_entity("org:test1", "organization", "Quillmark Dairy", "NZ")
    with store.transaction():
        assert store.entity_by_alias("quillmark dairy", "nz") is None  # remembered: no such alias yet
        with pytest.raises(RuntimeError):
            with store.transaction():  # a savepoint
                assert store.add_alias("org:test1", "Quillmark Dairy", "quillmark dairy", "nz") is True
                assert store.entity_by_alias("quillmark dairy", "nz")["id"] == "org:test1"
                raise RuntimeError("the article failed")
        assert store.entity_by_alias("quillmark dairy", "nz") is None
        assert store.get_entity("org:test1")["aliases"] == []
    assert store.entity_by_alias("quillmark dairy", "nz") is None


def test_entities_and_aliases_are_added_once(store):
    store.add_entity("org:test2", "organization", "Brightfern Clinic", "IE")
    store.add_entity("org:test2", "organization", "Another name", None)  # exists: kept as it is
    assert store.get_entity("org:test2")["name"] == "Brightfern Clinic"
    assert store.add_alias("org:test2", "Brightfern", "brightfern", "ie") is True
    assert store.add_alias("org:test2", "Brightfern", "brightfern", "ie") is False
    store.add_entity("org:test3", "organization", "Brightfern Ltd", "IE")
    assert store.add_alias("org:test3", "Brightfern", "brightfern", "ie") is False  # names org:test2 already
    assert store.entity_by_alias("brightfern", "ie")["id"] == "org:test2"


def test_a_mention_is_replaced_in_place(store):
    store.add_article(art("a2"))
    store.add_incident(incident("inc-1", summary="one"), "a2")
    store.add_incident(incident("inc-2", summary="two"), "a2")
    store.add_mention("a2:0", "inc-1", "a2", "primary", incident("m", summary="as first reported"))
    store.add_mention("a2:0", "inc-2", "a2", "background", incident("m", summary="as re-read"))
    rows = store.mentions_for_article("a2")
    assert [(r.id, r.incident_id, r.role, r.incident.summary) for r in rows] == [
        ("a2:0", "inc-2", "background", "as re-read")]
    assert store.mentions_for_incident("inc-1") == []
