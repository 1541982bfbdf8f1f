"""The facet index counts exactly what the grouped SQL counts (store/facet_index.py, facet_query.py).

Two stores over one database, on SQLite and on PostgreSQL: one with the index
(the default), one with ``[store] facet_index = false`` (the SQL). Over a few
hundred generated incidents with the awkward cases (no victims, victims
without a country, two victims in one country, undated, year-only, background
incidents, actors with and without kb ids, techniques, malware, CVEs), every
group-by dimension under every kind of filter must give the same rows, the
same totals and the same first pages: after the first build, after new
incidents, after rewrites that change an incident's type and country (a
merge does that), and after deletions (a deleted last ``seq`` is reused by
SQLite for the next incident).
"""
from __future__ import annotations

import copy
import random

import pytest

from incidex.records import Actor, Article, Attribution, DateValue, Incident, Victim
from incidex.settings import load_settings
from incidex.store import open_store

TYPES = ["ransomware", "ddos", "data-breach", "espionage", "wiper"]
PLACES = [("GB", "healthcare"), ("US", "finance"), ("DE", "government"), ("FR", None), (None, "energy"),
          (None, None), ("US", "healthcare")]
# (name, kb id): a KB actor under two names, a kb id the KB does not know, actors without one
ACTORS = [("LockBit", None), ("APT28", "attack:G0007"), ("Fancy Bear", "attack:G0007"), ("Clop", None),
          ("Nobody Known", None), ("Akira", "misp:not-in-the-kb")]
DATES = [None, ("2023", "year"), ("2023-05", "month"), ("2024-02-10", "day"), ("2024-02", "day"),
         ("2022-12-31", "day")]
DIMS = ["type", "country", "sector", "actor", "month", "year", "dating", "outcome", "attribution",
        ("month", "type"), ("year", "outcome")]
FILTERS = [
    {}, {"attack_type": "ransomware"}, {"attack_type": ["ddos", "wiper"]}, {"country": "gb"},
    {"country": ["US", "DE"]}, {"sector": "healthcare"}, {"country": "US", "sector": "finance"},
    {"victim": "Victim 3"}, {"victim": ["victim 3", "Victim 7"], "country": "GB"}, {"actor": "LockBit"},
    {"actor": ["APT28", "akira"]}, {"actor": "name:nobody known"}, {"actor": "misp:not-in-the-kb"}, {"actor": "attack:G0007"}, {"outcome": "attempted"},
    {"outcome": ["successful", "unknown"]}, {"since": "2023-06"}, {"until": "2023"},
    {"since": "2023-01", "until": "2024-01"}, {"include_background": False}, {"not_attack_type": "ddos"},
    {"not_country": "US"}, {"not_country": ["GB", "FR"], "attack_type": ["ransomware", "ddos"]},
    {"not_sector": "healthcare"}, {"not_actor": "LockBit"}, {"not_victim": "Victim 3"},
    {"not_outcome": ["attempted"]}, {"technique": "t1486"}, {"malware": ["Emotet", "qakbot"]},
    {"cve": "CVE-2023-34362"}, {"query": "ransomware"}, {"query": "harbour", "country": "GB"},
    {"query": "!!!"}, {"country": "ZZ"}, {"attack_type": "ransomware", "country": ["GB", "US"],
                                          "not_sector": "finance", "not_outcome": "unknown"},
]


def incident(rng: random.Random, k: int) -> Incident:
    victims = [Victim(name=f"Victim {rng.randrange(12)}", country=c, sector=s)
               for c, s in rng.sample(PLACES, rng.choice((0, 1, 1, 1, 2)))]
    attackers = [Actor(name=n, kind="group", kb_id=kb)
                 for n, kb in rng.sample(ACTORS, rng.choice((0, 1, 1, 2)))]
    when = rng.choice(DATES)
    types = rng.sample(TYPES, rng.choice((1, 1, 2)))
    return Incident(id=f"i{k}", summary=f"{' '.join(types)} attack near the {rng.choice(['harbour', 'mill'])}",
                    attack_types=types, attackers=attackers, victims=victims,
                    date=DateValue(*when) if when else None,
                    outcome=rng.choice(["successful", "attempted", "unknown"]),
                    attribution=Attribution(rng.choice(["claimed", "suspected", "unknown"]), []),
                    techniques=rng.sample(["T1486", "T1566"], rng.choice((0, 1))),
                    malware=rng.sample(["Emotet", "QakBot"], rng.choice((0, 0, 1))),
                    cves=rng.sample(["CVE-2023-34362"], rng.choice((0, 1))),
                    background=rng.random() < 0.15)


def add(store, inc: Incident) -> None:
    store.add_article(Article(id=f"a-{inc.id}", body=f"A report of incident {inc.id}, made up for the index tests."))
    store.add_incident(inc, f"a-{inc.id}")


@pytest.fixture()
def stores(db_url):
    """(store with the facet index, store counting in SQL) over one new database."""
    settings = copy.deepcopy(load_settings())
    settings["store"]["facet_index"] = False
    indexed, plain = open_store(db_url), open_store(db_url, settings=settings)
    yield indexed, plain
    indexed.close()
    plain.close()


def filled(store, seed: int, n: int) -> random.Random:
    """``n`` generated incidents written to ``store``; the generator, to make more."""
    rng = random.Random(seed)
    for k in range(n):
        add(store, incident(rng, k))
    return rng


def assert_same(indexed, plain) -> None:
    for f in FILTERS:
        for dim in DIMS:
            assert indexed.incident_counts(dim, **f) == plain.incident_counts(dim, **f), (dim, f)
        assert indexed.incident_counts("actor", top=2, **f) == plain.incident_counts("actor", top=2, **f), f
        assert indexed.count_incidents_matching(**f) == plain.count_incidents_matching(**f), f
        query = f.get("query")
        rest = {k: v for k, v in f.items() if k != "query"}
        got = indexed.incident_page_docs(query=query, limit=20, count_cap=10**6, **rest)
        want = plain.incident_page_docs(query=query, limit=20, count_cap=10**6, **rest)
        assert [d["id"] for d in got[0]] == [d["id"] for d in want[0]], f
        assert got[1] == want[1], f


def test_index_counts_equal_sql_through_writes(stores):
    indexed, plain = stores
    rng = filled(indexed, 17, 150)
    warmed = indexed.warm_counts()
    assert warmed["incidents"] == 150 and warmed["bytes"] > 0
    assert plain.warm_counts() is None
    assert_same(indexed, plain)

    for k in range(150, 180):  # new incidents, written by the other store
        add(plain, incident(rng, k))
    assert_same(indexed, plain)

    for k in rng.sample(range(180), 40):  # rewritten: another type, other victims and countries
        old = indexed.get_incident(f"i{k}")
        new = incident(rng, k)
        new.summary = old.summary
        indexed.put_incident(new, new=False)
    assert_same(indexed, plain)

    version = indexed.incidents_version()
    for k in rng.sample(range(179), 25):  # deleted (a merge deletes the merged incident)
        plain.delete_incident(f"i{k}")
    assert indexed.incidents_version() != version  # a deletion alone changes the caches' marker
    assert_same(indexed, plain)

    plain.delete_incident("i179")  # the last seq: SQLite gives it to the next incident
    add(indexed, incident(rng, 500))
    assert_same(indexed, plain)
    assert indexed.count_incidents_matching() == plain.count_incidents_matching() == 180 - 25 - 1 + 1


def test_a_transaction_counts_its_own_writes(stores):
    """Inside a transaction the counts come from SQL (the index holds committed incidents only)."""
    indexed, plain = stores
    rng = filled(indexed, 3, 20)
    indexed.warm_counts()
    before = indexed.count_incidents_matching()
    with indexed.transaction():
        add(indexed, incident(rng, 99))
        assert indexed.count_incidents_matching() == before + 1
        assert sum(n for _, n in indexed.incident_counts("outcome")) == before + 1
    assert indexed.count_incidents_matching() == before + 1 == plain.count_incidents_matching()
    with pytest.raises(RuntimeError), indexed.transaction():  # rolled back: never counted
        add(indexed, incident(rng, 100))
        assert indexed.count_incidents_matching() == before + 2
        raise RuntimeError("roll back")
    assert indexed.count_incidents_matching() == before + 1 == plain.count_incidents_matching()
    assert indexed.incident_counts("type") == plain.incident_counts("type")


def test_actor_labels_are_get_actors_names(stores):
    """``actor_label`` (the facets' and statistics' labels) names an actor as ``get_actor`` does."""
    indexed, _ = stores
    filled(indexed, 5, 40)
    ids = [a["id"] for a in indexed.list_actors(limit=100)]
    assert any(i.startswith("name:") for i in ids) and any(not i.startswith("name:") for i in ids)
    for actor_id in [*ids, "LockBit", "fancy bear", "name:nobody known", "Akira", "misp:no-such-actor", "Nobody Else"]:
        actor = indexed.get_actor(actor_id)
        assert indexed.actor_label(actor_id) == (actor["name"] if actor else None), actor_id
