"""Pivot pages: a victim, a technique, a malware, a CVE; and the links to them from the incident
and list pages. On SQLite and PostgreSQL, over four invented incidents counted by hand."""
from __future__ import annotations

import sqlite3
from urllib.parse import unquote

import pytest
from lxml import html as lhtml

from incidex.records import Actor, Article, DateValue, Incident, Victim
from incidex.store import open_store
from test_facets import filled_client

FENWICK = "Fenwick Clinic"


def incidents() -> list[Incident]:
    return [
        Incident(id="t1", summary="LockBit hits Fenwick Clinic", attack_types=["ransomware"],
                 attackers=[Actor(name="LockBit", kind="group")],
                 victims=[Victim(name=FENWICK, country="GB", sector="healthcare", mention="the Fenwick clinic")],
                 techniques=["T1486", "T1566.001"], malware=["LockBit 3.0"], cves=["CVE-2023-4966"],
                 date=DateValue("2024-01-10", "day")),
        Incident(id="t2", summary="Akira hits Fenwick Clinic again", attack_types=["ransomware"],
                 attackers=[Actor(name="Akira", kind="group")],
                 victims=[Victim(name=FENWICK, country="GB", sector="healthcare", mention="Fenwick Health Clinic")],
                 techniques=["t1486"], malware=["lockbit 3.0"], date=DateValue("2024-06", "month")),
        Incident(id="t3", summary="Clop breach at Harlow Bank", attack_types=["data-breach"],
                 attackers=[Actor(name="Clop", kind="group")],
                 victims=[Victim(name="Harlow Bank", country="US", sector="finance")],
                 cves=["CVE-2023-34362", "cve-2023-4966"], date=DateValue("2023", "year")),
        Incident(id="t4", summary="Outage at the other Fenwick Clinic", attack_types=["ddos"],
                 victims=[Victim(name="fenwick clinic", country="IE", sector="healthcare")]),
    ]


def fill(store) -> None:
    for inc in incidents():
        store.add_article(Article(id=f"a-{inc.id}", body=f"Invented report {inc.id} for the pivot page tests."))
        store.add_incident(inc, f"a-{inc.id}")


@pytest.fixture()
def client(db_url):
    with filled_client(db_url, fill) as c:
        yield c


def get(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.text[:300])
    return lhtml.fromstring(r.text)


def listed(doc) -> list[str]:
    return sorted(a.get("href").rsplit("/", 1)[1] for a in doc.cssselect("ul.timeline-list a[href^='/incidents/']"))


def test_technique_page(client):
    doc = get(client, "/techniques/t1486")  # any case
    assert doc.cssselect("h1")[0].text_content().startswith("T1486")
    assert listed(doc) == ["t1", "t2"] and len(doc.cssselect("svg.timeline circle")) == 2
    used_by = [a.text_content() for a in doc.cssselect("section.panel")[0].cssselect("a")]
    assert sorted(used_by) == ["Akira", "LockBit"]
    assert "2 incidents from 2024-01-10 to 2024-06-30" in doc.cssselect("p.meta")[0].text_content()
    sub = get(client, "/techniques/T1566.001")
    assert listed(sub) == ["t1"]
    assert sub.cssselect("a.ext")[0].get("href") == "https://attack.mitre.org/techniques/T1566/001/"
    rows = [(tr.cssselect("a")[0].text_content(), tr.cssselect("td.num")[0].text_content())
            for tr in get(client, "/techniques").cssselect("table.terms tbody tr")]
    assert rows == [("T1486", "2"), ("T1566.001", "1")]
    get(client, "/techniques/T9999", 404)


def test_malware_and_cve_pages(client):
    doc = get(client, "/malware/LOCKBIT%203.0")
    assert doc.cssselect("h1")[0].text_content().startswith("LockBit 3.0") and listed(doc) == ["t1", "t2"]
    assert not doc.cssselect("a.ext")
    cve = get(client, "/cves/cve-2023-4966")
    assert listed(cve) == ["t1", "t3"]
    assert [h.text_content().split("·")[0].strip() for h in cve.cssselect("h3.year")] == ["2024", "2023"]
    assert cve.cssselect("a.ext")[0].get("href") == "https://www.cve.org/CVERecord?id=CVE-2023-4966"
    assert "1 year-only not on the chart" in cve.text_content()
    api = client.get("/api/v1/incidents?technique=T1486&cve=CVE-2023-4966").json()
    assert [i["id"] for i in api["items"]] == ["t1"] and api["total"] == 1
    assert client.get("/api/v1/incidents?malware=lockbit+3.0&cve=CVE-2023-34362").json()["total"] == 0


def test_victim_page(client):
    doc = get(client, "/victims/fenwick%20clinic")
    assert doc.cssselect("h1")[0].text_content() == FENWICK
    assert listed(doc) == ["t1", "t2", "t4"]
    countries = [li.text_content().split()[0] for li in doc.cssselect("li.country")]
    assert countries == ["United", "Ireland"]  # GB (2 incidents) first
    assert [li.cssselect("a")[0].text_content() for li in doc.cssselect("li.sector")] == ["healthcare"]
    names = [li.cssselect("span.chip")[0].text_content() for li in doc.cssselect("ul.name-counts li")]
    assert set(names) == {FENWICK, "the Fenwick clinic", "Fenwick Health Clinic", "fenwick clinic"}
    attackers = sorted(a.text_content() for a in doc.cssselect("ul.counts a[href^='/actors/']"))
    assert attackers == ["Akira", "LockBit"]
    gb = get(client, "/victims/Fenwick%20Clinic?country=GB")
    assert listed(gb) == ["t1", "t2"]
    assert any(unquote(a.get("href")) == "/timeline?victim=Fenwick Clinic&country=GB".replace(" ", "+")
               for a in gb.cssselect("a"))
    get(client, "/victims/Nobody%20Here", 404)


def test_every_pivot_name_links_to_its_page(client):
    page = get(client, "/incidents/t1")
    hrefs = {a.get("href") for a in page.cssselect("table.facts a")}
    want = {"/techniques/T1486", "/techniques/T1566.001", "/malware/LockBit%203.0", "/cves/CVE-2023-4966",
            "/victims/Fenwick%20Clinic?country=GB"}
    assert want <= hrefs
    for href in want | {h for h in hrefs if h.startswith("/actors/")}:
        get(client, href)
    listing = get(client, "/")
    links = [a.get("href") for a in listing.cssselect("table.incidents a.victim, table.incidents a.actor")]
    assert len([h for h in links if h.startswith("/victims/")]) == 4
    assert len([h for h in links if h.startswith("/actors/")]) == 3
    for href in links:
        get(client, href)
    timeline = get(client, "/timeline")
    names = [a.get("href") for a in timeline.cssselect("ul.timeline-list a.victim")]
    assert len(names) == 4 and all(client.get(h).status_code == 200 for h in names)
    victims = get(client, "/victims")
    assert all(a.get("href").startswith("/victims/") for a in victims.cssselect("table.list tbody a"))


def test_migration_fills_the_terms_of_stored_incidents(tmp_path):
    db = tmp_path / "old.db"
    store = open_store(db)
    fill(store)
    store.close()
    with sqlite3.connect(db) as con:  # back to the schema before 0007 (and 0008), incidents kept
        con.execute("DROP TRIGGER incidents_deleted_log")
        con.execute("DROP TABLE incident_deletions")
        con.execute("DROP INDEX ix_incident_actors_kb_name")
        con.execute("DROP TABLE incident_terms")
        con.execute("UPDATE alembic_version SET version_num = '0006'")
    con.close()
    store = open_store(db)
    try:
        assert [r["key"] for r in store.list_terms("cve")] == ["CVE-2023-4966", "CVE-2023-34362"]
        assert store.get_term("malware", "LockBit 3.0")["incidents"] == 2
    finally:
        store.close()


def test_cli_filters_by_technique_malware_and_cve(db_url, tmp_path):
    import json

    from typer.testing import CliRunner

    from incidex.cli import app

    store = open_store(db_url)
    try:
        fill(store)
    finally:
        store.close()
    runner = CliRunner()
    for args, want in ((["--technique", "t1486"], ["t1", "t2"]), (["--malware", "LockBit 3.0"], ["t1", "t2"]),
                       (["--cve", "CVE-2023-4966"], ["t1", "t3"]), (["--cve", "CVE-2023-34362", "--cve", "cve-2023-4966"], ["t1", "t3"]),
                       (["--technique", "T1486", "--cve", "CVE-2023-4966"], ["t1"])):
        r = runner.invoke(app, ["incidents", "--db", str(db_url), "-f", "json", *args])
        assert r.exit_code == 0, r.output
        assert sorted(i["id"] for i in json.loads(r.stdout)) == want, args
    out = tmp_path / "t.jsonl"
    r = runner.invoke(app, ["export", "--db", str(db_url), "--format", "jsonl", "--technique", "T1566.001", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["t1"]
