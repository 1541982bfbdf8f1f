"""The analyst's desk in headless Chromium: facets with several values and negation, timelines,
pivot pages, the graph, and every page at 360 px without a horizontal page scroll.

The store holds the export test articles plus the invented incidents of
``test_facets`` and ``test_pivots`` (SQLite: the layout does not depend on the
backend; both backends are covered by those tests). Browser set-up as in
``test_ui_browser`` (Debian's chromium, console free of errors); screenshots
go to ``tests/artifacts/``.
"""
from __future__ import annotations

import re

import pytest

import incidex
import test_facets
import test_pivots
from fixtures_export import ARTICLES, running_server
from incidex.serve.app import create_app
from incidex.store import open_store
from test_ui_browser import ARGS, ARTIFACTS, CHROMIUM, browser, shot  # noqa: F401  (fixtures)

NARROW = (360, 400)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    db = tmp_path_factory.mktemp("desk") / "desk.db"
    store = open_store(db)
    try:
        incidex.ingest(ARTICLES, store)
        test_facets.fill(store)
        test_pivots.fill(store)
    finally:
        store.close()
    with running_server(create_app(db)) as base:
        yield base


def new_page(browser, monkeypatch, width: int, height: int = 900):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    return context, pg


@pytest.fixture()
def page(browser, monkeypatch):
    context, pg = new_page(browser, monkeypatch, 1360)
    yield pg
    context.close()
    assert pg.errors == [], pg.errors


def api_total(base_url, page, qs: str) -> int:
    return page.request.get(f"{base_url}/api/v1/incidents?{qs}").json()["total"]


def rows(page) -> int:
    return page.locator("table.incidents tbody tr").count()


def test_facets_or_and_not(page, base_url):
    page.goto(base_url + "/")
    page.locator('section[data-facet="type"] a[data-value="ransomware"]').click()
    page.wait_for_url("**/?type=ransomware")
    assert rows(page) == api_total(base_url, page, "type=ransomware") > 0
    page.locator('section[data-facet="type"] a[data-value="ddos"]').click()
    page.wait_for_url("**/?type=ransomware&type=ddos")
    both = api_total(base_url, page, "type=ransomware&type=ddos")
    assert rows(page) == both == 3 + 5 + 3  # the articles' 3, test_facets' 5 and test_pivots' 3
    page.locator('section[data-facet="country"] a[data-not="GB"]').click()
    page.wait_for_url("**/?type=ransomware&type=ddos&not_country=GB")
    assert rows(page) == api_total(base_url, page, "type=ransomware&type=ddos&not_country=GB") < both
    for i in range(rows(page)):
        assert "GB" not in page.locator("table.incidents tbody tr").nth(i).locator("td").nth(4).inner_text()
    chips = page.locator("div.chips a.chip").all_inner_texts()
    assert [c.split("×")[0].strip() for c in chips] == ["type: ransomware", "type: ddos", "not country: GB"]
    shot(page, "desk-01-facets-or-not")
    page.locator('section[data-facet="type"] a.chip.active', has_text="ransomware").click()
    page.wait_for_url("**/?type=ddos&not_country=GB")


def test_timeline_page_labels_years_and_counts_the_undated(page, base_url):
    page.goto(base_url + "/stats")
    page.locator("a", has_text="Timeline of these incidents").click()
    page.wait_for_url("**/timeline")
    ticks = page.locator('svg.chart:not(.timeline) text[text-anchor="middle"]').all_text_contents()
    assert ticks and all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", t) for t in ticks), ticks
    notes = page.locator("p.chart-note").all_inner_texts()
    s = page.request.get(base_url + "/api/v1/stats").json()
    assert notes[0] == f"{s['undated']} undated, {s['year_only']} year-only not on the chart"
    assert page.locator("svg.timeline circle").count() == sum(r["count"] for r in s["by_month"])
    shot(page, "desk-02-timeline")


def test_pivot_pages_from_an_incident(page, base_url):
    page.goto(base_url + "/incidents/t1")
    page.locator("table.facts a.pivot", has_text="T1486").click()
    page.wait_for_url("**/techniques/T1486")
    assert page.locator("h1").inner_text().startswith("T1486")
    assert page.locator("ul.timeline-list li").count() == 4  # t1, t2 and two ransomware incidents of the articles
    shot(page, "desk-03-technique")
    page.goto(base_url + "/incidents/t1")
    page.locator("table.facts a.victim").click()
    page.wait_for_url("**/victims/**")
    assert page.locator("h1").inner_text() == "Fenwick Clinic"
    assert page.locator("ul.timeline-list li").count() == 3  # t1, t2 and test_facets' r1 (all in GB)
    assert "the Fenwick clinic" in page.locator("ul.name-counts").inner_text()
    shot(page, "desk-04-victim")
    page.goto(base_url + "/incidents/t1")
    page.locator("table.facts a.pivot", has_text="CVE-2023-4966").click()
    page.wait_for_url("**/cves/CVE-2023-4966")
    assert page.locator("ul.timeline-list li").count() == 2


PAGES = ["/", "/?type=ransomware&type=ddos&not_country=GB", "/incidents/t1", "/incidents/r3", "/timeline",
         "/timeline?actor=NoName057(16)", "/stats", "/actors", "/victims", "/victims/Fenwick%20Clinic",
         "/techniques", "/techniques/T1486", "/malware/LockBit%203.0", "/cves/CVE-2023-4966", "/paste", "/graph"]


@pytest.mark.parametrize("width", NARROW)
def test_no_page_scrolls_sideways_on_a_phone(browser, monkeypatch, base_url, width):
    context, pg = new_page(browser, monkeypatch, width, 780)
    try:
        article = pg.request.get(base_url + "/api/v1/articles?limit=1").json()["items"][0]["id"]
        actor = pg.request.get(base_url + "/api/v1/actors?limit=1").json()["items"][0]["id"]
        for path in PAGES + [f"/articles/{article}", f"/actors/{actor}"]:
            pg.goto(base_url + path)
            scroll, inner = pg.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
            assert scroll <= inner, (path, width, scroll, inner)
            if path in ("/", "/timeline", "/incidents/t1", "/graph") and width == 360:
                shot(pg, f"desk-narrow-{width}-{path.strip('/').split('/')[0] or 'list'}")
        # the monthly chart keeps readable labels: its container scrolls, the page does not
        pg.goto(base_url + "/timeline")
        font = pg.evaluate("""() => { const t = document.querySelector('svg.chart text.axis');
                                      return t.getBoundingClientRect().height; }""")
        assert font >= 9, font
    finally:
        context.close()
    assert pg.errors == [], pg.errors


def test_graph_nodes_lead_to_their_pages(page, base_url):
    page.goto(base_url + "/?type=ddos")
    page.locator("a", has_text="Graph").click()
    page.wait_for_url("**/graph?type=ddos")
    assert page.locator("h1").inner_text().startswith("Graph · 4 incidents")
    nodes = page.locator("svg.graph a.node")
    # the articles' 1 and the tests' 3 DDoS incidents; NoName057(16) twice (the articles' with its kb id,
    # the tests' by name only, as the actor facet counts them); 4 victims
    assert nodes.count() == 4 + 2 + 4
    shot(page, "desk-05-graph")
    page.locator("svg.graph a.k-actor").first.click()  # (a click on an SVG link follows it)
    page.wait_for_url("**/actors/**")
    assert "NoName057(16)" in page.locator("h1").inner_text()
    page.go_back()
    page.locator("svg.graph a.k-victim", has_text="Port of Skel").click()
    page.wait_for_url("**/victims/**")
    assert page.locator("h1").inner_text() == "Port of Skel"


@pytest.fixture(scope="module")
def big_url(tmp_path_factory):
    """A store of the 300 invented incidents of ``test_graph`` (over 500 nodes drawn)."""
    import test_graph
    from incidex.records import Article

    db = tmp_path_factory.mktemp("graph") / "graph.db"
    store = open_store(db)
    try:
        with store.transaction():
            for inc in test_graph.many():
                store.add_article(Article(id=f"a-{inc.id}", body=f"Invented report {inc.id} for the graph test."))
                store.add_incident(inc, f"a-{inc.id}")
    finally:
        store.close()
    with running_server(create_app(db)) as base:
        yield base


def test_graph_of_three_hundred_incidents(page, big_url, browser, monkeypatch):
    page.goto(big_url + "/graph")
    assert page.locator("h1").inner_text().startswith("Graph · 300 incidents, 40 attackers")
    nodes = page.locator("svg.graph a.node")
    assert nodes.count() > 500
    box = page.locator("svg.graph").bounding_box()
    assert box["width"] > 1000 and box["height"] > 1000  # drawn large enough to tell nodes apart
    shot(page, "desk-06-graph-300")
    # a real click on an attacker's diamond (the first one no other mark or name covers)
    hit = page.evaluate("""() => {
        for (const a of document.querySelectorAll('svg.graph a.k-actor')) {
            const r = a.querySelector('path').getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            if (document.elementFromPoint(x, y)?.closest('a') === a)
                return {x, y, name: a.querySelector('text').textContent, href: a.getAttribute('href')};
        }
        return null; }""")
    assert hit, "every attacker is covered"
    page.mouse.click(hit["x"], hit["y"])
    page.wait_for_url("**" + hit["href"])
    assert page.locator("h1").inner_text() == hit["name"]
    context, narrow = new_page(browser, monkeypatch, 360, 780)
    try:
        narrow.goto(big_url + "/graph")
        assert narrow.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
