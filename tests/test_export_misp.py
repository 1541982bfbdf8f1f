"""MISP export over a real store of the project's test articles: pymisp round-trip, stable uuids, mapping."""
from __future__ import annotations

import collections
import copy
import io
import json
import re
import uuid

import pytest
from pymisp import MISPEvent
from typer.testing import CliRunner

from fixtures_examples import casie_db, examples_db, examples_store, shipped_galaxies  # noqa: F401  (fixtures)
from fixtures_export import export_db, export_store  # noqa: F401  (fixtures)
from incidex.cli import app
from incidex.export import export, select_incidents
from incidex.export.common import EPOCH, MISP_SECTORS, kb
from incidex.export.misp import events_json, to_event
from incidex.records import Actor, Incident, Victim


def misp_text(store, **filters) -> str:
    buf = io.StringIO()
    export("misp", select_incidents(store, **filters), store, stream=buf)
    return buf.getvalue()


@pytest.fixture()
def events(export_store) -> list[dict]:
    return json.loads(misp_text(export_store))


def loaded(item: dict | str) -> MISPEvent:
    ev = MISPEvent()
    ev.load(copy.deepcopy(item))  # load() consumes the dict it is given
    return ev


def test_round_trip_through_pymisp(events, export_store):
    assert len(events) == export_store.count_incidents() == 5
    for item in events:
        ev = loaded(item)
        raw = item["Event"]
        assert ev.uuid == raw["uuid"]
        assert len(ev.attributes) == len(raw["Attribute"]) > 0
        assert len(ev.EventReport) == len(raw["EventReport"]) >= 1
        assert {t.name for t in ev.tags} == {t["name"] for t in raw["Tag"]}
        # and back to JSON, the same event
        again = json.loads(ev.to_json())
        assert again["uuid"] == raw["uuid"]
        assert [a["uuid"] for a in again["Attribute"]] == [a["uuid"] for a in raw["Attribute"]]
        assert len(again["EventReport"]) == len(raw["EventReport"])
    # a JSON string and one event per line load too
    for item in events:
        assert loaded(json.dumps(item)).uuid == item["Event"]["uuid"]


def test_uuids_are_stable(export_store):
    first = misp_text(export_store)
    assert misp_text(export_store) == first  # identical JSON, timestamps included
    uuids = []
    for item in json.loads(first):
        ev = item["Event"]
        uuids += [ev["uuid"]] + [a["uuid"] for a in ev["Attribute"]] + [r["uuid"] for r in ev["EventReport"]]
    assert len(uuids) == len(set(uuids))
    assert all(uuid.UUID(u).version == 5 for u in uuids)
    # a filtered export gives the same uuids for the same incident
    only = json.loads(misp_text(export_store, attack_type="ddos"))
    assert len(only) == 1
    full = {e["Event"]["uuid"]: e for e in json.loads(first)}
    assert only[0] == full[only[0]["Event"]["uuid"]]


def attrs(item: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a in item["Event"]["Attribute"]:
        out.setdefault(a["type"], set()).add(a["value"])
    return out


def tags(item: dict) -> set[str]:
    return {t["name"] for t in item["Event"]["Tag"]}


def find(events, word) -> dict:
    return next(e for e in events if word in e["Event"]["info"])


def test_attributes_and_galaxy_tags(events):
    hospital = find(events, "Carrow Valley")
    a = attrs(hospital)
    assert a["target-org"] == {"Carrow Valley Medical Centre"}
    assert a["target-location"] == {"United Kingdom"}
    assert a["threat-actor"] == {"LockBit"}
    assert a["link"] == {"https://news.harbourline.test/2024/02/carrow-valley-medical-centre-lockbit",
                         "https://wire.eastcoastdaily.test/tech/carrow-valley-lockbit"}
    t = tags(hospital)
    assert {'misp-galaxy:sector="Health"', 'misp-galaxy:country="united kingdom"',
            'misp-galaxy:ransomware="LockBit"', 'incidex:attack-type="ransomware"',
            'misp-galaxy:mitre-attack-pattern="Data Encrypted for Impact - T1486"'} <= t
    assert len(hospital["Event"]["EventReport"]) == 2  # primary and syndicated source

    apt29 = find(events, "APT29")
    assert {'misp-galaxy:threat-actor="APT29"', 'misp-galaxy:mitre-intrusion-set="APT29 - G0016"'} <= tags(apt29)

    breach = find(events, "Pellwood")
    a = attrs(breach)
    assert a["vulnerability"] == {"CVE-2023-34362"}
    assert a["domain"] == {"pellwood-sync.top"} and a["ip-dst"] == {"45.133.193.41"}
    assert all(not x["to_ids"] for x in breach["Event"]["Attribute"])
    assert breach["Event"]["date"] == "2023-06-30"


def test_event_reports_quote_the_source(events):
    ddos = find(events, "NoName057(16)")
    (report,) = ddos["Event"]["EventReport"]
    assert report["name"].startswith("Source: ")
    assert "https://news.harbourline.test/2024/03/danish-ports-ddos" in report["content"]
    assert "## Evidence" in report["content"]


def test_cli_misp_export(export_db, tmp_path, monkeypatch):
    monkeypatch.delenv("INCIDEX_DB", raising=False)
    out = tmp_path / "events.json"
    res = CliRunner().invoke(app, ["export", "--db", str(export_db), "--format", "misp", "--country", "dk",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    items = json.loads(out.read_text())
    assert len(items) == 1 and loaded(items[0]).info.startswith("NoName057(16)")


# ----------------------------------------------------------------- galaxy clusters of the shipped galaxy files

#: misp-galaxy namespaces whose galaxy file is not shipped: ATT&CK techniques are named
#: "<technique name> - <id>" as MISP's mitre-attack-pattern galaxy does, from the KB's ATT&CK data.
UNSHIPPED_GALAXIES = {"mitre-attack-pattern"}


def galaxy_tag(name: str) -> tuple[str, str] | None:
    """``misp-galaxy:<type>="<value>"`` -> (type, value)."""
    m = re.fullmatch(r'misp-galaxy:([a-z-]+)="(.*)"', name)
    return (m.group(1), m.group(2)) if m else None


def test_every_galaxy_tag_is_a_shipped_cluster(examples_store, shipped_galaxies):
    items = json.loads(misp_text(examples_store))
    assert len(items) >= 25
    seen = collections.Counter()
    for item in items:
        ev = MISPEvent()
        ev.from_dict(**copy.deepcopy(item["Event"]))
        clusters = {c.tag_name: (g, c) for g in ev.galaxies for c in g.clusters}
        tags = [galaxy_tag(t.name) for t in ev.tags if t.name.startswith("misp-galaxy:")]
        for galaxy, value in tags:
            if galaxy in UNSHIPPED_GALAXIES:
                continue
            seen[galaxy] += 1
            shipped = shipped_galaxies[galaxy]["clusters"]
            assert value in shipped.values(), f"{ev.info}: {galaxy}={value!r} is no cluster of {galaxy}.json"
            g, c = clusters[f'misp-galaxy:{galaxy}="{value}"']  # every galaxy tag is in the Galaxy list too
            assert shipped.get(c.uuid) == value and c.type == galaxy
            assert g.uuid == shipped_galaxies[galaxy]["uuid"] and g.type == galaxy
        assert len(clusters) == len([t for t in tags if t[0] not in UNSHIPPED_GALAXIES])
    assert {"threat-actor", "ransomware", "sector", "country", "mitre-intrusion-set"} <= set(seen), seen


def test_cluster_values_where_they_differ_from_attack_names(examples_store):
    items = json.loads(misp_text(examples_store))
    by_actor = {a["value"]: tags(i) for i in items for a in i["Event"]["Attribute"] if a["type"] == "threat-actor"}
    sandworm = by_actor["Sandworm Team"]  # the ATT&CK name stays the attribute value
    assert 'misp-galaxy:threat-actor="Sandworm"' in sandworm
    assert 'misp-galaxy:mitre-intrusion-set="Sandworm Team - G0034"' in sandworm
    assert 'misp-galaxy:threat-actor="Sandworm Team"' not in sandworm
    assert 'misp-galaxy:threat-actor="APT35"' in by_actor["Magic Hound"]
    assert 'misp-galaxy:ransomware="rhysida"' in by_actor["Rhysida"]  # the galaxy's own spelling


def test_states_and_unknown_attackers_get_no_galaxy_tag():
    inc = Incident(id="inc-states", summary="Defacement of a city portal", attack_types=["defacement"],
                   attackers=[Actor("Russia", kind="state"), Actor("Glimmerfox Collective", kind="group")],
                   victims=[Victim("Ostrava city portal", country="CZ", sector="government")])
    item = events_json([to_event(inc, [], EPOCH)])[0]
    assert attrs(item)["threat-actor"] == {"Russia", "Glimmerfox Collective"}
    names = {galaxy_tag(t)[0]: galaxy_tag(t)[1] for t in tags(item) if t.startswith("misp-galaxy:")}
    assert names == {"sector": "Government, Administration", "country": "czechia"}
    assert [g["type"] for g in item["Event"]["Galaxy"]] == ["sector", "country"]


def test_every_sector_mapping_is_a_galaxy_cluster():
    for sector, value in MISP_SECTORS.items():
        assert kb().misp_sector(value) is not None, (sector, value)


def test_casie_train_galaxy_tags_are_shipped_clusters(casie_db, shipped_galaxies):
    """The same check over real news: actors and countries the examples never name."""
    from incidex.export import select_incidents
    from incidex.export.misp import events_json, to_events
    from incidex.store import open_store

    store = open_store(casie_db)
    try:
        items = events_json(to_events(select_incidents(store), store))
    finally:
        store.close()
    assert len(items) >= 40
    checked = 0
    for item in items:
        ev = MISPEvent()
        ev.from_dict(**copy.deepcopy(item["Event"]))
        for tag in ev.tags:
            parsed = galaxy_tag(tag.name) if tag.name.startswith("misp-galaxy:") else None
            if parsed is None or parsed[0] in UNSHIPPED_GALAXIES:
                continue
            galaxy, value = parsed
            assert value in shipped_galaxies[galaxy]["clusters"].values(), f"{ev.info}: {galaxy}={value!r}"
            checked += 1
    assert checked >= 40
