"""STIX 2.1 export as OpenCTI reads it, checked on the example articles and on incidents written here.

* the whole export of ``examples/`` passes stix2-validator in **strict** mode
  (warnings are errors) with only the checks docs/exports.md explains disabled;
* ``first_seen``/``last_seen`` span the period the incident date covers, and
  are absent for an undated incident;
* attack types, outcome and attribution are labels and ``incident_type``;
  outcome and impact are a ``note``;
* named victims are ``organization`` identities ``part-of`` a sector identity;
  unnamed ones are never identities: the incident targets their sector and
  country instead. Every sector term is in the STIX 2.1 industry-sector-ov.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timezone

import pytest
from stix2validator import ValidationOptions, validate_string
from stix2validator.v21.enums import INDUSTRY_SECTOR_OV

from fixtures_examples import casie_db, examples_db, examples_store  # noqa: F401  (fixtures)
from incidex.export import select_incidents
from incidex.export.common import STIX_INDUSTRY_SECTORS, STIX_SECTORS
from incidex.export.stix import EXTENSION_ID, TOPLEVEL_ID, serialize, stix_id, to_bundle
from incidex.records import Actor, Attribution, DateValue, Impact, Incident, Victim
from incidex.store import open_store
from test_export_stix import ACCEPTED_WARNINGS, by_type

#: stix2-validator checks the strict run disables: each is a warning docs/exports.md lists and explains
#: ({103} UUIDv5 ids, {202} relationships STIX suggests for no incident / part-of for identities,
#: {302} links to pages we do not hash). Any other warning fails the test.
STRICT = ValidationOptions(version="2.1", strict=True, disabled=",".join(sorted(ACCEPTED_WARNINGS)))


@pytest.fixture(scope="module")
def examples_text(examples_db) -> str:
    store = open_store(examples_db)
    try:
        return serialize(to_bundle(select_incidents(store), store))
    finally:
        store.close()


def test_casie_train_export_is_strictly_valid(casie_db):
    """Real news (CASIE train): more shapes of victims, dates and actors than our own examples."""
    store = open_store(casie_db)
    try:
        text = serialize(to_bundle(select_incidents(store), store))
    finally:
        store.close()
    bundle = json.loads(text)
    assert len(by_type(bundle)["incident"]) >= 40
    result = validate_string(text, STRICT)
    assert result.errors == [], [str(e) for e in result.errors[:20]]
    assert result.is_valid
    # no victim is an identity of class "class" (unnamed victims are sector + location targets)
    victims = {r["target_ref"] for r in by_type(bundle)["relationship"] if r["relationship_type"] == "targets"}
    classes = {o["id"] for o in by_type(bundle)["identity"] if o.get("identity_class") == "class"}
    sectors = {o["id"] for o in by_type(bundle)["identity"] if o.get("identity_class") == "class"
               and o["name"] in STIX_INDUSTRY_SECTORS.values() and len(o.get("sectors", [])) == 1}
    assert victims & classes <= sectors


def export(store, *incidents: Incident) -> dict:
    """The bundle of incidents written in a test (the store only lends its, here empty, sources)."""
    return json.loads(serialize(to_bundle(list(incidents), store)))


def test_examples_export_is_strictly_valid(examples_text):
    bundle = json.loads(examples_text)
    assert len(by_type(bundle)["incident"]) >= 25
    result = validate_string(examples_text, STRICT)
    assert result.errors == [], [str(e) for e in result.errors[:20]]
    assert result.is_valid
    # without disabling anything, the only warnings are the accepted ones
    lax = validate_string(examples_text, ValidationOptions(version="2.1"))
    codes = Counter(re.search(r"\{(\d+)\}", str(w)).group(1) for w in lax.warnings)
    assert lax.errors == [] and set(codes) <= ACCEPTED_WARNINGS, codes


def test_strict_validation_can_fail(examples_text):
    bad = json.loads(examples_text)
    ident = next(o for o in bad["objects"] if o["type"] == "identity" and o.get("sectors"))
    ident["sectors"] = ["government-emergency-services"]  # the old, non-vocabulary law-enforcement term
    result = validate_string(json.dumps(bad), STRICT)
    assert not result.is_valid and any("industry-sector" in str(e) for e in result.errors)


def dated(value: str | None, precision: str = "day") -> Incident:
    date = DateValue(value, precision) if value else None
    return Incident(id=f"inc-{value}-{precision}", summary=f"Ransomware at Bellmoor Dairy ({value})",
                    attack_types=["ransomware"], date=date,
                    victims=[Victim("Bellmoor Dairy", country="IE", sector="manufacturing")])


@pytest.mark.parametrize("value, precision, first, last", [
    ("2024-03-14", "day", "2024-03-14T00:00:00Z", "2024-03-14T23:59:59.999Z"),
    ("2024-02", "month", "2024-02-01T00:00:00Z", "2024-02-29T23:59:59.999Z"),
    ("2024-03-14", "month", "2024-03-01T00:00:00Z", "2024-03-31T23:59:59.999Z"),
    ("2023", "year", "2023-01-01T00:00:00Z", "2023-12-31T23:59:59.999Z"),
    ("2024-03-14", "week", "2024-03-11T00:00:00Z", "2024-03-17T23:59:59.999Z"),
])
def test_first_and_last_seen_span_the_date(examples_store, value, precision, first, last):
    (inc,) = by_type(export(examples_store, dated(value, precision)))["incident"]
    assert (inc["first_seen"], inc["last_seen"]) == (first, last)
    assert inc["extensions"][TOPLEVEL_ID] == {"extension_type": "toplevel-property-extension"}
    assert inc["extensions"][EXTENSION_ID]["date_precision"] == precision  # the extension keeps the original


def test_undated_incident_has_no_seen_times(examples_store):
    (inc,) = by_type(export(examples_store, dated(None)))["incident"]
    assert "first_seen" not in inc and "last_seen" not in inc
    assert "date" not in inc["extensions"][EXTENSION_ID]


def test_examples_seen_times_follow_their_dates(examples_text, examples_store):
    incidents = {i["extensions"][EXTENSION_ID]["incidex_id"]: i for i in by_type(json.loads(examples_text))["incident"]}
    for rec in select_incidents(examples_store):
        inc = incidents[rec.id]
        if rec.date is None:
            assert "first_seen" not in inc
            continue
        first = datetime.fromisoformat(inc["first_seen"].replace("Z", "+00:00"))
        last = datetime.fromisoformat(inc["last_seen"].replace("Z", "+00:00"))
        assert first.tzinfo == timezone.utc and first < last
        day = datetime.fromisoformat((rec.date.value + "-01-01")[:10]).replace(tzinfo=timezone.utc)
        assert first <= day < last, (rec.date, inc["first_seen"], inc["last_seen"])  # the date is in its period


def test_types_labels_and_impact_note(examples_store):
    inc = Incident(id="inc-impact", summary="Rooksby Clinics breach", attack_types=["data-breach", "ransomware"],
                   outcome="successful", attribution=Attribution("claimed", ["Halvard Crew"]),
                   attackers=[Actor("Halvard Crew", kind="group")], date=DateValue("2024-05-02", "day"),
                   impact=Impact(people_affected=12500, data_leaked=True),
                   victims=[Victim("Rooksby Clinics", country="GB", sector="healthcare")])
    t = by_type(export(examples_store, inc))
    (obj,) = t["incident"]
    assert obj["incident_type"] == "ransomware"  # ransomware wins over data-leak
    assert obj["labels"] == ["data-breach", "ransomware", "outcome-successful", "attribution-claimed"]
    assert "Outcome: successful." in obj["description"] and "Attribution: claimed (by Halvard Crew)." in obj["description"]
    notes = {n["abstract"].split(":")[0]: n for n in t["note"]}
    assert set(notes) == {"Outcome", "Attribution"}
    impact = notes["Outcome"]
    assert impact["object_refs"] == [obj["id"]] and impact["labels"] == ["outcome-successful"]
    assert "12,500 people affected." in impact["content"] and "Data was leaked." in impact["content"]
    assert impact["abstract"] == "Outcome: successful; 12,500 people affected."


def test_named_victims_are_organizations_part_of_their_sector(examples_text):
    t = by_type(json.loads(examples_text))
    rels = {(r["source_ref"], r["relationship_type"], r["target_ref"]) for r in t["relationship"]}
    idents = {o["id"]: o for o in t["identity"]}
    incident_ids = {i["id"] for i in t["incident"]}
    victims = [idents[tgt] for s, r, tgt in rels if r == "targets" and s in incident_ids and tgt in idents]
    assert victims
    for v in victims:
        if v["identity_class"] == "organization":
            for term in v.get("sectors", []):
                assert (v["id"], "part-of", stix_id("identity", "sector", term)) in rels, v["name"]


def test_no_class_identity_stands_for_a_victim(examples_text, examples_store):
    unnamed = Incident(id="inc-unnamed", summary="Attack on the national police of France",
                       attack_types=["ddos"], outcome="successful",
                       victims=[Victim("national police", country="FR", sector="law-enforcement", named=False),
                                Victim("same group", named=False),
                                Victim("Gendarmerie Web Portal", country="FR", sector="law-enforcement")])
    for bundle in (json.loads(examples_text), export(examples_store, unnamed)):
        t = by_type(bundle)
        for ident in t["identity"]:
            if ident["identity_class"] == "class":  # only the sectors of the vocabulary
                (term,) = ident["sectors"]
                assert ident["id"] == stix_id("identity", "sector", term)
                assert ident["name"] == STIX_INDUSTRY_SECTORS[term]
    t = by_type(export(examples_store, unnamed))
    names = {o["name"] for o in t["identity"]}
    assert "national police" not in names and "same group" not in names
    (inc,) = t["incident"]
    targets = {r["target_ref"]: r for r in t["relationship"]
               if r["source_ref"] == inc["id"] and r["relationship_type"] == "targets"}
    sector = stix_id("identity", "sector", "emergency-services")
    assert sector in targets and "national police" in targets[sector]["description"]
    assert stix_id("location", "country", "FR") in targets
    assert "Unnamed victims: national police; same group." in inc["description"]
    portal = next(o for o in t["identity"] if o["name"] == "Gendarmerie Web Portal")
    assert portal["identity_class"] == "organization" and portal["sectors"] == ["emergency-services"]
    assert portal["id"] in targets


def test_sector_vocabulary_is_stix_2_1():
    assert set(STIX_INDUSTRY_SECTORS) == set(INDUSTRY_SECTOR_OV)  # the validator's copy of the vocabulary
    assert set(STIX_SECTORS.values()) <= set(INDUSTRY_SECTOR_OV)
    assert STIX_SECTORS["law-enforcement"] == "emergency-services"
