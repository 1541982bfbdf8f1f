"""Timelines: year-labelled month axes, undated and year-only incidents counted apart, the
``/timeline`` page (a filter, an actor, a victim) and an incident's own timeline.

Over the eight incidents of ``test_facets`` (one known only to the year 2023,
one undated) on SQLite and PostgreSQL.
"""
from __future__ import annotations

import re
import warnings
from urllib.parse import unquote

import pytest
from lxml import html as lhtml

from incidex.records import Article, DateValue, Incident, Response, Victim
from incidex.serve import charts
from incidex.serve.app import create_app
from incidex.store import open_store
from test_facets import INCIDENTS, fill, filled_client

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MONTHLY = {i for i, v in INCIDENTS.items() if v[4] and v[4][1] != "year"}  # on a monthly axis


@pytest.fixture()
def client(db_url):
    with filled_client(db_url, fill) as c:
        yield c


def get(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.text[:300])
    return lhtml.fromstring(r.text)


def test_every_month_tick_names_its_year():
    rows = [{"month": f"2021-{m:02d}", "type": "ddos", "count": 1} for m in range(2, 13)] + \
           [{"month": "2022-10", "type": "wiper", "count": 2}]
    svg = str(charts.stacked_months(rows))
    labels = re.findall(r'text-anchor="middle">([^<]+)</text>', svg)
    assert labels[:3] == ["Feb 2021", "Apr 2021", "Jun 2021"] and labels[-1] == "Oct 2022"  # every other month
    assert all(re.fullmatch(r"[A-Z][a-z]{2} 20\d\d", x) for x in labels), labels
    long = str(charts.stacked_months([{"month": "2015-01", "type": "ddos", "count": 1},
                                      {"month": "2021-06", "type": "ddos", "count": 1}], left_out="3 undated"))
    assert all(re.fullmatch(r"[A-Z][a-z]{2} 20\d\d", x) for x in re.findall(r'middle">([^<]+)<', long))
    assert "3 undated; 30 earlier months (before Jul 2017) not shown" in long
    axis = str(charts.timeline([("2024-02-10", "ddos", "x", "/a"), ("2024-09", "wiper", "y", "/b"),
                                ("2023", "ddos", "z", "/c"), ("", "ddos", "u", "/d")]))
    assert "Apr 2024" in axis and "Oct 2024" in axis and ">Apr<" not in axis and "2023" not in axis
    assert axis.count("<circle") == 2 and "1 undated, 1 year-only not on the chart" in axis


def test_stats_count_the_undated_and_year_only_apart(client):
    s = client.get("/api/v1/stats").json()
    assert (s["total"], s["undated"], s["year_only"]) == (8, 1, 1)
    assert sum(r["count"] for r in s["by_month"]) == len(MONTHLY)
    note = get(client, "/stats").cssselect("p.chart-note")[0].text_content()
    assert note == "1 undated, 1 year-only not on the chart"
    s = client.get("/api/v1/stats?not_type=wiper").json()
    assert (s["undated"], s["year_only"]) == (0, 1)
    assert get(client, "/stats?not_type=wiper").cssselect("p.chart-note")[0].text_content() == \
        "1 year-only not on the chart"
    assert not get(client, "/stats?type=ransomware").cssselect("p.chart-note")


def test_timeline_page_of_a_filter(client):
    doc = get(client, "/timeline")
    assert doc.cssselect("h1")[0].text_content().startswith("Timeline · 8 incidents")
    assert len(doc.cssselect("svg.timeline circle")) == len(MONTHLY)
    listed = [a.get("href").rsplit("/", 1)[1] for a in doc.cssselect("ul.timeline-list a[href^='/incidents/']")]
    assert sorted(listed) == sorted(INCIDENTS)  # every incident listed once, undated and year-only too
    years = [h.text_content().split("·")[0].strip() for h in doc.cssselect("h3.year")]
    assert years == ["2024", "2023", "undated"]
    assert [p.text_content() for p in doc.cssselect("p.chart-note")] == \
        ["1 undated, 1 year-only not on the chart"] * 2
    assert doc.cssselect("span.tag")[0].text_content() == "year only"
    ddos = get(client, "/timeline?type=ddos&type=wiper")
    assert len(ddos.cssselect("svg.timeline circle")) == 2
    assert "8 incidents" not in ddos.cssselect("h1")[0].text_content()
    assert ddos.cssselect("h1")[0].text_content().startswith("Timeline · 3 incidents")


def test_timeline_of_an_actor_and_of_a_victim(client):
    doc = get(client, "/timeline?actor=NoName057(16)")
    assert doc.cssselect("h1")[0].text_content().startswith("Timeline of NoName057(16) · 2 incidents")
    assert len(doc.cssselect("svg.timeline circle")) == 2
    doc = get(client, "/timeline?victim=Grid+East")
    assert doc.cssselect("h1")[0].text_content().startswith("Timeline of Grid East · 1 incident")
    assert not doc.cssselect("svg.timeline") and "1 undated not on the chart" in doc.text_content()
    actor = client.get("/api/v1/actors?q=noname").json()["items"][0]
    page = get(client, f"/actors/{actor['id']}")
    assert any(unquote(a.get("href")) == f"/timeline?actor={actor['id']}" for a in page.cssselect("a"))


def test_incident_page_has_its_own_timeline(db_url):
    store = open_store(db_url)
    for aid, when, source in (("late", "2024-03-09T08:00:00Z", "later.test"), ("early", "2024-03-04", "first.test")):
        store.add_article(Article(id=aid, body=f"Report {aid} on the Quillon Port outage, invented for the tests.",
                                  published=when, source=source, title=f"Quillon Port hit ({aid})"))
    inc = Incident(id="q1", summary="DDoS on Quillon Port", attack_types=["ddos"],
                   victims=[Victim(name="Quillon Port", country="NO")], date=DateValue("2024-03-02", "day"),
                   responses=[Response(kind="arrest", by="police", date=DateValue("2024-05", "month")),
                              Response(kind="statement", by="Quillon Port")])
    store.add_incident(inc, "late")
    store.add_incident(inc, "early")
    store.close()
    with TestClient(create_app(db_url)) as c:
        doc = get(c, "/incidents/q1")
    events = [(li.get("class"), li.cssselect("span.when")[0].text_content(), li.cssselect("strong")[0].text_content())
              for li in doc.cssselect("ol.events li")]
    assert events == [("ev-incident", "2024-03-02", "The incident"), ("ev-source", "2024-03-04", "First report"),
                      ("ev-source", "2024-03-09", "Report"), ("ev-response", "2024-05", "Response"),
                      ("ev-response", "no date", "Response")]
    first = doc.cssselect("ol.events li.ev-source a")[0]
    assert first.get("href") == "#src-early" and "first.test" in first.text_content()
