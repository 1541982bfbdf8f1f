"""Shapes of real news the extractor must read right (invented articles, one rule each).

Each test would fail without its rule: the platform an installation ran on, a vendor's named
research unit, an AP-style dateline, a town referred to as "the town", a list of victims after
"include" or "such as", a name the tagger cannot read as a noun, an attacker naming itself, and
an attack known by the victim's acronym.
"""
from __future__ import annotations

import incidex
from incidex.extraction.victim_filters import names_platform, speaks_as_researcher


def _victims(res):
    return [v for inc in res.incidents for v in inc.victims]


def _names(res):
    return [v.name for v in _victims(res)]


def test_a_platform_before_a_part_of_an_installation_is_not_the_victim():
    text = ("Hackers breached a Brightwell Motors cloud account on Monday, the carmaker said. The intruders "
            "got in through an unsecured Kubernetes console and exposed Amazon Web Services security "
            "credentials stored in Brightwell's Amazon S3 cloud account.")
    names = _names(incidex.extract(text, published="2024-05-08"))
    assert any("Brightwell" in n for n in names), names
    assert not any(n in ("Amazon", "Kubernetes", "Amazon Web Services") for n in names), names


def test_names_platform_keeps_a_platform_that_was_itself_hit():
    assert names_platform("Kubernetes", " console, which was not password protected")
    assert names_platform("Amazon", " Web Services security credentials")
    assert not names_platform("GitHub", " was hit by a record DDoS attack")
    assert not names_platform("GitHub", " said its servers were hit")
    assert not names_platform("Brightwell", " cloud account")


def test_a_vendors_named_research_unit_speaks_as_researcher():
    assert speaks_as_researcher("'s Nightjar security division, which tracked the group")
    assert speaks_as_researcher("’s Unit 9 researchers said")
    assert not speaks_as_researcher("'s security team found the intrusion")
    text = ("Police in Estonia seized servers of a phishing gang that stole funds from wallet users, acting on "
            "information from Kestrel's Nightjar security division. The gang targeted Coinvault, a wallet service.")
    names = _names(incidex.extract(text, published="2024-02-01"))
    assert "Kestrel" not in names, names


def test_an_ap_dateline_gives_the_victims_country():
    text = ("RIVERTON, Wyo. (AP) — Riverton Memorial Hospital paid hackers a $30,000 ransom after ransomware "
            "locked its computer system on Sunday, officials said.")
    victims = _victims(incidex.extract(text, published="2024-04-03"))
    assert victims and victims[0].name == "Riverton Memorial Hospital", victims
    assert victims[0].country == "US"


def test_a_place_called_the_town_is_its_local_government():
    from incidex.extraction.analyze import FOCUS, VictimCandidate, ref_sector
    from incidex.extraction.pipeline import _resolve_focus, default_extractor

    gaz = default_extractor().gaz
    assert ref_sector("town", gaz) == "government" and ref_sector("village", gaz) == "government"
    assert ref_sector("hospital", gaz) == "healthcare" and ref_sector("company", gaz) is None

    class F:  # the sentence facts _resolve_focus reads: victims only
        def __init__(self, victims):
            self.victims = victims

    lead = VictimCandidate(name="Lakemoor", start=0, end=8, head="lakemoor")
    ref = VictimCandidate(name=FOCUS, start=60, end=68, head=FOCUS, named=False, ref_head="town")
    facts = [F([lead]), F([ref])]
    _resolve_focus(facts, lead, gaz)
    assert facts[1].victims[0].name == "Lakemoor" and lead.sector == "government"
    # end to end: a tagger that reads "Lakemoor" as an adjective still finds the subject
    text = ("Lakemoor has paid part of a ransom to hackers who took over the town's computer system earlier "
            "this month. Staff could not open town files on Monday.")
    assert "Lakemoor" in _names(incidex.extract(text, published="2024-05-20"))


def test_victims_listed_after_include_and_such_as():
    text = ("Personal data of four million customers leaked in a breach at Telmora, the regulator said on Monday. "
            "Telecom operators caught by the breach include Norvia, Celtix and Orbafon, reports suggest. "
            "The breach also affected organisations such as the Dental Society of Varland and the Varland Nurses Union.")
    victims = _victims(incidex.extract(text, published="2024-06-11"))
    names = [v.name for v in victims]
    for n in ("Norvia", "Celtix", "Orbafon", "Dental Society of Varland"):
        assert any(n in x for x in names), names
    assert next(v for v in victims if v.name == "Celtix").sector == "telecom"


def test_a_headline_name_the_tagger_reads_as_an_adverb_is_the_subject():
    text = ("Zentrova takes websites offline after hack and ransom demand\n\n"
            "The ticket seller said all its sites would stay down while it investigates.")
    names = _names(incidex.extract(text, published="2024-06-01"))
    assert "Zentrova" in names, names


def test_an_attacker_naming_itself():
    text = ("Ticket seller Zentrova took its websites offline after a hack. A hacker who goes by \"Kr4kenX\" "
            "has taken credit for the attack and demanded one bitcoin.")
    incs = incidex.extract(text, published="2024-06-01").incidents
    assert incs and [a.name for a in incs[0].attackers] == ["Kr4kenX"], incs
    text = "A group calling itself Grey Tide Collective defaced the website of the Orlen Valley council on Monday."
    incs = incidex.extract(text, published="2024-06-01").incidents
    assert incs and incs[0].attackers[0].name == "Grey Tide Collective"
    text = "A hacker known as the leader of the crew defaced the website of the Orlen Valley council on Monday."
    incs = incidex.extract(text, published="2024-06-01").incidents
    assert not any(a.name.lower().startswith("the") for i in incs for a in i.attackers)


def test_an_attack_known_by_the_victims_acronym_is_its_own_incident_under_its_full_name():
    text = ("Last month, staff at the Nevada Department of Transportation found ransom notes on their screens. "
            "Last spring, Harlow General Hospital was attacked by ransomware and paid $40,000. "
            "Officials are still investigating the NDOT ransomware attack that took 2,000 computers offline.")
    incs = incidex.extract(text, published="2024-03-10").incidents
    by_victim = {v.name: inc for inc in incs for v in inc.victims}
    assert "Nevada Department of Transportation" in by_victim, by_victim
    assert "Harlow General Hospital" in by_victim
    assert by_victim["Nevada Department of Transportation"] is not by_victim["Harlow General Hospital"]
    ndot = next(v for v in by_victim["Nevada Department of Transportation"].victims)
    assert "NDOT" in ndot.aliases and ndot.sector == "transport"
