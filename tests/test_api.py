"""The REST API (``/api/v1``) through the ASGI test client, over real SQLite stores.

Reads run over a copy of the export test store (five articles written for the
tests and a syndicated copy). Writes run over fresh copies; URL ingestion
fetches from a real HTTP server on 127.0.0.1 (``fixtures_ingest.local_server``).
"""
from __future__ import annotations

import copy
import json
import warnings

import pytest
from typer.testing import CliRunner

from fixtures_export import copy_store, export_db  # noqa: F401  (fixture)
from fixtures_ingest import SECOND_STORY_LINES, article_page, local_server  # noqa: F401  (fixture)
from incidex.serve.app import create_app
from incidex.serve.security import create_key, hash_key
from incidex.settings import load_settings
from incidex.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

# An invented article for the write tests (fictional town, utility and group).
STORY = (
    "Title: Ransomware hits Brackenford water utility\n"
    "Date: 2024-06-11\n"
    "Source: brackenford-courier.test\n\n"
    "The Brackenford Water Company in Denmark said on Monday that a ransomware attack had encrypted its billing "
    "servers and forced it to take customer portals offline.\n"
    "A gang calling itself Tin Heron claimed the attack on its leak site and said it had stolen 40 gigabytes of "
    "customer records.\n"
    "The company said drinking water supplies were not affected and that it had informed the Danish police.\n"
)


def settings(**serve) -> dict:
    s = copy.deepcopy(load_settings())
    s["serve"].update(serve)
    return s


@pytest.fixture(scope="module")
def read_db(export_db, tmp_path_factory):
    return copy_store(export_db, tmp_path_factory.mktemp("api") / "read.db")


@pytest.fixture(scope="module")
def client(read_db):
    with TestClient(create_app(read_db)) as c:
        yield c


@pytest.fixture()
def write_app(export_db, tmp_path):
    """(client, api key, db path) over a private copy of the store."""
    db = copy_store(export_db, tmp_path / "write.db")
    s = settings()
    s["ingest"]["allow_private_addresses"] = ["127.0.0.1"]
    app = create_app(db, s)
    _, key = create_key(app.state.store, "tests")
    with TestClient(app) as c:
        yield c, key, db


# ----------------------------------------------------------------- reading

def test_index_lists_the_endpoints(client):
    d = client.get("/api/v1/").json()
    assert d["name"] == "incidex"
    assert d["incidents"].endswith("/api/v1/incidents") and d["taxii"].endswith("/taxii2/")


def test_incident_list_is_the_export_record_with_paging(client):
    page = client.get("/api/v1/incidents").json()
    assert page["total"] == len(page["items"]) >= 5 and not page["total_is_lower_bound"]
    first = page["items"][0]
    assert {"id", "summary", "attack_types", "attackers", "victims", "evidence", "sources"} <= set(first)
    assert {"article_id", "role", "url", "source", "published"} == set(first["sources"][0])
    two = client.get("/api/v1/incidents", params={"limit": 2, "offset": 1}).json()
    assert [i["id"] for i in two["items"]] == [i["id"] for i in page["items"][1:3]]
    assert two["total"] == page["total"] and two["limit"] == 2 and two["offset"] == 1


def test_filters_match_the_cli(client, read_db):
    store = open_store(read_db)
    try:
        for params, filters in [({}, {}), ({"country": "gb"}, {"country": "GB"}), ({"type": "ransomware"}, {"attack_type": "ransomware"}),
                                ({"actor": "APT29"}, {"actor": "APT29"}), ({"q": "carrow"}, {"query": "carrow"}),
                                ({"since": "2024-03", "until": "2024"}, {"since": "2024-03", "until": "2024"}),
                                ({"sector": "healthcare", "outcome": "successful"},
                                 {"sector": "healthcare", "outcome": "successful"})]:
            got = [i["id"] for i in client.get("/api/v1/incidents", params=params).json()["items"]]
            want = [i.id for i in store.list_incidents(**filters)]
            assert got == want and got, params
    finally:
        store.close()


def test_records_are_the_json_exports(client, read_db):
    from incidex.export.jsonfmt import records

    store = open_store(read_db)
    try:
        want = list(records(store.list_incidents(limit=500), store))
    finally:
        store.close()
    assert client.get("/api/v1/incidents", params={"limit": 500}).json()["items"] == want


def test_incident_detail_and_404(client):
    inc = client.get("/api/v1/incidents", params={"country": "GB", "type": "ransomware"}).json()["items"][0]
    d = client.get(f"/api/v1/incidents/{inc['id']}").json()
    assert d == inc
    roles = sorted(s["role"] for s in d["sources"])
    assert roles == ["primary", "syndicated"]  # the copy from another outlet is a source too
    r = client.get("/api/v1/incidents/no-such-incident")
    assert r.status_code == 404 and "no incident" in r.json()["detail"]


def test_actors_with_kb_aliases_and_state_link(client):
    actors = client.get("/api/v1/actors").json()["items"]
    apt29 = next(a for a in actors if a["name"] == "APT29")
    assert apt29["kb_id"].startswith("attack:") and apt29["state_link"] == "RU"
    assert "Cozy Bear" in apt29["aliases"] and apt29["incidents"] >= 1
    one = client.get(f"/api/v1/actors/{apt29['id']}").json()
    assert one["id"] == apt29["id"] and one["incidents"] == apt29["incidents"]
    by_name = client.get("/api/v1/actors/apt29").json()  # a name finds the KB actor too
    assert by_name["id"] == apt29["id"]
    listed = client.get("/api/v1/incidents", params={"actor": apt29["id"]}).json()
    assert listed["total"] == apt29["incidents"]
    # q matches KB aliases too (issue 15: "Sofacy", "G0007" find APT28)
    assert [a["id"] for a in client.get("/api/v1/actors", params={"q": "cozy"}).json()["items"]] == [apt29["id"]]
    assert [a["id"] for a in client.get("/api/v1/actors", params={"q": "apt2"}).json()["items"]] == [apt29["id"]]
    assert client.get("/api/v1/actors/nobody-at-all").status_code == 404


def test_victims(client):
    rows = client.get("/api/v1/victims", params={"country": "GB"}).json()["items"]
    assert rows and all(r["country"] == "GB" for r in rows)
    carrow = client.get("/api/v1/victims", params={"q": "carrow"}).json()["items"]
    assert [r["name"] for r in carrow] == ["Carrow Valley Medical Centre"] and carrow[0]["sector"] == "healthcare"


def test_articles_and_evidence_offsets(client):
    items = client.get("/api/v1/articles").json()["items"]
    assert len(items) == 6 and all("body" not in a for a in items)
    dup = next(a for a in items if a["duplicate_of"])
    assert client.get("/api/v1/articles", params={"duplicates": False}).json()["items"] == \
        [a for a in items if not a["duplicate_of"]]
    for a in items:
        d = client.get(f"/api/v1/articles/{a['id']}").json()
        for inc in d["incidents"]:
            for ev in inc["evidence"]:
                assert d["body"][ev["start"]:ev["end"]] == ev["text"]
    copy_d = client.get(f"/api/v1/articles/{dup['id']}").json()
    assert copy_d["incidents"][0]["role"] == "syndicated" and copy_d["incidents"][0]["evidence"]
    assert client.get("/api/v1/articles/nope").status_code == 404


def test_search(client):
    d = client.get("/api/v1/search", params={"q": "Carrow Valley"}).json()
    assert d["incidents"] and "Carrow Valley" in d["incidents"][0]["summary"]
    assert d["articles"] and "Carrow Valley" in d["articles"][0]["title"]
    nothing = '"*** ( : -'  # nothing searchable, and no FTS syntax error either
    assert client.get("/api/v1/search", params={"q": nothing}).json() == {"q": nothing, "incidents": [], "articles": []}


def test_stats(client):
    s = client.get("/api/v1/stats").json()
    assert s["total"] == client.get("/api/v1/incidents").json()["total"]
    assert sum(r["count"] for r in s["by_outcome"]) == s["total"]
    assert {r["key"] for r in s["by_country"]} >= {"GB"}
    assert [r["key"] for r in s["by_month"]] == sorted(r["key"] for r in s["by_month"])
    months = {}
    for r in s["by_month_type"]:
        months[r["month"]] = months.get(r["month"], 0) + r["count"]
    assert all(months[r["key"]] >= r["count"] for r in s["by_month"])
    apt = next(r for r in s["by_actor"] if r["name"] == "APT29")
    assert apt["key"].startswith("attack:")
    gb = client.get("/api/v1/stats", params={"country": "GB"}).json()
    assert gb["by_country"][0] == {"key": "GB", "count": gb["total"]}


@pytest.mark.parametrize("fmt,media", [("json", "application/json"), ("jsonl", "application/x-ndjson"),
                                       ("stix", "application/stix+json"), ("misp", "application/json"),
                                       ("csv", "text/csv"), ("parquet", "application/zip")])
def test_export_formats(client, fmt, media):
    r = client.get("/api/v1/export", params={"format": fmt, "country": "GB"})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    assert "attachment" in r.headers["content-disposition"]
    if fmt == "json":
        assert all(any(v["country"] == "GB" for v in i["victims"]) for i in r.json()["incidents"])
    if fmt == "parquet":
        import io
        import zipfile

        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert sorted(names) == ["incidents.attackers.parquet", "incidents.parquet", "incidents.sources.parquet",
                                 "incidents.victims.parquet"]


def test_taxii_collection_is_served(client):
    r = client.get("/taxii2/", headers={"Accept": "application/taxii+json;version=2.1"})
    assert r.status_code == 200 and r.json()["api_roots"]


# ----------------------------------------------------------------- validation

@pytest.mark.parametrize("query,where", [
    ("contry=GB", "query parameter 'contry'"),
    ("limit=0", "query parameter 'limit'"),
    ("limit=501", "query parameter 'limit'"),
    ("limit=abc", "query parameter 'limit'"),
    ("offset=-1", "query parameter 'offset'"),
    ("country=GBR", "country: GBR is not an ISO 3166 alpha-2 code; did you mean GB?"),
    ("type=ransom", "type: ransom is not an attack type; did you mean ransomware?"),
    ("since=2024-02-30", "since: 2024-02-30 is not a calendar date"),
    ("until=last+week", "YYYY"),
])
def test_bad_queries_are_clear_422s(client, query, where):
    r = client.get(f"/api/v1/incidents?{query}")
    assert r.status_code == 422
    body = r.json()
    assert where in body["detail"] and body["errors"]


def test_server_limits_are_422s(read_db):
    with TestClient(create_app(read_db, settings(max_page_size=20, page_size=10, max_offset=100, max_export=5))) as c:
        assert c.get("/api/v1/incidents").json()["limit"] == 10
        r = c.get("/api/v1/incidents?limit=21")
        assert r.status_code == 422 and "max_page_size" in r.json()["detail"]
        assert c.get("/api/v1/actors?offset=101").status_code == 422
        r = c.get("/api/v1/export?limit=6")
        assert r.status_code == 422 and "max_export" in r.json()["detail"]


def test_count_cap_says_lower_bound(read_db):
    with TestClient(create_app(read_db, settings(count_cap=2))) as c:
        page = c.get("/api/v1/incidents", params={"limit": 1}).json()
        assert page["total"] == 2 and page["total_is_lower_bound"] is True


def test_bad_settings_fail_at_start(read_db):
    from incidex.records import IncidexError

    with pytest.raises(IncidexError, match="unknown key"):
        create_app(read_db, settings(read_opne=False))
    with pytest.raises(IncidexError, match="max_body_bytes"):
        create_app(read_db, settings(max_body_bytes=0))


# ----------------------------------------------------------------- security

def test_security_headers_and_no_cors_by_default(client):
    r = client.get("/api/v1/incidents", headers={"Origin": "https://elsewhere.test"})
    assert "access-control-allow-origin" not in r.headers
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    pre = client.options("/api/v1/incidents", headers={"Origin": "https://elsewhere.test",
                                                       "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in pre.headers


def test_cors_when_configured(read_db):
    with TestClient(create_app(read_db, settings(cors_origins=["https://cti.test"]))) as c:
        ok = c.get("/api/v1/incidents", headers={"Origin": "https://cti.test"})
        assert ok.headers["access-control-allow-origin"] == "https://cti.test"
        other = c.get("/api/v1/incidents", headers={"Origin": "https://evil.test"})
        assert "access-control-allow-origin" not in other.headers


def test_writing_needs_a_valid_key(write_app):
    c, key, db = write_app
    r = c.post("/api/v1/articles", json={"text": STORY})
    assert r.status_code == 401 and "incidex keys create" in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert c.post("/api/v1/articles", json={"text": STORY}, headers={"X-API-Key": key + "x"}).status_code == 401
    # a key in the UI cookie does not authorise writes (a forged cross-site request would carry it)
    c.cookies.set("incidex_key", key)
    assert c.post("/api/v1/articles", json={"text": STORY}).status_code == 401
    c.cookies.clear()


def test_keys_are_stored_hashed_and_revocable(write_app):
    c, key, db = write_app
    import sqlalchemy as sa

    from incidex.store.tables import api_keys

    with c.app.state.store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.select(api_keys.c.name, api_keys.c.prefix, api_keys.c.key_hash))]
    assert rows == [("tests", key[:10], hash_key(key))] and key not in str(rows)
    store = c.app.state.store
    assert store.revoke_api_key("tests") == 1
    r = c.post("/api/v1/articles", json={"text": STORY}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_reads_closed_when_configured(read_db):
    s = settings(read_open=False)
    with TestClient(create_app(read_db, s)) as c:
        _, key = create_key(c.app.state.store, "reader")
        for url in ("/api/v1/incidents", "/api/v1/stats", "/taxii2/"):
            assert c.get(url).status_code == 401, url
        assert c.get("/api/v1/incidents", headers={"X-API-Key": key}).status_code == 200
        assert c.get("/health").status_code == 200
        ui = c.get("/")
        assert ui.status_code == 401 and "Sign in" in ui.text
        c.post("/login", data={"api_key": "idx_wrong"}, follow_redirects=False)
        assert c.get("/").status_code == 401
        r = c.post("/login", data={"api_key": key}, follow_redirects=False)
        assert r.status_code == 303 and "httponly" in r.headers["set-cookie"].lower()
        assert "samesite=strict" in r.headers["set-cookie"].lower()
        assert c.get("/").status_code == 200  # the cookie now opens the UI
        c.app.state.store.revoke_api_key("reader")
        assert c.get("/").status_code == 401


def test_body_size_limit(read_db):
    with TestClient(create_app(read_db, settings(max_body_bytes=1000))) as c:
        r = c.post("/api/v1/extract", json={"text": "x" * 2000})
        assert r.status_code == 413 and "max_body_bytes" in r.json()["detail"]

        def chunks():  # no Content-Length: the limit applies while the body streams in
            for _ in range(10):
                yield b"a" * 300

        r = c.post("/api/v1/extract", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413


# ----------------------------------------------------------------- extract and ingest

def test_extract_stores_nothing(write_app):
    c, key, db = write_app
    before = c.get("/api/v1/articles").json()["items"]
    r = c.post("/api/v1/extract", json={"text": STORY})
    assert r.status_code == 200
    d = r.json()
    assert d["article"]["title"] == "Ransomware hits Brackenford water utility"  # header lines were read
    (inc,) = d["incidents"]
    assert "ransomware" in inc["attack_types"] and inc["victims"][0]["country"] == "DK"
    for ev in inc["evidence"]:  # into the body, or into the headline when read from it
        part = d["article"]["title"] if ev.get("part") == "title" else d["body"]
        assert part[ev["start"]:ev["end"]] == ev["text"]
    assert any(ev.get("part") == "title" for ev in inc["evidence"])
    assert c.get("/api/v1/articles").json()["items"] == before


@pytest.mark.parametrize("body,msg", [({}, "give exactly one"), ({"text": "a", "html": "<p>a</p>"}, "exactly one"),
                                      ({"text": ""}, "text: is empty or only whitespace"), ({"text": "x", "colour": 1}, "colour"),
                                      ({"text": 5}, "body field 'text'")])
def test_extract_validation(client, body, msg):
    r = client.post("/api/v1/extract", json=body)
    assert r.status_code == 422 and msg in r.json()["detail"]


def test_malformed_json_is_a_422(client):
    r = client.post("/api/v1/extract", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]


def test_post_text_runs_the_ingest_path(write_app):
    c, key, db = write_app
    r = c.post("/api/v1/articles", json={"text": STORY}, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["new"] == 1 and d["failed"] == 0 and d["incidents"] == 1
    (art,) = d["articles"]
    stored = c.get(f"/api/v1/articles/{art['id']}").json()
    assert stored["source"] == "brackenford-courier.test" and stored["incidents"][0]["id"] == art["incidents"][0]
    assert c.get("/api/v1/incidents", params={"country": "DK", "q": "Brackenford"}).json()["total"] == 1
    again = c.post("/api/v1/articles", json={"text": STORY}, headers={"X-API-Key": key})
    assert again.status_code == 200 and again.json()["unchanged"] == 1  # idempotent, like `incidex ingest`
    keys = c.app.state.store.list_api_keys()
    assert keys[0]["last_used_at"] is not None


def test_cached_totals_follow_new_incidents(write_app):
    c, key, db = write_app
    before = c.get("/api/v1/incidents", params={"limit": 1, "type": "ransomware"}).json()["total"]
    assert c.get("/api/v1/incidents", params={"limit": 1, "offset": 1, "type": "ransomware"}).json()["total"] == before
    assert c.post("/api/v1/articles", json={"text": STORY}, headers={"X-API-Key": key}).status_code == 201
    assert c.get("/api/v1/incidents", params={"limit": 1, "type": "ransomware"}).json()["total"] == before + 1


def test_post_html_with_metadata(write_app):
    c, key, db = write_app
    page = article_page("Glenmoor utility breach", SECOND_STORY_LINES, published="2024-05-02T10:00:00Z")
    r = c.post("/api/v1/articles", json={"html": page, "url": "https://glenmoor-times.test/breach",
                                         "source": "glenmoor-times.test"}, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    art = c.get(f"/api/v1/articles/{r.json()['articles'][0]['id']}").json()
    assert art["url"] == "https://glenmoor-times.test/breach" and art["source"] == "glenmoor-times.test"
    assert "Related stories" not in art["body"] and SECOND_STORY_LINES[0] in art["body"]


def test_post_url_is_fetched_when_the_address_is_allowed(write_app, local_server):
    c, key, db = write_app
    url = local_server.add("/breach", article_page("Glenmoor utility breach", SECOND_STORY_LINES).encode())
    r = c.post("/api/v1/articles", json={"url": url}, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    assert local_server.seen and r.json()["new"] == 1


def test_post_url_refuses_private_addresses_by_default(export_db, tmp_path, local_server):
    db = copy_store(export_db, tmp_path / "w.db")
    s = settings()
    s["ingest"]["allow_private_addresses"] = False
    with TestClient(create_app(db, s)) as c:
        _, key = create_key(c.app.state.store, "t")
        url = local_server.add("/breach", article_page("Glenmoor", SECOND_STORY_LINES).encode())
        for target in (url, "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/"):
            r = c.post("/api/v1/articles", json={"url": target}, headers={"X-API-Key": key})
            assert r.status_code == 422 and "refused" in r.json()["detail"], target
        assert local_server.seen == []
        r = c.post("/api/v1/articles", json={"url": "file:///etc/passwd"}, headers={"X-API-Key": key})
        assert r.status_code == 422 and "body field 'url'" in r.json()["detail"]


def test_binary_text_is_refused_clearly(write_app):
    c, key, db = write_app
    r = c.post("/api/v1/articles", json={"text": "\x00\x01\x02" * 200}, headers={"X-API-Key": key})
    assert r.status_code == 422 and r.json()["detail"].startswith("cannot ingest the article")


# ----------------------------------------------------------------- CLI

def test_keys_commands(tmp_path):
    from incidex.cli import app

    db = str(tmp_path / "k.db")
    runner = CliRunner()
    made = runner.invoke(app, ["keys", "create", "--name", "analyst", "--db", db])
    assert made.exit_code == 0
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("idx_") and len(key) > 40
    listed = runner.invoke(app, ["keys", "list", "--db", db, "--format", "json"])
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "analyst" and row["prefix"] == key[:10] and key not in listed.stdout
    assert runner.invoke(app, ["keys", "revoke", "analyst", "--db", db]).exit_code == 0
    assert json.loads(runner.invoke(app, ["keys", "list", "--db", db, "--format", "json"]).stdout) == []
    assert runner.invoke(app, ["keys", "revoke", "analyst", "--db", db]).exit_code == 1


# ----------------------------------------------------------------- query plans

PLAN_FILTERS = [{}, {"country": "GB"}, {"attack_type": "ransomware"}, {"country": "GB", "attack_type": "ransomware"},
                {"actor": "APT29"}, {"sector": "healthcare", "since": "2024"}, {"outcome": "successful"},
                {"query": "ransomware"}, {"query": "Carrow"}, {"query": "ransomware", "country": "GB"},
                {"victim": "Carrow Valley Medical Centre"}, {"since": "2024-01", "until": "2024-02"}]


def _matches(inc, f) -> bool:
    """The filters evaluated in Python over a whole record (the reference the SQL plans must agree with)."""
    from incidex.store.codec import date_range

    if "country" in f and not any(v.country == f["country"] for v in inc.victims):
        return False
    if "sector" in f and not any(v.sector == f["sector"] for v in inc.victims):
        return False
    if "victim" in f and not any(v.name == f["victim"] for v in inc.victims):
        return False
    if "attack_type" in f and f["attack_type"] not in inc.attack_types:
        return False
    if "actor" in f and not any(a.name == f["actor"] for a in inc.attackers):
        return False
    if "outcome" in f and inc.outcome != f["outcome"]:
        return False
    lo, hi = date_range(inc.date)
    if "since" in f and (hi is None or hi.isoformat()[:len(f["since"])] < f["since"]):
        return False
    if "until" in f and (lo is None or lo.isoformat()[:len(f["until"])] > f["until"]):
        return False
    return True


@pytest.mark.parametrize("drive,rank", [(0, 0), (0, 2000), (2000, 0), (2000, 2000)])
def test_every_query_plan_gives_the_same_answer(read_db, drive, rank):
    """Walking in listing order or reading a filter's index first, ranking or not: same incidents, same counts."""
    s = copy.deepcopy(load_settings())
    s["store"].update(plan_drive_limit=drive, fts_rank_limit=rank)
    store = open_store(read_db, settings=s)
    try:
        everything = store.list_incidents(limit=10_000)
        for f in PLAN_FILTERS:
            got = [d["id"] for d in store.list_incident_docs(limit=1000, **f)]
            assert len(got) == len(set(got)) == store.count_incidents_matching(**f), f
            if "query" not in f:
                assert got == [i.id for i in everything if _matches(i, f)], f  # listing order kept
            else:
                text = {i.id for i in store.list_incidents(query=f["query"], limit=1000)}
                assert set(got) == {i for i in text if _matches(next(x for x in everything if x.id == i), f)}, f
            assert min(1, len(got)) <= store.count_incidents_matching(cap=1, **f) <= len(got), f  # cap: at least 1
    finally:
        store.close()
