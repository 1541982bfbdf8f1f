"""The web UI in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

uvicorn serves the app on 127.0.0.1 (a free port, in a thread, stopped at the
end) over a copy of the export test store. The test loads the incident list,
filters it by country with a facet, opens an incident, hovers a fact and sees
its evidence marked in the article text, pastes an article and sees its
extraction, and looks at the statistics and an actor. Screenshots go to
``tests/artifacts/`` (not committed); the browser console must stay free of
errors (a blocked script or style would show there: the CSP allows only the
app's own files).

Needs ``/usr/bin/chromium`` (``.ci/run`` installs it with apt); Playwright's own
browser download is never used.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from fixtures_export import copy_store, export_db, running_server  # noqa: F401  (fixture)
from incidex.serve.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARTICLE = (
    "Title: Port operator hit by ransomware\n\n"
    "A ransomware attack disrupted booking systems at the Saltmere Harbour Authority in Norway on Monday, "
    "the authority said.\n"
    "The Akira ransomware gang claimed the attack on its leak site and said it had stolen contracts.\n"
    "Ferries kept running while engineers restored the systems from backups.\n"
)


@pytest.fixture(scope="module")
def base_url(export_db, tmp_path_factory):
    db = copy_store(export_db, tmp_path_factory.mktemp("browser") / "ui.db")
    with running_server(create_app(db)) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), ("headless Chromium is missing: install Debian's package "
                               "(apt-get install -y chromium; .ci/run does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser, monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    context.close()
    assert errors == [], errors


def shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_list_filter_incident_evidence(page, base_url):
    page.goto(base_url + "/")
    rows = page.locator("table.incidents tbody tr")
    all_rows = rows.count()
    assert all_rows >= 5
    shot(page, "01-incidents")

    page.locator('section[data-facet="country"] a[data-value="GB"]').click()
    page.wait_for_url("**/?country=GB")
    assert 0 < rows.count() < all_rows
    for i in range(rows.count()):
        assert "GB" in rows.nth(i).locator("td").nth(4).inner_text()
    assert page.locator('section[data-facet="country"] a.chip.active').inner_text().startswith("United Kingdom")
    shot(page, "02-filtered-by-country")

    page.locator("a.inc", has_text="Carrow Valley").first.click()
    page.wait_for_url("**/incidents/**")
    assert "Carrow Valley" in page.locator("h1").inner_text()
    marks = page.locator("details[open] mark.ev")
    assert marks.count() > 0 and marks.first.is_visible()
    victim = page.locator("tr.fact.has-ev", has_text="Carrow Valley Medical Centre")
    key = victim.get_attribute("data-ev")
    victim.hover()
    lit = page.locator("mark.ev.lit")
    assert lit.count() > 0
    assert all(key in lit.nth(i).get_attribute("data-ev").split() for i in range(lit.count()))
    assert "Carrow Valley Medical Centre" in "".join(lit.nth(i).inner_text() for i in range(lit.count()))
    shot(page, "03-incident-evidence")


def test_paste_an_article(page, base_url):
    page.goto(base_url + "/paste")
    page.fill("textarea#content", ARTICLE)
    page.click("button[type=submit]")
    page.wait_for_selector("h2.result-head")
    assert page.locator("h2.result-head").inner_text().startswith("1 incident found")
    assert "Saltmere Harbour Authority" in page.locator("table.facts").inner_text()
    strong = [t.strip() for t in page.locator("mark.ev-m").all_inner_texts()]
    assert "Saltmere Harbour Authority" in strong
    assert page.locator("textarea#content").input_value().startswith("Title: Port operator")  # kept for edits
    shot(page, "04-paste-extraction")


def test_statistics_and_actor(page, base_url):
    page.goto(base_url + "/stats")
    assert page.locator("svg.chart").count() >= 5
    assert page.locator("svg.chart rect.t-ransomware").count() > 0
    shot(page, "05-statistics")
    page.goto(base_url + "/actors")
    page.locator("td a", has_text="APT29").first.click()
    page.wait_for_url("**/actors/**")
    assert "Cozy Bear" in page.locator("p.aliases").inner_text()
    assert page.locator("svg.timeline circle").count() >= 1
    shot(page, "06-actor")
