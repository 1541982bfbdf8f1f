"""The read-only TAXII 2.1 server, driven by the taxii2-client library over real HTTP.

uvicorn serves ``incidex.serve.app.create_app`` on 127.0.0.1 (a free port, in a
thread, stopped at the end) over a copy of the export test store; the client
reads discovery, the API root and the collection, pages through objects and
the manifest two at a time, and checks ``added_after`` after a new article is
ingested while the server runs. Also tests the store methods the server uses.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import requests
from stix2validator import ValidationOptions, validate_string
from fastapi.testclient import TestClient
from taxii2client.exceptions import ValidationError
from taxii2client.v20 import Server as Server20
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from fixtures_export import LATE_ARTICLES, copy_store, export_db, running_server  # noqa: F401  (fixtures)
from incidex.export import select_incidents
from incidex.export.stix import serialize, to_bundle
from incidex.export.taxii import COLLECTION_ID, MEDIA_STIX, MEDIA_TAXII
from incidex.records import Article, Incident
from incidex.serve.app import create_app
from incidex.store import open_store


@pytest.fixture(scope="module")
def served(export_db, tmp_path_factory):
    """(base url, database path) of a running server over a private copy of the store."""
    db = copy_store(export_db, tmp_path_factory.mktemp("taxii") / "taxii.db")
    with running_server(create_app(db)) as base:
        yield base, db


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture()
def collection(served):
    server = Server(f"{served[0]}/taxii2/")
    (root,) = server.api_roots
    (coll,) = root.collections
    return coll


def all_objects(coll, **filters) -> list[dict]:
    out = []
    for envelope in as_pages(coll.get_objects, per_request=2, **filters):
        objs = envelope.get("objects", [])
        assert len(objs) <= 2
        out += objs
    return out


def test_discovery_api_root_and_collection(served):
    server = Server(f"{served[0]}/taxii2/")
    assert server.title == "incidex TAXII server"
    assert server.default is not None and server.default.url == f"{served[0]}/taxii2/incidex/"
    (root,) = server.api_roots
    assert root.title == "incidex" and root.versions == [MEDIA_TAXII] and root.max_content_length > 0
    (coll,) = root.collections
    assert coll.id == COLLECTION_ID and coll.title == "incidents"
    assert coll.can_read and not coll.can_write and coll.media_types == [MEDIA_STIX]


def test_pages_through_every_object(collection, served):
    objects = all_objects(collection)
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids)) > 10
    store = open_store(served[1])
    try:
        bundle = json.loads(serialize(to_bundle(select_incidents(store), store)))
    finally:
        store.close()
    assert sorted(ids) == sorted(o["id"] for o in bundle["objects"])
    text = json.dumps({"type": "bundle", "id": bundle["id"], "objects": objects})
    result = validate_string(text, ValidationOptions(version="2.1"))
    assert result.errors == [] and result.is_valid


def test_manifest_versions_and_single_objects(collection):
    entries = []
    for envelope in as_pages(collection.get_manifest, per_request=2):
        entries += envelope.get("objects", [])
    assert entries and all(e["media_type"] == MEDIA_STIX for e in entries)
    assert [(e["date_added"], e["id"]) for e in entries] == sorted((e["date_added"], e["id"]) for e in entries)
    incident = next(e for e in entries if e["id"].startswith("incident--"))
    env = collection.get_object(incident["id"])
    assert [o["id"] for o in env["objects"]] == [incident["id"]]
    assert env["objects"][0]["modified"] == incident["version"]
    assert collection.object_versions(incident["id"])["versions"] == [incident["version"]]
    only = collection.get_objects(type="incident")["objects"]
    assert {o["type"] for o in only} == {"incident"} and len(only) == 5
    two = collection.get_objects(id=[incident["id"], entries[0]["id"]])["objects"]
    assert {o["id"] for o in two} == {incident["id"], entries[0]["id"]}
    assert collection.get_objects(spec_version="2.0").get("objects", []) == []


def test_added_after(collection, served):
    before = all_objects(collection)
    manifest = collection.get_manifest(limit=1000)["objects"]
    last = max(datetime.fromisoformat(e["date_added"]) for e in manifest)
    assert all_objects(collection, added_after=last) == []
    assert len(all_objects(collection, added_after=last - timedelta(days=3650))) == len(before)

    import incidex

    store = open_store(served[1])  # a second writer while the server runs
    try:
        report = incidex.ingest(LATE_ARTICLES, store)
        assert report.new == 1 and report.incidents >= 1
    finally:
        store.close()
    new = all_objects(collection, added_after=last)
    types = {o["type"] for o in new}
    assert "incident" in types and "report" in types
    new_incidents = [o for o in new if o["type"] == "incident"]
    assert len(new_incidents) == report.incidents
    old_ids = {o["id"] for o in before if o["type"] == "incident"}
    assert not old_ids & {o["id"] for o in new_incidents}
    everything = all_objects(collection)
    assert {o["id"] for o in everything} >= {o["id"] for o in new}
    assert len(everything) > len(before)


def test_http_details(served, collection):
    base = f"{served[0]}/taxii2/incidex/collections/{COLLECTION_ID}"
    with httpx.Client(trust_env=False) as http:
        r = http.get(f"{base}/objects/", params={"limit": 3}, headers={"Accept": MEDIA_TAXII})
        assert r.status_code == 200 and r.headers["content-type"] == MEDIA_TAXII
        assert r.headers["x-taxii-date-added-first"] <= r.headers["x-taxii-date-added-last"]
        assert r.json()["more"] is True and r.json()["next"]
        assert http.get(f"{base}/objects/", headers={"Accept": "application/json"}).status_code == 200
        assert http.get(f"{base}/objects/", headers={"Accept": "text/html"}).status_code == 406
        assert http.get(f"{base}/objects/", params={"next": "not a cursor"}).status_code == 400
        assert http.get(f"{base}/objects/", params={"added_after": "yesterday-ish"}).status_code == 400
        assert http.get(f"{base}/objects/", params={"limit": "0"}).status_code == 400
        err = http.get(f"{served[0]}/taxii2/incidex/collections/00000000-0000-0000-0000-000000000000/objects/")
        assert err.status_code == 404 and err.json()["http_status"] == "404"
        assert http.get(f"{base}/objects/incident--00000000-0000-0000-0000-000000000000/").status_code == 404
        assert http.post(f"{base}/objects/", json={"objects": []}).status_code == 403
        health = http.get(f"{served[0]}/health").json()
        assert health["status"] == "ok" and health["incidents"] >= 5
    with pytest.raises(requests.HTTPError):
        collection.get_object("incident--00000000-0000-0000-0000-000000000000")


def test_the_alias_redirects_to_the_collection_id(served, collection):
    """``collections/incidents/...`` answers 308 to the same URL under the id (query kept). taxii2-client
    checks that the id it reads is in the URL it was given, so it takes the id URL (docs/exports.md)."""
    root = f"{served[0]}/taxii2/incidex"
    with httpx.Client(trust_env=False) as http:
        r = http.get(f"{root}/collections/incidents/objects/", params={"limit": 2, "match[type]": "incident"})
        assert r.status_code == 308
        assert r.headers["location"] == f"{root}/collections/{COLLECTION_ID}/objects/?limit=2&match%5Btype%5D=incident"
        assert http.get(f"{root}/collections/incidents/").headers["location"] == f"{root}/collections/{COLLECTION_ID}/"
        # a request that is bad anyway is refused at once, not redirected first
        for bad in ({"added_after": ""}, {"added_after": "2024"}, {"limit": "0"}, {"next": "not a token"}):
            r = http.get(f"{root}/collections/incidents/objects/", params=bad)
            assert r.status_code == 400 and r.headers["content-type"] == MEDIA_TAXII, (bad, r.status_code)
    # the client follows the alias to the same envelope as under the id
    assert collection._conn.get(f"{root}/collections/incidents/objects/", params={"limit": 3}) \
        == collection.get_objects(limit=3)
    # and, as the docs say, refuses the alias URL as a collection's own URL
    with pytest.raises(ValidationError, match="does not match the url"):
        Collection(f"{root}/collections/incidents/").refresh()
    assert collection.url == f"{root}/collections/{COLLECTION_ID}/"


def _taxii_error(call) -> tuple[int, dict]:
    """Run a taxii2-client call that must fail over HTTP: (status, TAXII error message)."""
    with pytest.raises(requests.HTTPError) as caught:
        call()
    response = caught.value.response
    assert response.headers["content-type"] == MEDIA_TAXII
    body = response.json()
    assert set(body) >= {"title", "description", "http_status"} and "detail" not in body
    assert body["http_status"] == str(response.status_code)
    return response.status_code, body


def test_errors_are_taxii_error_messages(served):
    base = f"{served[0]}/taxii2"
    status, body = _taxii_error(ApiRoot(f"{base}/nope/").refresh)
    assert status == 404 and "no API root 'nope'" in body["description"]
    status, body = _taxii_error(Collection(f"{base}/incidex/collections/nope/").refresh)
    assert status == 404 and body["title"] == "Collection not found"
    status, body = _taxii_error(Collection(f"{base}/incidex/collections/nope/", collection_info={
        "id": "nope", "title": "x", "can_read": True, "can_write": False}).get_objects)
    assert status == 404
    status, body = _taxii_error(lambda: ApiRoot(f"{base}/incidex/").get_status("1234"))
    assert status == 404 and body["title"] == "Status not found"
    status, body = _taxii_error(Server20(f"{base}/").refresh)  # Accept: application/taxii+json;version=2.0
    assert status == 406 and body["title"] == "Not Acceptable"
    status, body = _taxii_error(lambda: Collection(f"{base}/incidex/collections/{COLLECTION_ID}/").get_objects(
        added_after="not a time"))
    assert status == 400 and "added_after" in body["description"]
    with httpx.Client(trust_env=False) as http:
        r = http.get(f"{base}/incidex/collections/{COLLECTION_ID}/objects/", params={"limit": "many"})
    assert r.status_code == 400 and r.headers["content-type"] == MEDIA_TAXII and "limit" in r.json()["description"]


@pytest.mark.parametrize("accept,status", [
    ("application/taxii+json;version=2.1", 200), ("application/taxii+json", 200), ("*/*", 200),
    ("application/taxii+json;version=2.0", 406), ("application/taxii+json; version=2.0", 406),
    ("application/taxii+json;version=2.0, application/taxii+json;version=2.1;q=0.5", 200),
    ("application/taxii+json;version=2.1;q=0", 406), ("text/html", 406),
])
def test_accept_header(served, accept, status):
    with httpx.Client(trust_env=False) as http:
        r = http.get(f"{served[0]}/taxii2/", headers={"Accept": accept})
    assert r.status_code == status and r.headers["content-type"] == MEDIA_TAXII


def test_the_openapi_document_lists_the_taxii_parameters(served):
    with httpx.Client(trust_env=False) as http:
        paths = http.get(f"{served[0]}/api/v1/openapi.json").json()["paths"]
    root = "/taxii2/incidex/collections/{collection_id}"
    names = {path: {p["name"] for p in paths[path]["get"]["parameters"] if p["in"] == "query"}
             for path in (f"{root}/objects/", f"{root}/manifest/", f"{root}/objects/{{object_id}}/")}
    paging = {"added_after", "limit", "next", "match[version]", "match[spec_version]"}
    assert names[f"{root}/objects/"] == names[f"{root}/manifest/"] == paging | {"match[id]", "match[type]"}
    assert names[f"{root}/objects/{{object_id}}/"] == paging
    assert "/taxii2/incidex/status/{status_id}/" in paths


def test_a_body_too_large_is_a_taxii_413(export_db, tmp_path):
    from test_api import settings

    with TestClient(create_app(copy_store(export_db, tmp_path / "big.db"), settings(max_body_bytes=100))) as c:
        r = c.post(f"/taxii2/incidex/collections/{COLLECTION_ID}/objects/", content=b"{" + b" " * 200 + b"}",
                   headers={"Content-Type": MEDIA_TAXII})
        assert r.status_code == 413 and r.headers["content-type"] == MEDIA_TAXII
        assert r.json()["http_status"] == "413" and "max_body_bytes" in r.json()["description"]
        assert c.post("/api/v1/extract", content=b"{" + b" " * 200 + b"}").json()["detail"].startswith("request body")


def test_read_closed_is_a_taxii_401(export_db, tmp_path):
    from test_api import settings

    with TestClient(create_app(copy_store(export_db, tmp_path / "closed.db"), settings(read_open=False))) as c:
        r = c.get("/taxii2/")
    assert r.status_code == 401 and r.headers["content-type"] == MEDIA_TAXII
    assert r.json()["http_status"] == "401" and r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("text,ok", [
    ("2024-05-02T09:30:00Z", True), ("2024-05-02T09:30:00.123456789Z", True), ("2024-05-02t09:30:00+02:00", True),
    ("2024-05-02", False), ("2024", False), ("May 2, 2024", False), ("2024-13-02T09:30:00Z", False),
    ("2024-05-02T09:30:00", False),
])
def test_taxii_timestamps_are_rfc3339(text, ok):
    """added_after is declared ``format: date-time`` in the OpenAPI document: what that calls invalid is refused."""
    from incidex.export.taxii import rfc3339

    assert (rfc3339(text) is not None) == ok


def test_a_version_that_is_no_timestamp_matches_nothing(collection):
    """Like an unknown id or type: an empty envelope, not an error (the OpenAPI document allows any text)."""
    assert collection.get_objects(version="not-a-time").get("objects", []) == []
    assert collection.get_objects(version="not-a-time,last")["objects"]


# -- the store methods behind added_after -------------------------------------------------------

def test_list_incidents_since_and_times(db_url):
    store = open_store(db_url)
    try:
        store.add_article(Article(id="a1", body="An invented article body long enough for the store test."))
        for n in range(3):
            store.add_incident(Incident(id=f"i{n}", summary=f"invented incident {n}"), "a1")
        rows = store.list_incidents_since()
        assert [i.id for i, _ in rows] == ["i0", "i1", "i2"]
        stamps = [t for _, t in rows]
        assert stamps == sorted(stamps) and all(t.tzinfo is not None for t in stamps)
        assert [i.id for i, _ in store.list_incidents_since(stamps[0])] == ["i1", "i2"]
        assert [i.id for i, _ in store.list_incidents_since(stamps[0].astimezone(timezone(timedelta(hours=2))))] \
            == ["i1", "i2"]
        assert store.list_incidents_since(stamps[-1]) == []
        assert [i.id for i, _ in store.list_incidents_since(None, limit=1, offset=1)] == ["i1"]
        # an update moves the incident to the end, created_at stays
        times = store.incident_times(["i0", "i1", "missing"])
        assert set(times) == {"i0", "i1"}
        created0, updated0 = times["i0"]
        store.add_incident(Incident(id="i0", summary="changed"), "a1")
        assert [i.id for i, _ in store.list_incidents_since(stamps[-1])] == ["i0"]
        created1, updated1 = store.incident_times(["i0"])["i0"]
        assert created1 == created0 and updated1 > updated0
    finally:
        store.close()
