"""Several values of a filter (OR within a field, AND across fields) and negation (``not_<field>``).

Runs on SQLite and PostgreSQL (the ``store`` / ``db_url`` fixtures) over eight
invented incidents whose answers are counted by hand below, through the store,
the REST API, the web UI's facet counts and the CLI, so all four agree.
"""
from __future__ import annotations

import json
import warnings
from contextlib import contextmanager

import pytest
from lxml import html as lhtml
from typer.testing import CliRunner

from incidex.records import Actor, Article, DateValue, Incident, Victim
from incidex.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

# id: (types, [(victim, country, sector)], attacker, outcome, date)
INCIDENTS = {
    "r1": (["ransomware"], [("Fenwick Clinic", "GB", "healthcare")], "LockBit", "successful", ("2024-01-10", "day")),
    "r2": (["ransomware", "data-breach"], [("Harlow Bank", "US", "finance")], "Clop", "successful", ("2024-02", "month")),
    "d1": (["ddos"], [("Port of Skel", "DK", "transport")], "NoName057(16)", "attempted", ("2024-03-07", "day")),
    "d2": (["ddos"], [("Borough Council", "GB", "government")], "NoName057(16)", "successful", ("2023-11-02", "day")),
    "e1": (["espionage"], [("Ministry of Paper", "DE", "government")], "APT29", "unknown", ("2023", "year")),
    "w1": (["wiper"], [("Grid East", "UA", "energy")], "Sandworm", "successful", None),
    "p1": (["phishing"], [("Harlow Clinic", "US", "healthcare")], None, "attempted", ("2024-04-01", "day")),
    "r3": (["ransomware"], [("Tarn College", "GB", "education"), ("Lycee Ouest", "FR", "education")], "Akira",
           "successful", ("2024-05-05", "day")),
}


def fill(store) -> None:
    """The eight incidents, one article each."""
    for iid, (types, victims, actor, outcome, when) in INCIDENTS.items():
        store.add_article(Article(id=f"a-{iid}", body=f"A report about incident {iid}, invented for the facet tests."))
        store.add_incident(Incident(
            id=iid, summary=f"incident {iid}", attack_types=types, outcome=outcome,
            attackers=[Actor(name=actor, kind="group")] if actor else [],
            victims=[Victim(name=n, country=c, sector=s) for n, c, s in victims],
            date=DateValue(*when) if when else None), f"a-{iid}")


# (store keywords, query string, CLI arguments, expected incidents)
CASES = [
    ({"attack_type": ["ransomware", "ddos"]}, "type=ransomware&type=ddos", ["--type", "ransomware", "--type", "ddos"],
     {"r1", "r2", "r3", "d1", "d2"}),
    ({"attack_type": ["ransomware", "ddos"], "country": "GB"}, "type=ransomware&type=ddos&country=GB",
     ["--type", "ransomware", "--type", "ddos", "--country", "GB"], {"r1", "r3", "d2"}),
    ({"country": ["US", "DK"]}, "country=US&country=dk", ["--country", "US", "--country", "dk"], {"r2", "d1", "p1"}),
    ({"sector": ["healthcare", "education"]}, "sector=healthcare&sector=education",
     ["--sector", "healthcare", "--sector", "education"], {"r1", "p1", "r3"}),
    ({"outcome": ["attempted", "unknown"]}, "outcome=attempted&outcome=unknown",
     ["--outcome", "attempted", "--outcome", "unknown"], {"d1", "e1", "p1"}),
    ({"actor": ["LockBit", "akira"]}, "actor=LockBit&actor=akira", ["--actor", "LockBit", "--actor", "akira"],
     {"r1", "r3"}),
    # a KB name is a UNION of kb-id and name lookups: less a negation, counted from the indexes too
    ({"actor": ["LockBit", "akira"], "not_country": "FR"}, "actor=LockBit&actor=akira&not_country=FR",
     ["--actor", "LockBit", "--actor", "akira", "--not-country", "FR"], {"r1"}),
    ({"victim": ["Harlow Bank", "harlow clinic"]}, "victim=Harlow+Bank&victim=harlow+clinic",
     ["--victim", "Harlow Bank", "--victim", "harlow clinic"], {"r2", "p1"}),
    ({"not_attack_type": "ddos"}, "not_type=ddos", ["--not-type", "ddos"], {"r1", "r2", "r3", "e1", "w1", "p1"}),
    ({"not_attack_type": ["ddos", "ransomware"]}, "not_type=ddos&not_type=ransomware",
     ["--not-type", "ddos", "--not-type", "ransomware"], {"e1", "w1", "p1"}),
    # an incident with a victim in GB is left out, even when it has another victim elsewhere (r3)
    ({"not_country": "GB"}, "not_country=GB", ["--not-country", "GB"], {"r2", "d1", "e1", "w1", "p1"}),
    ({"country": "GB", "not_attack_type": "ransomware"}, "country=GB&not_type=ransomware",
     ["--country", "GB", "--not-type", "ransomware"], {"d2"}),
    ({"not_sector": ["government", "healthcare"]}, "not_sector=government&not_sector=healthcare",
     ["--not-sector", "government", "--not-sector", "healthcare"], {"r2", "d1", "w1", "r3"}),
    ({"not_outcome": "successful"}, "not_outcome=successful", ["--not-outcome", "successful"], {"d1", "e1", "p1"}),
    ({"not_actor": "NoName057(16)", "attack_type": ["ddos", "wiper"]}, "not_actor=NoName057(16)&type=ddos&type=wiper",
     ["--not-actor", "NoName057(16)", "--type", "ddos", "--type", "wiper"], {"w1"}),
    ({"not_victim": "Tarn College", "country": ["GB", "FR"]}, "not_victim=tarn+college&country=GB&country=FR",
     ["--not-victim", "tarn college", "--country", "GB", "--country", "FR"], {"r1", "d2"}),
    ({"attack_type": "ransomware", "since": "2024-02", "not_country": "FR"},
     "type=ransomware&since=2024-02&not_country=FR", ["--type", "ransomware", "--since", "2024-02",
                                                      "--not-country", "FR"], {"r2"}),
]
IDS = [c[1] for c in CASES]


@contextmanager
def filled_client(db_url, fill_store=None):
    """A test client of the app over a new store of ``db_url`` filled by ``fill_store`` (default: ``fill``)."""
    from incidex.serve.app import create_app

    store = open_store(db_url)
    (fill_store or fill)(store)
    store.close()
    with TestClient(create_app(db_url)) as c:
        yield c


@pytest.fixture()
def filled(db_url):
    store = open_store(db_url)
    fill(store)
    yield store, db_url
    store.close()


@pytest.mark.parametrize("filters, qs, args, want", CASES, ids=IDS)
def test_store_lists_and_counts(filled, filters, qs, args, want):
    store, _ = filled
    assert {i.id for i in store.list_incidents(**filters)} == want
    assert store.count_incidents_matching(**filters) == len(want)
    page, total = store.incident_page_docs(limit=2, count_cap=100, **filters)
    assert total == len(want) and len(page) == min(2, len(want))


def test_api_and_cli_agree_with_the_store(filled):
    store, db_url = filled
    from incidex.cli import app
    from incidex.serve.app import create_app

    runner = CliRunner()
    with TestClient(create_app(db_url)) as c:
        for filters, qs, args, want in CASES:
            page = c.get(f"/api/v1/incidents?{qs}").json()
            assert {i["id"] for i in page["items"]} == want, qs
            assert page["total"] == len(want), qs
            assert c.get(f"/api/v1/stats?{qs}").json()["total"] == len(want), qs
            r = runner.invoke(app, ["incidents", "--db", str(db_url), "-f", "json", *args])
            assert r.exit_code == 0, r.output
            assert {i["id"] for i in json.loads(r.stdout)} == want, args
            ui = lhtml.fromstring(c.get(f"/?{qs}").text)
            assert {a.get("href").rsplit("/", 1)[1] for a in ui.cssselect("a.inc")} == want, qs


def test_group_counts_with_several_values(filled):
    store, _ = filled
    assert sorted(store.incident_counts("type", attack_type=["ransomware", "ddos"])) == \
        [("data-breach", 1), ("ddos", 2), ("ransomware", 3)]
    assert sorted(store.incident_counts("country", not_attack_type="ddos", country=["GB", "FR", "US"])) == \
        [("fr", 1), ("gb", 2), ("us", 2)]


def test_ui_facet_counts_leave_out_their_own_field(filled):
    """With type=ransomware chosen, the type facet still counts every type (to add one with OR) while
    the other facets count only ransomware incidents; negated values are marked."""
    _, db_url = filled
    from incidex.serve.app import create_app

    with TestClient(create_app(db_url)) as c:
        doc = lhtml.fromstring(c.get("/?type=ransomware&not_country=FR").text)
        facet = {s.get("data-facet"): s for s in doc.cssselect("section.facet")}

        def counts(name):
            return {a.get("data-value"): int(a.cssselect("span.n")[0].text_content())
                    for a in facet[name].cssselect("ul.facet-list li > a[data-value]")}

        # not FR leaves out r3, so ransomware is r1 and r2; the type counts ignore type=ransomware
        assert counts("type") == {"ransomware": 2, "ddos": 2, "data-breach": 1, "espionage": 1, "wiper": 1,
                                  "phishing": 1}
        # the country counts keep type=ransomware but not their own negation (FR is there to un-negate)
        assert counts("country") == {"GB": 2, "US": 1, "FR": 1}
        assert counts("outcome") == {"successful": 2}
        on = facet["type"].cssselect("li.on > a[data-value]")
        assert [a.get("data-value") for a in on] == ["ransomware"]
        assert on[0].get("href") == "?not_country=FR"  # clicking a chosen value removes it
        ddos = facet["type"].cssselect('a[data-value="ddos"]')[0]
        assert ddos.get("href") == "?type=ransomware&not_country=FR&type=ddos"
        assert facet["country"].cssselect('a.not.on[data-not="FR"]')
        neg = facet["country"].cssselect("a.chip.neg")
        assert neg and "not France" in neg[0].text_content() and neg[0].get("href") == "?type=ransomware"
        chips = [a.text_content().split("×")[0].strip() for a in doc.cssselect("div.chips a.chip")]
        assert chips == ["type: ransomware", "not country: FR"]


def test_bad_values_name_the_negated_field(filled):
    _, db_url = filled
    from incidex.cli import app
    from incidex.serve.app import create_app

    with TestClient(create_app(db_url)) as c:
        r = c.get("/api/v1/incidents?type=ransomware&not_type=dos")
        assert r.status_code == 422 and r.json()["detail"] == "not_type: dos is not an attack type; did you mean ddos?"
        r = c.get("/api/v1/incidents?country=GB&country=UK")
        assert r.status_code == 422 and "did you mean GB?" in r.json()["detail"]
    r = CliRunner().invoke(app, ["incidents", "--db", str(db_url), "--not-country", "Germany"])
    assert r.exit_code == 2 and "not_country: Germany is not an ISO 3166 alpha-2 code; did you mean DE?" in r.output


def test_alert_keeps_several_values_and_negations(filled):
    store, db_url = filled
    from incidex.alerts import create_alert, filters_text

    alert = create_alert(store, "rw-no-fr", {"attack_type": ["ransomware", "ddos"], "not_country": "fr"})
    assert alert["filters"] == {"attack_type": ["ransomware", "ddos"], "not_country": "FR"}
    assert filters_text(alert["filters"]) == "attack_type=ransomware|ddos, not_country=FR"
    assert {m["doc"]["id"] for m in store.alert_matches(alert["filters"], limit=50)} == {"r1", "r2", "d1", "d2"}


def test_cli_export_and_alerts_take_several_values_and_negations(filled, tmp_path):
    store, db_url = filled
    from incidex.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["export", "--db", str(db_url), "--format", "jsonl", "--type", "ransomware",
                            "--type", "ddos", "--not-country", "GB"])
    assert r.exit_code == 0, r.output
    assert {json.loads(line)["id"] for line in r.stdout.splitlines()} == {"r2", "d1"}
    r = runner.invoke(app, ["alerts", "add", "no-gb", "--db", str(db_url), "--type", "ransomware", "--type", "ddos",
                            "--not-country", "gb"])
    assert r.exit_code == 0, r.output
    assert "alert no-gb: attack_type=ransomware|ddos, not_country=GB" in r.stdout
    assert store.get_alert("no-gb")["filters"] == {"attack_type": ["ransomware", "ddos"], "not_country": "GB"}
