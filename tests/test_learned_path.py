"""The default (learned) extraction path on articles written for these tests."""
from __future__ import annotations

import incidex
from incidex.extraction.victim_filters import DATELINE, is_reporter


def names(res):
    return [[v.name for v in inc.victims] for inc in res.incidents]


def test_dateline_and_news_agency_are_not_victims():
    text = ("DUNMORE, Ore. (AP) — Dunmore General Hospital paid a $40,000 ransom on Tuesday after hackers "
            "encrypted the computer systems of the hospital, its chief executive said.\n"
            "The hospital shut down its network to stop the ransomware from spreading.")
    res = incidex.extract(text, published="2025-03-06")
    flat = [n for inc in names(res) for n in inc]
    assert any("Dunmore General Hospital" in n for n in flat), flat
    assert not any(n.upper() == n and "DUNMORE" in n for n in flat)
    assert not any(n in ("AP", "Ore.") for n in flat)
    inc = res.incidents[0]
    assert inc.outcome == "successful" and "ransomware" in inc.attack_types
    assert inc.impact.ransom_usd == 40000
    assert [r.kind for r in inc.responses] == ["shutdown"]  # the victim took its own systems offline


def test_security_vendor_reporting_an_attack_is_not_its_victim():
    text = ("Hackers stole the payment card data of 12,000 customers of Harrow Outdoor Supply, a Denver-based "
            "retailer, between May and July, researchers at Kaspersky said on Monday.\n"
            "Kaspersky said the attackers planted a skimmer on the retailer's checkout page.")
    res = incidex.extract(text, published="2025-08-04")
    flat = [n for inc in names(res) for n in inc]
    assert any("Harrow Outdoor Supply" in n for n in flat)
    assert not any("Kaspersky" in n for n in flat)


def test_vulnerability_story_reports_no_incident():
    text = ("Glenmoor Software released patches for three critical vulnerabilities in its Tallow file server "
            "on Tuesday.\n"
            "The flaws, tracked as CVE-2025-10101 and CVE-2025-10102, could let a remote attacker run code.\n"
            "Researchers who found the bugs said they had seen no sign of exploitation.\n"
            "Administrators should update to version 4.2.1, the company advised.\n"
            "A third flaw allows an attacker to read arbitrary files on a vulnerable server.")
    res = incidex.extract(text, title="Glenmoor patches critical Tallow file server flaws", published="2025-05-14")
    assert res.incidents == []


def test_earlier_attack_on_another_victim_is_its_own_incident():
    text = ("Hackers encrypted the billing servers of the City of Pellworth on Monday and demanded a ransom.\n"
            "The attack forced the city to take its payment portal offline.\n"
            "In March 2024, the same ransomware also hit Kessler County, which paid $120,000 to recover its files.")
    res = incidex.extract(text, published="2025-02-14")
    found = names(res)
    assert len(res.incidents) == 2, found
    assert any("Pellworth" in n for n in found[0]) and any("Kessler County" in n for n in found[1])
    assert res.incidents[1].date is not None and res.incidents[1].date.value.startswith("2024-03")


def test_filters_on_their_own():
    assert DATELINE.match("SPRING LAKE, Minn. (TNS) - The district")
    assert not DATELINE.match("Hackers hit the district on Monday.")
    assert is_reporter("Palo Alto Networks") and is_reporter("Google, Chainalysis and Palo Alto Networks")
    assert not is_reporter("Pellworth County")


def test_defacement_outside_casie_keeps_its_victims_in_headline_and_reference():
    """Defacements are outside what CASIE taught the encoder: the rules' victims stand, in a
    headline and in a back-reference whose sentence names the flaw the attackers used."""
    title = "Harbour town Kelsby defaced by Crimson Quill hackers"
    body = ("The homepage of Kelsby, a port town in Denmark, showed a protest banner on Friday.\n"
            "In June the group defaced the same site through a vulnerable booking plugin.")
    res = incidex.extract(body, title=title, published="2025-10-06")
    assert len(res.incidents) == 2, [i.summary for i in res.incidents]
    for inc in res.incidents:
        assert "defacement" in inc.attack_types
        assert [v.name for v in inc.victims] == ["Kelsby"]
    assert sorted(i.date.value for i in res.incidents) == ["2025-06", "2025-10-03"]
    headline_only = incidex.extract("", title=title, published="2025-10-06")
    assert [[v.name for v in i.victims] for i in headline_only.incidents] == [["Kelsby"]]


def test_brand_a_lure_pretends_to_come_from_is_not_a_victim():
    text = ("Phishing emails posing as the Marlow Revenue Office hit staff at Brenton Freight on Monday, and "
            "the attackers stole the payroll records of 900 employees of the haulier.\n"
            "Other messages purporting to be from Amazon asked recipients to confirm their card details.")
    res = incidex.extract(text, published="2025-09-02")
    flat = [n for inc in names(res) for n in inc]
    assert any("Brenton Freight" in n for n in flat), flat
    assert not any("Marlow Revenue Office" in n or n == "Amazon" for n in flat), flat


def test_impersonation_filter_on_its_own():
    from incidex.extraction.victim_filters import is_impersonated

    assert is_impersonated("Fraudulent emails impersonating either ")
    assert is_impersonated("a fake invoice purporting to be from ")
    assert is_impersonated("texts sent in the name of the ")
    assert is_impersonated("Lures pretending to be from the U.S. tax office, the postal service and the ")
    assert not is_impersonated("Emails posing as the bank were sent, and hackers then attacked ")
    assert not is_impersonated("Hackers broke into the network of ")
    assert not is_impersonated("The ransomware crippled ")


def test_victim_that_takes_its_own_systems_offline_is_the_victim():
    text = ("Tixora takes its websites offline after a cyberattack on Thursday.\n"
            "The company said it was investigating and would restore service soon.")
    res = incidex.extract(text, published="2025-05-30")
    assert [n for inc in names(res) for n in inc] == ["Tixora"], [i.summary for i in res.incidents]
    assert [r.kind for r in res.incidents[0].responses] == ["shutdown"]


def test_phrases_that_name_no_organisation_are_not_victims():
    from incidex.extraction.analyze import VictimCandidate
    from incidex.extraction.victim_filters import names_no_organisation

    def cand(name, named=True):
        return VictimCandidate(name=name, start=0, end=len(name), head=name.split()[-1], named=named)

    for name in ("Thursday afternoon", "South America", "’s Office of Information Technology", "use", "Tenn.", "CFO"):
        assert names_no_organisation(cand(name, named=name[0].isupper())), name
    for name in ("customers", "hospitals", "Atlanta", "Office of Information Technology", "March Networks"):
        assert not names_no_organisation(cand(name, named=name[0].isupper())), name
    text = ("Hackers broke into the billing systems of Quorra Water on Thursday afternoon and stole the "
            "records of 20,000 customers across South America.")
    res = incidex.extract(text, published="2025-04-11")
    flat = [n for inc in names(res) for n in inc]
    assert any("Quorra Water" in n for n in flat), flat
    assert not any(n in ("Thursday afternoon", "South America") for n in flat), flat


def test_products_and_researchers_speaking_are_not_victims():
    from incidex.extraction.victim_filters import speaks_as_researcher

    assert speaks_as_researcher("’s latest threat report found that")
    assert speaks_as_researcher("'s researchers said")
    assert not speaks_as_researcher("'s billing systems were encrypted")
    from incidex.extraction.analyze import VictimCandidate
    from incidex.extraction.victim_filters import names_no_organisation

    assert names_no_organisation(VictimCandidate(name="Hollin proxy", start=0, end=12, head="proxy"))
    assert not names_no_organisation(VictimCandidate(name="Hollin Proxy Services", start=0, end=21, head="Services"))
    text = ("Criminals abused the Hollin proxy to redirect ransom payments of hospitals, according to "
            "Brightwater's annual threat report, and they broke into the servers of Ashgrove Clinic in May.")
    res = incidex.extract(text, published="2025-07-01")
    flat = [n for inc in names(res) for n in inc]
    assert any("Ashgrove Clinic" in n for n in flat), flat
    assert not any(n in ("Hollin proxy", "Brightwater") for n in flat), flat


def test_acronym_and_full_name_are_one_victim_and_elsewhere_is_another_incident():
    from incidex.extraction.analyze import is_system_acronym
    from incidex.extraction.frames import is_acronym_of

    assert is_acronym_of("NDOT", "Nevada Department of Transportation")
    assert is_acronym_of("NHS", "National Health Service")
    assert not is_acronym_of("NASA", "Nevada Department of Transportation")
    assert is_system_acronym("CAD") and not is_system_acronym("NDOT")
    text = ("Ransomware attack on NDOT computers disrupts road works\n\n"
            "The Nevada Department of Transportation said on Tuesday that ransomware had encrypted its "
            "computers.\nElsewhere, the same gang attacked the city of Dunmore last year.")
    res = incidex.extract(text, published="2025-03-06")
    assert len(res.incidents) == 2, [i.summary for i in res.incidents]
    assert [v.name for v in res.incidents[0].victims] == ["Nevada Department of Transportation"]
    assert "Dunmore" in res.incidents[1].victims[0].name


def test_officials_of_a_named_organisation_name_the_victim():
    text = ("Port Aldren officials said on Monday that ransomware had encrypted the city's billing servers.\n"
            "FBI officials are investigating.")
    res = incidex.extract(text, published="2025-03-10")
    flat = [n for inc in names(res) for n in inc]
    assert flat and all("Port Aldren" in n for n in flat), flat
    assert not any("FBI" in n for n in flat)


def test_a_description_beside_the_one_named_victim_is_that_victim():
    text = ("An Ohio hospital paid hackers a $30,000 ransom this week.\n"
            "Ashgrove Health said the ransomware had encrypted its patient records on Tuesday.")
    res = incidex.extract(text, published="2025-02-07")
    assert names(res) == [["Ashgrove Health"]], [i.summary for i in res.incidents]
    assert res.incidents[0].victims[0].sector == "healthcare"


def test_a_citys_officials_speak_for_its_government_a_states_do_not():
    res = incidex.extract("Baltimore officials are still restoring systems after the ransomware attack on Monday.",
                          published="2025-03-12")
    assert names(res) == [["Baltimore"]] and res.incidents[0].victims[0].sector == "government"
    res = incidex.extract("Colorado officials are still restoring systems after the ransomware attack on Monday.",
                          published="2025-03-12")
    assert not any("Colorado" == n for inc in names(res) for n in inc)


def test_a_percentage_marks_statistics_not_every_sentence_with_a_number():
    from incidex.extraction.cues import load_cues

    cues = load_cues()
    assert [c.text for c in cues.find("generic", "About 60% of hospitals were hit last year.")] == ["60% of"]
    assert [c.text for c in cues.find("generic", "Attacks rose 30 percent in 2017.")] == ["rose 30 percent"]
    assert list(cues.find("generic", "After ransomware knocked its servers offline, the agency is back to 80 percent.")) == []


def test_data_taken_is_not_a_victim():
    text = ("Ransomware hit Pellmoor Insurance in June, the insurer said.\n"
            "Names, policy numbers and bank account details were stolen in late May.")
    res = incidex.extract(text, published="2025-07-02")
    assert names(res) == [["Pellmoor Insurance"]], [i.summary for i in res.incidents]


def test_a_cue_sentence_read_as_no_attack_is_not_parsed_past_the_lead():
    from incidex.extraction.analyze import SentenceFacts
    from incidex.extraction.encoder import SentencePrediction, SpanPrediction
    from incidex.extraction.learned import EncoderSettings, skips_parse
    from incidex.extraction.sentences import split_sentences
    s = EncoderSettings(parse_skip_below=0.02, lead_sentences=3)
    text = ("The county said on Monday that its systems were back. Officials met on Tuesday. The council "
            "voted on Wednesday. So-called ransomware has become one of the most lucrative enterprises.")
    sents = split_sentences(text)
    f = SentenceFacts(sents[3])
    f.pred = SentencePrediction({"attack_actual": 0.01})
    assert skips_parse(f, s)
    assert not skips_parse(f, EncoderSettings(parse_skip_below=0.0))  # off
    f.pred = SentencePrediction({"attack_actual": 0.01}, [SpanPrediction("victim", 0, 4, "So-c", 0.6)])
    assert not skips_parse(f, s)  # a phrase the encoder marked is read
    f.pred = SentencePrediction({"attack_actual": 0.3})
    assert not skips_parse(f, s)
    lead = SentenceFacts(sents[0])
    lead.pred = SentencePrediction({"attack_actual": 0.0})
    assert not skips_parse(lead, s)  # the lead is always parsed
