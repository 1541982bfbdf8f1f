"""The web UI's pages through the ASGI test client (the browser test is test_ui_browser.py).

Pages are parsed with lxml and checked for what an analyst sees: the listing
and its facets, filters, an incident's facts and its evidence marked in the
source text (``<mark>`` over exactly the stored offsets), actors, victims,
charts, the paste page, errors; and that nothing comes from another host.
"""
from __future__ import annotations

import re
import warnings
from importlib import resources

import pytest
from lxml import html as lhtml

from fixtures_export import copy_store, export_db  # noqa: F401  (fixture)
from incidex.records import Evidence, Incident
from incidex.serve import charts
from incidex.serve.app import create_app
from incidex.serve.highlight import Span, evidence_in, marks, segments
from incidex.serve.security import create_key

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASTED = (
    "A ransomware attack encrypted servers at the Orrin Valley School District in Canada on Tuesday, the district "
    "said on Thursday.\n"
    "The Akira ransomware gang claimed the attack on its leak site and threatened to publish student records.\n"
    "Classes continued, but staff were told not to use their laptops until the investigation ends.\n"
)


@pytest.fixture(scope="module")
def app_db(export_db, tmp_path_factory):
    return copy_store(export_db, tmp_path_factory.mktemp("ui") / "ui.db")


@pytest.fixture(scope="module")
def client(app_db):
    with TestClient(create_app(app_db)) as c:
        yield c


def page(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    return lhtml.fromstring(r.text)


def test_list_with_facets_and_search(client):
    doc = page(client, "/")
    rows = doc.cssselect("table.incidents tbody tr")
    total = client.get("/api/v1/incidents").json()["total"]
    assert len(rows) == total and doc.cssselect("h1")[0].text_content().startswith(f"{total} incident")
    facets = {s.get("data-facet"): s for s in doc.cssselect("section.facet")}
    assert set(facets) == {"type", "country", "sector", "actor", "outcome"}
    gb = [a for a in facets["country"].cssselect("a") if a.get("data-value") == "GB"][0]
    assert "United Kingdom" in gb.text_content() and gb.get("href") == "?country=GB"
    found = page(client, "/?q=Carrow")
    assert [a.text_content() for a in found.cssselect("a.inc")] == \
        [i["summary"] for i in client.get("/api/v1/incidents?q=Carrow").json()["items"]]


def test_country_filter(client):
    doc = page(client, "/?country=GB")
    want = client.get("/api/v1/incidents?country=GB").json()["items"]
    links = [a.get("href") for a in doc.cssselect("a.inc")]
    assert links == [f"/incidents/{i['id']}" for i in want] and links
    active = doc.cssselect('section[data-facet="country"] a.chip.active')
    assert active and "United Kingdom" in active[0].text_content() and active[0].get("href") == "?"


def test_incident_page_marks_the_evidence(client):
    inc = client.get("/api/v1/incidents?country=GB&type=ransomware").json()["items"][0]
    doc = page(client, f"/incidents/{inc['id']}")
    assert doc.cssselect("h1")[0].text_content() == inc["summary"]
    keys = {tr.get("data-ev") for tr in doc.cssselect("tr.fact.has-ev")}
    assert f"{inc['id']}|victims[0]" in keys and f"{inc['id']}|attack_types" in keys
    sources = doc.cssselect("article.source")
    assert len(sources) == 2  # the original and the syndicated copy
    primary = inc["sources"][0]["article_id"]
    body = client.get(f"/api/v1/articles/{primary}").json()["body"]
    text_div = doc.cssselect(f"#src-{primary} div.body")[0]
    assert text_div.text_content() == body  # the whole text, marks only wrap it
    marked = [m for m in text_div.cssselect("mark.ev")]
    assert marked and all(f"{inc['id']}|" in m.get("data-ev") for m in marked)
    # evidence read from the headline points into the title, which the body view does not mark
    own = [e for e in inc["evidence"] if e.get("article_id") in (None, primary) and e.get("part") != "title"]
    for ev in own:
        assert body[ev["start"]:ev["end"]] == ev["text"]
        assert ev["text"] in "".join(m.text_content() for m in marked) or any(
            ev["text"].startswith(m.text_content()) for m in marked)
    victim = inc["victims"][0]["name"]
    assert any(m.text_content() == victim and "ev-m" in m.get("class") for m in marked)


def test_article_and_actor_pages(client):
    art = client.get("/api/v1/articles?q=Carrow").json()["items"][0]
    doc = page(client, f"/articles/{art['id']}")
    assert doc.cssselect("mark.ev") and doc.cssselect("div.inc-card")
    actors = client.get("/api/v1/actors").json()["items"]
    apt29 = next(a for a in actors if a["name"] == "APT29")
    doc = page(client, f"/actors/{apt29['id']}")
    text = doc.text_content()
    assert "Russia" in text and "Cozy Bear" in text
    assert doc.cssselect("svg.timeline circle")
    assert [a.get("href") for a in doc.cssselect("ul.timeline-list a[href^='/incidents/']")] == \
        [f"/incidents/{i['id']}" for i in client.get(f"/api/v1/incidents?actor={apt29['id']}").json()["items"]]
    listing = page(client, "/actors")
    assert any(a.text_content() == "APT29" for a in listing.cssselect("td a"))


def test_victims_and_stats(client):
    doc = page(client, "/victims?country=GB")
    assert "Carrow Valley Medical Centre" in doc.text_content()
    doc = page(client, "/stats")
    svgs = doc.cssselect("svg.chart")
    assert len(svgs) >= 5
    assert doc.cssselect("svg.chart rect.t-ransomware")
    assert any(a.get("href") == "?country=GB" for a in doc.cssselect("svg.hbars a"))
    gb = page(client, "/stats?country=GB")
    assert "country: GB" in gb.cssselect("div.chips")[0].text_content()


def test_paste_shows_the_extraction_and_stores_nothing(client):
    before = client.get("/api/v1/articles").json()["items"]
    r = client.post("/paste", data={"content": PASTED, "title": "School district hit", "kind": ""})
    assert r.status_code == 200
    doc = lhtml.fromstring(r.text)
    assert "1 incident found" in doc.cssselect("h2.result-head")[0].text_content()
    assert "Orrin Valley School District" in doc.cssselect("table.facts")[0].text_content()
    strong = [m.text_content() for m in doc.cssselect("mark.ev-m")]
    assert "Orrin Valley School District" in strong and any("Akira" in s for s in strong)
    assert doc.cssselect("div.body")[0].text_content() == PASTED.strip()
    assert client.get("/api/v1/articles").json()["items"] == before
    empty = client.post("/paste", data={"content": "  "})
    assert empty.status_code == 422 and "Paste the text" in empty.text


def test_paste_and_store_needs_a_key(export_db, tmp_path):
    db = copy_store(export_db, tmp_path / "paste.db")
    with TestClient(create_app(db)) as c:
        r = c.post("/paste", data={"content": PASTED, "store": "1", "api_key": "idx_nope"})
        assert r.status_code == 401 and "valid API key" in r.text
        _, key = create_key(c.app.state.store, "ui")
        r = c.post("/paste", data={"content": PASTED, "store": "1", "api_key": key}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/articles/")
        doc = page(c, r.headers["location"])
        assert "Orrin Valley School District" in doc.text_content() and doc.cssselect("mark.ev")


def test_errors_are_pages(client):
    doc = page(client, "/incidents/nope", 404)
    assert "No incident" in doc.text_content()
    doc = page(client, "/?country=Britain", 400)
    assert "country: Britain is not an ISO 3166 alpha-2 code" in doc.text_content()
    page(client, "/actors/nobody", 404)


def test_user_text_is_escaped(export_db, tmp_path):
    db = copy_store(export_db, tmp_path / "xss.db")
    with TestClient(create_app(db)) as c:
        _, key = create_key(c.app.state.store, "t")
        text = ("Title: <script>alert(1)</script> Hackers hit <b>Quarry Bank</b>\n\n"
                "Hackers calling themselves <img src=x onerror=alert(2)> broke into Quarry Bank in Ireland and "
                "stole customer records, the bank said on Friday.\n" + PASTED)
        r = c.post("/api/v1/articles", json={"text": text}, headers={"X-API-Key": key})
        aid = r.json()["articles"][0]["id"]
        for url in (f"/articles/{aid}", "/", "/?q=Quarry"):
            body = c.get(url).text
            assert "<script>alert" not in body and "<img src=x" not in body and "<b>Quarry" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in c.get(f"/articles/{aid}").text


def test_api_docs_page_lists_every_operation(client):
    doc = page(client, "/api/v1/docs")
    paths = {c.text_content() for c in doc.cssselect("details.op summary code")}
    spec = client.get("/api/v1/openapi.json").json()
    assert paths == set(spec["paths"])


def test_every_asset_is_local(client):
    for name in ("style.css", "app.js", "favicon.svg"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and "http" not in r.text.replace("http://www.w3.org/2000/svg", "")
    templates = resources.files("incidex.serve") / "templates"
    for t in templates.iterdir():
        text = t.read_text("utf-8")
        # the only absolute URLs are links to documentation pages, never assets
        for tag in re.findall(r"<(?:script|link|img|iframe)[^>]*>", text):
            assert "http" not in tag, (t.name, tag)
        assert "style=" not in text and "<script>" not in text, t.name  # nothing inline: the CSP forbids it
    csp = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp


# ----------------------------------------------------------------- building blocks

def test_segments_split_overlapping_spans():
    body = "Hackers hit the Nordhavn port on Monday."
    spans = [Span(0, 40, "victims[0]", "i1"), Span(16, 29, "victims[0].mention", "i1"), Span(0, 40, "date", "i1")]
    segs = segments(body, spans)
    assert "".join(s.text for s in segs) == body
    assert [(s.text, sorted(x.field for x in s.cover)) for s in segs] == [
        ("Hackers hit the ", ["date", "victims[0]"]),
        ("Nordhavn port", ["date", "victims[0]", "victims[0].mention"]),
        (" on Monday.", ["date", "victims[0]"])]
    runs = marks(body, [("i1", Evidence(s.field, s.start, s.end, body[s.start:s.end])) for s in spans])
    assert [r["strong"] for r in runs] == [False, True, False]
    assert runs[1]["ev"] == "i1|victims[0] i1|date"


def test_evidence_in_a_syndicated_copy_is_found_by_text():
    inc = Incident(id="x", evidence=[Evidence("victims[0]", 10, 20, "the harbor", "orig"),
                                     Evidence("date", 0, 3, "gone", "orig"),
                                     Evidence("outcome", 0, 4, "Some", "other")])
    body = "Reported: the harbor was hit."
    found = evidence_in(body, "copy", inc, owner="orig", copy_of="orig")
    assert [(e.field, e.start, e.end) for e in found] == [("victims[0]", 10, 20)]
    assert evidence_in(body, "copy", inc, owner="orig") == []


def test_charts_escape_and_scale():
    svg = str(charts.hbars([("<b>x</b>", 3, "?a=1&b=2"), ("y", 1, None)], label="t"))
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "?a=1&amp;b=2" in svg
    months = str(charts.stacked_months([{"month": "2024-01", "type": "ransomware", "count": 3},
                                        {"month": "2024-04", "type": "ddos", "count": 5}]))
    assert len(re.findall(r'<rect class="t-[a-z-]+" x=', months)) == 2  # one bar per month with incidents
    assert ">Feb 2024<" in months and ">Mar 2024<" in months  # empty months are kept on the axis, with years
    assert "No incident dated to the month" in str(charts.timeline([("", "ddos", "x", "/")]))
