"""Tests of the knowledge base (incidex.extraction.kb and scripts/build_kb.py).

All sentences here are written for these tests.
"""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from incidex.extraction.kb import KB_PATH, ActorInfo, load_kb, norm_key
from incidex.records import SECTORS, Actor

REPO = Path(__file__).resolve().parents[1]
KB_SRC = REPO.parent / "shared" / "data" / "kb"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("INCIDEX_KB_EXTRA", raising=False)
    monkeypatch.delenv("INCIDEX_KB_EXCLUDE", raising=False)


# ----------------------------------------------------------------- actors

@pytest.mark.parametrize("surface", [
    "Homeland Justice", "HomeLand Justice", "HOMELAND JUSTICE", "homeland justice", "  Homeland   Justice ",
    "Home\u200bland Justice", "Homeland\u200b Justice", "Homeland-Justice", "\uff28omeland Justice",
    "Homeland Justice's",
])
def test_homeland_justice_is_its_own_entry(kb, surface):
    a = kb.resolve_actor(surface)
    assert a is not None
    assert a.name == "Homeland Justice"
    assert a.kb_id == "attack:C0038"
    assert a.state_link == "IR"
    assert a.kind == "group"
    assert "VOID MANTICORE" in a.related
    assert a.entry_type == "campaign"


def test_void_manticore_keeps_the_persona_as_alias_and_relation(kb):
    vm = kb.resolve_actor("Void Manticore")
    assert vm.kb_id == "attack:G1055"
    assert vm.state_link == "IR"
    assert "Homeland Justice" in vm.aliases
    assert "attack:C0038" in vm.related_ids


def test_homeland_justice_dates_and_actor_record(kb):
    assert kb.campaign_dates("Homeland Justice") == ("2021-05-01", "2022-09-01")
    first, last = kb.active_period("attack:C0038")
    assert (first.year, last.year) == (2021, 2022)
    rec = kb.resolve_actor("homeland justice").to_actor(mention="Homeland Justice")
    assert isinstance(rec, Actor)
    assert rec.to_dict()["kb_id"] == "attack:C0038" and rec.state_link == "IR"


@pytest.mark.parametrize("surface", ["APT28", "Fancy Bear", "Sofacy", "apt 28", "STRONTIUM", "Forest Blizzard"])
def test_apt28_aliases_share_one_entry(kb, surface):
    a = kb.resolve_actor(surface)
    assert a.kb_id == "attack:G0007"
    assert a.name == "APT28"
    assert a.state_link == "RU"


@pytest.mark.parametrize("surface,kb_id,state", [
    ("Lazarus Group", "attack:G0032", "KP"),
    ("Lazarus", "attack:G0032", "KP"),
    ("MuddyWater", "attack:G0069", "IR"),
    ("Mango Sandstorm", "attack:G0069", "IR"),
    ("Sandworm", "attack:G0034", "RU"),
    ("Volt Typhoon", "attack:G1017", "CN"),
])
def test_known_groups(kb, surface, kb_id, state):
    a = kb.resolve_actor(surface)
    assert (a.kb_id, a.state_link) == (kb_id, state)


def test_unknown_and_empty_surfaces(kb):
    assert kb.resolve_actor("") is None
    assert kb.resolve_actor("   ") is None
    assert kb.resolve_actor("Definitely Not A Threat Group 9000") is None


def test_group_suffix_fallback(kb):
    assert kb.resolve_actor("the Tick group").kb_id == kb.resolve_actor("Tick").kb_id


def test_campaign_inherits_group_state_link(kb):
    a = kb.resolve_actor("Operation Dream Job")
    assert a.kb_id.startswith("attack:C")
    assert a.attributed_to == "Lazarus Group"
    assert a.state_link == "KP"


def test_actor_info_is_typed(kb):
    a = kb.resolve_actor("APT28")
    assert isinstance(a, ActorInfo)
    assert isinstance(a.aliases, tuple) and "Fancy Bear" in a.aliases
    assert kb.actor("attack:G0007") == a


# ----------------------------------------------------------------- user extensions

def test_extra_actors_yaml_and_env(tmp_path, monkeypatch):
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "- name: Copper Heron\n"
        "  aliases: [CH-17 crew, Heron Unit]\n"
        "  state_link: ir\n"
        "  kind: group\n", encoding="utf-8")
    kb = load_kb(extra_actors=extra)
    a = kb.resolve_actor("copper heron")
    assert a.name == "Copper Heron" and a.state_link == "IR" and a.kind == "group"
    assert a.kb_id == "user:copper-heron"
    assert kb.resolve_actor("Heron Unit").kb_id == a.kb_id
    found = kb.find("Analysts blamed Copper Heron for the outage.", kinds=("actor",))
    assert [m.text for m in found] == ["Copper Heron"]
    # the built-in KB is untouched
    assert load_kb().resolve_actor("Copper Heron") is None
    monkeypatch.setenv("INCIDEX_KB_EXTRA", str(extra))
    assert load_kb().resolve_actor("CH-17 crew").name == "Copper Heron"


def test_extra_actors_json_override_builtin_name(tmp_path):
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"actors": [
        {"name": "Fancy Bear", "aliases": [], "state_link": "RU", "kind": "group", "kb_id": "user:fb"}]}),
        encoding="utf-8")
    kb = load_kb(extra_actors=extra)
    a = kb.resolve_actor("Fancy Bear")
    assert a.kb_id == "user:fb"
    assert "attack:G0007" in a.related_ids
    assert kb.resolve_actor("Sofacy").kb_id == "attack:G0007"


def test_bad_extra_file_is_a_documented_error(tmp_path):
    from incidex.records import IncidexError
    bad = tmp_path / "bad.yaml"
    bad.write_text("just a string\n", encoding="utf-8")
    with pytest.raises(IncidexError):
        load_kb(extra_actors=bad)


def test_exclusion_list(tmp_path, monkeypatch):
    ex = tmp_path / "exclude.txt"
    ex.write_text("# false positives\nFancy Bear\nWannaCry\n", encoding="utf-8")
    kb = load_kb(exclude=ex)
    assert kb.resolve_actor("Fancy Bear") is None
    assert kb.resolve_actor("fancy  bear") is None
    assert kb.resolve_actor("APT28").kb_id == "attack:G0007"
    assert kb.resolve_malware("WannaCry") is None
    text = "Fancy Bear and WannaCry were named in the report, and so was APT28."
    assert [m.text for m in kb.find(text, kinds=("actor", "malware"))] == ["APT28"]
    monkeypatch.setenv("INCIDEX_KB_EXCLUDE", str(ex))
    assert load_kb().resolve_actor("Fancy Bear") is None


# ----------------------------------------------------------------- matching policy

ORDINARY_PROSE = """
Every spring the village holds a fair on the green. Children play games at the edge of the field, and a brass band
plays marches until dusk. Last year the weather was kind: no storm, no hail, just a warm wind from the sea. Storm
clouds gathered only once, and the organisers moved the magic show into the church hall, where a retired teacher
solved an equation on a blackboard to the delight of the crowd.

Royal visitors rarely come, but in June a duke opened the new library. Inception of the project dates back to 1998,
when a patchwork of local charities raised the first funds. The builders chose cobalt blue tiles, oak beams and a
copper roof; one tick of the town clock still marks every quarter hour. Magic, say the older residents, is simply
patience. Phoenix, the bakery on the corner, sells bread shaped like a snake, and its owner keeps a python in a
glass tank behind the counter. Karma, she says, rewards those who feed the birds.

Empire builders of the past left their mark on the harbour. A sea turtle was spotted near the pier, and a charming
kitten followed the fishermen home. The cutting edge of the local economy is now tourism: visitors come for the
rising sun over the cold river, a silver fox in the woods and the lucky cat statues in the souvenir shop. On clear
nights amateur astronomers look into outer space, and on Sundays a net is stretched across the square for a game of
volleyball. The mayor said the town would ping residents by text message at noon when the market opens.

Turkish coffee and Russian tea are served in the cafe, and the menu lists Brazilian beans, Indian spices and French
pastries. Tick the box on the form to join the choir. Patchwork quilts, cobalt glass and a bright red kite hang in
the window. Final notices for the autumn concert will be posted by the gate, along with the result of the quiz night,
where the winning team answered every question about the equation of time, the evil eye of folk tales and the silk
road. Night falls early in winter; the lamplighter, the judge and the postman walk home together, and the light in
the lighthouse turns on at dusk. Done with work, the bakers play cards until late, and at 3am the streets are quiet.
Global demand for wool keeps the old mill busy; its owner, Akira, says the river still turns the wheel.
"""


def test_ordinary_prose_has_no_actor_or_malware_match(kb):
    found = kb.find(ORDINARY_PROSE, kinds=("actor", "malware"))
    assert found == [], [(m.text, m.key) for m in found]


def test_ordinary_prose_with_a_hand_built_automaton(kb):
    """The surfaces alone, used the way a consumer would, match nothing either."""
    import ahocorasick
    cs, ci = ahocorasick.Automaton(), ahocorasick.Automaton()
    for s, kb_id in kb.actor_surfaces() + kb.malware_surfaces():
        if kb.is_case_sensitive(s):
            cs.add_word(s, (s, kb_id))
        else:
            ci.add_word(s.lower(), (s, kb_id))
    cs.make_automaton()
    ci.make_automaton()
    hits = []
    for auto, hay in ((cs, ORDINARY_PROSE), (ci, ORDINARY_PROSE.lower())):
        for end, (s, kb_id) in auto.iter(hay):
            start = end - len(s) + 1
            before = hay[start - 1] if start else " "
            after = hay[end + 1] if end + 1 < len(hay) else " "
            if not before.isalnum() and not after.isalnum():
                hits.append(s)
    assert hits == []


def test_surface_policy(kb):
    actors = dict(kb.actor_surfaces())
    malware = dict(kb.malware_surfaces())
    for word in ("at", "net", "Net", "ping", "cmd", "Reg", "Tick", "Equation", "Inception", "Patchwork", "Play", "Karma"):
        assert word not in actors and word not in malware, word
    assert all(len(norm_key(s)) >= 3 for s in list(actors) + list(malware))
    assert "Fancy Bear" in actors and "Lazarus Group" in actors and "Lazarus group" in actors
    assert kb.is_case_sensitive("APT28") and not kb.is_case_sensitive("Sandworm Team")
    assert kb.is_case_sensitive("Charming Kitten")  # ordinary words: matched only as written
    ci = dict(kb.actor_surfaces(case_sensitive=False))
    assert all(len(s.split()) > 1 for s in ci)


def test_news_style_matches(kb):
    text = ("Investigators said Fancy Bear and the Lazarus Group were busy, the Tick group hit a supplier, "
            "Charming Kitten sent lures, the Play ransomware gang leaked files and an analyst ran\u200b WannaCry "
            "samples; Home\u200bland Justice claimed a second wave. A charming kitten slept.")
    got = [(m.kind, m.text) for m in kb.find(text, kinds=("actor", "malware"))]
    assert ("actor", "Fancy Bear") in got
    assert ("actor", "Lazarus Group") in got
    assert ("actor", "Tick group") in got
    assert ("actor", "Charming Kitten") in got and ("actor", "charming kitten") not in got
    assert ("malware", "Play ransomware gang") in got
    assert ("malware", "WannaCry") in got
    hj = [m for m in kb.find(text, kinds=("actor",)) if m.key == "attack:C0038"]
    assert len(hj) == 1 and text[hj[0].start:hj[0].end] == "Home\u200bland Justice"
    assert kb.resolve_malware("Play ransomware gang") is not None


def test_gazetteer_entries_shape(kb):
    kinds = set()
    for surface, kind, key, case_sensitive in kb.gazetteer_entries():
        kinds.add(kind)
        assert isinstance(surface, str) and isinstance(case_sensitive, bool) and key
    assert kinds == {"actor", "malware", "country", "demonym", "city"}


# ----------------------------------------------------------------- malware & techniques

def test_malware(kb):
    w = kb.resolve_malware("wannacry")
    assert w.kind == "ransomware" and w.kb_id.startswith("attack:S")
    assert kb.resolve_malware("Mimikatz").kind == "tool"
    assert kb.resolve_malware("LockBit 3.0 ransomware").name.lower().startswith("lockbit")
    assert kb.resolve_malware("ROADSWEEP").kind == "ransomware"


def test_techniques(kb):
    t = kb.technique("t1485")
    assert t.name == "Data Destruction" and "impact" in t.tactics
    assert kb.technique_for("Phishing").id == "T1566"
    assert kb.technique_for("data destruction").id == "T1485"
    assert kb.technique("T9999") is None
    phrases = kb.technique_phrases()
    assert phrases["wiper"] == "T1485"


# ----------------------------------------------------------------- countries

@pytest.mark.parametrize("text,iso", [
    ("Albania", "AL"), ("Albanian", "AL"), ("Tehran", "IR"), ("U.S.", "US"), ("United Kingdom", "GB"),
    ("US", "US"), ("the UK", "GB"), ("Iran's", "IR"), ("Russia\u2019s", "RU"), ("North Korean", "KP"),
    ("Kyiv", "UA"), ("Kiev", "UA"), ("Pyongyang", "KP"), ("Beijing", "CN"), ("Moscow", "RU"), ("Tirana", "AL"),
    ("Washington", "US"), ("London", "GB"), ("Iranians", "IR"), ("Russian Federation", "RU"),
    ("Korea (Democratic People's Republic of)", "KP"), ("Iran (Islamic Republic of)", "IR"),
    ("Albanian parliament", "AL"),
])
def test_country(kb, text, iso):
    assert kb.country(text) == iso


def test_country_negatives_and_names(kb):
    assert kb.country("us") is None
    assert kb.country("") is None
    assert kb.country("the committee") is None
    assert kb.country_name("IR") == "Iran"
    assert kb.country_name("US") == "United States"
    assert kb.country_name("ZZ") is None
    surfaces = dict(kb.country_surfaces())
    assert surfaces["Albania"] == "AL" and surfaces["Tehran"] == "IR" and surfaces["U.S."] == "US"
    assert "Georgia" not in surfaces and "Jersey" not in surfaces
    found = kb.find("Officials in Tirana blamed Iran's hackers; the U.S. agreed.", kinds=("country", "city", "demonym"))
    assert [(m.text, m.key) for m in found] == [("Tirana", "AL"), ("Iran", "IR"), ("U.S.", "US")]


# ----------------------------------------------------------------- sectors

@pytest.mark.parametrize("phrase,sector", [
    ("Albanian parliament", "legislature"),
    ("the Senate", "legislature"),
    ("telecom company", "telecom"),
    ("a mobile operator", "telecom"),
    ("Albania's flag carrier", "aviation"),
    ("the international airport", "aviation"),
    ("national police border-control systems", "law-enforcement"),
    ("government online public services", "government"),
    ("a regional hospital", "healthcare"),
    ("university hospital", "healthcare"),
    ("the defence ministry", "military"),
    ("a community bank", "finance"),
    ("water utility", "utilities"),
    ("an oil and gas company", "energy"),
    ("a school district", "education"),
    ("online retailer", "retail"),
    ("a local newspaper", "media"),
    ("video game developer", "entertainment"),
])
def test_sector(kb, phrase, sector):
    assert kb.sector(phrase) == sector


def test_sector_keywords(kb):
    kw = kb.sector_keywords()
    assert set(kw.values()) <= set(SECTORS)
    assert kw["parliament"] == "legislature" and kw["isp"] == "telecom" and kw["airline"] == "aviation"
    assert kw["hospital"] == "healthcare" and kw["border police"] == "law-enforcement"
    assert kb.sector("the weather") is None


# ----------------------------------------------------------------- the build

def test_kb_file_is_compact():
    assert KB_PATH.exists()
    assert KB_PATH.stat().st_size < 3_000_000
    with gzip.open(KB_PATH, "rt", encoding="utf-8") as f:
        raw = json.load(f)
    assert raw["format"] == 1
    assert len(raw["actors"]) > 1000 and len(raw["malware"]) > 1000 and len(raw["techniques"]) > 500
    sources = (KB_PATH.parent / "KB_SOURCES.md").read_text(encoding="utf-8")
    assert "The MITRE Corporation" in sources and "CC0" in sources


@pytest.mark.slow
@pytest.mark.skipif(not KB_SRC.exists(), reason="shared KB sources not present")
def test_build_is_deterministic_and_fast(tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        t0 = time.time()
        subprocess.run([sys.executable, str(REPO / "scripts" / "build_kb.py"), "--src", str(KB_SRC), "--out", str(out)],
                       check=True, capture_output=True)
        assert time.time() - t0 < 30
        outs.append((out / "kb.json.gz").read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] == KB_PATH.read_bytes(), "src/incidex/data/kb.json.gz is stale: run scripts/build_kb.py"
