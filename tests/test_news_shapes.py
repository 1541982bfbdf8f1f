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


def _incident(text: str, published: str = "2024-03-18"):
    """The first incident extracted from an invented article."""
    incs = incidex.extract(text, published=published).incidents
    assert incs, text
    return incs[0]


def _candidate(name: str):
    from incidex.extraction.analyze import VictimCandidate
    return VictimCandidate(name=name, start=0, end=len(name), head=name.split()[-1].lower(), named=True)


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


def test_background_attacks_told_by_season_and_more_recently_are_their_own_incidents():
    text = ("Last month, ransomware hit the Ostrava Water Board, whose staff found ransom notes on their screens. "
            "Last spring, Linden Vale Medical Center in Ohio was attacked by ransomware. Because it had backups, "
            "the hospital decided not to pay the $30,000 ransom. "
            "More recently in January, ransomware hit Brookfield Clinic, which paid $12,000.")
    incs = incidex.extract(text, published="2024-03-10").incidents
    by_victim = {v.name: inc for inc in incs for v in inc.victims}
    assert {"Ostrava Water Board", "Linden Vale Medical Center", "Brookfield Clinic"} <= set(by_victim), by_victim
    assert len({id(i) for i in by_victim.values()}) == 3
    assert by_victim["Linden Vale Medical Center"].date.value == "2023"
    assert by_victim["Brookfield Clinic"].date.value == "2024-01"
    # "the hospital" is the medical center named before it, not the water board the story leads with
    assert by_victim["Linden Vale Medical Center"].impact.ransom_usd == 30000
    assert by_victim["Ostrava Water Board"].impact.ransom_usd is None


def test_held_since_a_weekday_dates_the_attack():
    text = ("Corwin Health paid a ransom to hackers, officials said. Its network had been held hostage since "
            "late Thursday, when ransomware locked patient files.")
    inc = _incident(text)
    assert inc.date is not None and inc.date.value == "2024-03-14", inc.date


def test_locked_files_are_not_records_affected_but_stolen_ones_are():
    locked = incidex.extract("Ransomware at Corwin Health encrypted more than 1,400 files on Monday.",
                             published="2024-03-18").incidents[0]
    assert locked.impact.records_affected is None
    stolen = incidex.extract("Hackers stole 1,400 files from Corwin Health on Monday.",
                             published="2024-03-18").incidents[0]
    assert stolen.impact.records_affected == 1400


def test_where_the_attack_came_from_is_not_the_victims_country():
    text = ("Ransomware hit the Delford County government on Tuesday. Investigators believe the attack "
            "originated from Iran or Ukraine.")
    inc = _incident(text)
    assert [v.country for v in inc.victims] != ["IR"] and [v.country for v in inc.victims] != ["UA"], inc.victims


def test_fell_victim_is_a_successful_attack_whatever_the_attacker_tried_next():
    text = ("Corwin Health fell victim to a cyber attack on Thursday. The chief executive said a hacker "
            "attempted to shut down the hospital's operations.")
    inc = _incident(text)
    assert inc.outcome == "successful"


def test_a_person_with_a_second_capital_in_the_surname_is_not_a_victim():
    from incidex.extraction.persons import maybe_person
    assert maybe_person("Scott MacDonald") and maybe_person("Mary O'Brien")
    assert not maybe_person("Corwin Health")


def test_a_story_told_through_its_ransomware_takes_the_group_that_runs_it():
    text = ("The Delford County Water Authority shut down 900 computers after they were infected with the Ryuk "
            "ransomware on Monday. The Ryuk operators usually ask for a ransom in bitcoin.")
    inc = _incident(text)
    assert inc.attackers and "Ryuk" in (inc.attackers[0].mention or inc.attackers[0].name), inc.attackers
    assert inc.attribution.status == "suspected"
    quiet = incidex.extract("The Delford County Water Authority shut down 900 computers after they were infected "
                            "with the Ryuk ransomware on Monday.", published="2024-03-18").incidents[0]
    assert quiet.attackers == []


def test_a_states_acronym_is_spelled_out():
    text = ("In wake of an attack on computers at Nevada’s DOT, the Nevada Department of Transportation "
            "said ransomware had encrypted its servers on Monday.")
    inc = _incident(text)
    assert [v.name for v in inc.victims] == ["Nevada Department of Transportation"], inc.victims


def test_a_claimed_attack_encrypting_systems_succeeded():
    text = ("In March 2022 the gang claimed an attack on Verano Logistica, a Spanish freight firm, encrypting "
            "systems at its headquarters in Valencia.")
    inc = _incident(text)
    assert inc.outcome == "successful"


def test_pronouns_and_a_persons_possessive_are_no_victims():
    text = ("There have been phishing emails in circulation since Monday, the agency said. Their subject line "
            "reads \"My current address update\" and they carry a link to a fake bank page.")
    names = _names(incidex.extract(text, published="2024-03-18"))
    assert "There" not in names and not any(n.startswith("My ") for n in names), names
    from incidex.extraction.victim_filters import names_no_organisation
    assert names_no_organisation(_candidate("There")) and names_no_organisation(_candidate("My current address update"))
    assert not names_no_organisation(_candidate("Theresa Health")) and not names_no_organisation(_candidate("Myriad Bank"))


def test_the_attackers_and_the_attack_are_no_victims():
    from incidex.extraction.victim_filters import names_no_organisation
    for name in ("Ransomware crooks", "Sneaky crooks", "Ransomware Out", "K"):
        assert names_no_organisation(_candidate(name)), name
    for name in ("Crookston Bank", "Hackensack Meridian Health", "Ransom County"):
        assert not names_no_organisation(_candidate(name)), name
    names = _names(incidex.extract("Ransomware crooks test a new way to spread their malware",
                                   published="2024-03-18"))
    assert names == [], names


def test_a_title_case_headline_word_the_body_writes_in_lower_case_is_no_name():
    from incidex.extraction.analyze import SentenceFacts, VictimCandidate
    from incidex.extraction.sentences import split_sentences
    from incidex.extraction.victim_filters import drop_non_victims
    head, body = split_sentences("Group Steals Millions From Wallet Service. The group phished Coinvault users.")
    fh, fb = SentenceFacts(head, headline=True), SentenceFacts(body)
    fh.victims = [VictimCandidate(name="Group", start=0, end=5, head="group", named=True),
                  VictimCandidate(name="Wallet Service", start=27, end=41, head="service", named=True)]
    drop_non_victims([fh, fb])
    assert [v.name for v in fh.victims] == ["Wallet Service"]


def test_a_word_cut_off_at_the_end_of_a_feed_description_is_no_victim():
    from incidex.records import Article
    from incidex.extraction.pipeline import default_extractor
    art = Article(id="cut1", title="Clinic network hit by ransomware", language="en", published="2024-03-18",
                  body="Hackers breached the systems of Harlow Physicians and stole patient records from Westbury Medi…")
    names = [v.name for inc in default_extractor().extract_article(art).incidents for v in inc.victims]
    assert "Harlow Physicians" in names and not any(n.endswith("Medi") for n in names), names
    art.body = art.body.replace("Medi…", "Medical Centre.")
    names = [v.name for inc in default_extractor().extract_article(art).incidents for v in inc.victims]
    assert "Westbury Medical Centre" in names, names


def test_servers_taken_offline_in_the_passive_is_the_victims_shutdown():
    text = ("Ransomware infected computers of the Delford County Water Authority on Wednesday. Infected "
            "servers have been taken offline, a spokesperson said.")
    inc = _incident(text)
    assert [r.kind for r in inc.responses] == ["shutdown"], inc.responses


def test_a_victim_told_by_description_then_by_name_is_one_incident():
    text = ("A Vermont hospital paid a ransom of $40,000 to get rid of ransomware that had infected its systems "
            "last week. The infection took root last week, on Thursday, March 14, when attackers breached the "
            "network of Corwin Health, a regional health system.")
    incs = incidex.extract(text, published="2024-03-20").incidents
    assert len(incs) == 1, [[v.name for v in i.victims] for i in incs]
    assert [v.name for v in incs[0].victims] == ["Corwin Health"]


def test_the_place_a_victim_is_based_in_is_no_victim():
    from incidex.extraction.victim_filters import _BASED_AFTER
    assert _BASED_AFTER.match(", Vermont-based Corwin Health paid") and _BASED_AFTER.match("-based firm")
    assert not _BASED_AFTER.match(", a Vermont hospital") and not _BASED_AFTER.match(" was based on")


def test_paying_a_ransom_makes_it_ransomware():
    text = "After computer hack, Kelsby village pays $2K ransom for residents' personal information"
    inc = incidex.extract("", title=text, published="2024-03-20").incidents[0]
    assert inc.attack_types == ["ransomware"], inc.attack_types


def test_physicians_and_ticket_sellers_have_their_sectors():
    from incidex.extraction.pipeline import default_extractor
    gaz = default_extractor().gaz
    assert gaz.sector("Allied Physicians of Westbury") == "healthcare"
    assert gaz.sector("a ticketing service") == "entertainment"


def test_dateline_before_the_first_sentence_is_not_its_subject():
    # a feed description that opens with the town it was filed from: the parser reads the
    # sentence without "MILLBROOK —", so the clinic group is the one that fell victim
    body = ("MILLBROOK — Dorrance Medical Group fell victim to a cyber attack on Tuesday, with a hacker "
            "demanding bitcoin to restore the group's scheduling system.")
    res = incidex.extract(body, title="Clinic group hit by ransomware: attackers demand bitcoin", published="2025-03-06")
    assert [[v.name for v in inc.victims] for inc in res.incidents] == [["Dorrance Medical Group"]]
    assert res.incidents[0].victims[0].sector == "healthcare"


def test_hackers_hit_is_an_attack_headline():
    # the active headline form ("Hackers hit X", "Hacktivists strike X") names the victim as the object
    body = "The council said its payroll system had been down since Monday."
    for title, victim in [("Hackers hit Pellworth council", "Pellworth council"),
                          ("Hacktivists strike Kelsby port authority", "Kelsby port authority")]:
        res = incidex.extract(body, title=title, published="2025-06-01")
        assert [[v.name for v in inc.victims] for inc in res.incidents] == [[victim]], title
    # a hit that is no attack stays no incident
    res = incidex.extract("The new album was released on Friday.", title="Pop band's new single is a hit", published="2025-06-01")
    assert res.incidents == []


def test_subject_that_earns_by_phishing_is_no_victim():
    for title, subject in [("Group Makes $3 Million by Phishing Wallet Owners With Fake Ads", "Group"),
                           ("Syndicate Earns Millions by Hacking Crypto Exchanges", "Syndicate")]:
        res = incidex.extract("The scheme ran for two years before police shut down its servers.",
                              title=title, published="2025-09-12")
        assert not any(subject in v.name for inc in res.incidents for v in inc.victims), title
    # the subject hit by phishing stays the victim
    res = incidex.extract("Hollins Dental Group was hit by a phishing attack on Monday, the practice said.",
                          published="2025-09-12")
    assert [[v.name for v in inc.victims] for inc in res.incidents] == [["Hollins Dental Group"]]


def test_acronym_in_headline_and_name_in_story_are_one_incident():
    # the possessive after the spelled-out name ("... District's systems") still spells out the acronym
    body = ("Six weeks after ransomware forced Pellworth County School District’s servers offline, the district "
            "is back to 80 percent of its services.")
    res = incidex.extract(body, title="Cyber attack on PCSD computers estimated to cost $2 million", published="2025-04-02")
    assert [[v.name for v in inc.victims] for inc in res.incidents] == [["Pellworth County School District"]]
    assert "PCSD" in res.incidents[0].victims[0].aliases


def test_phish_as_a_verb_is_phishing():
    from incidex.extraction.cues import load_cues

    # a cue of its own, so the rules alone (INCIDEX_ENCODER=off) read it too
    for text in ["Kimsuky hackers phish think-tank staff", "the staff were phished last week"]:
        assert "phishing" in {c.label for c in load_cues().find("attack_triggers", text)}, text
    res = incidex.extract("The invitations carried a link to a page of the Halden Policy Institute that asked for passwords.",
                          title="Kimsuky hackers phish think-tank staff with fake conference invites", published="2025-10-20")
    assert res.incidents and "phishing" in res.incidents[0].attack_types
    assert [a.name for a in res.incidents[0].attackers] == ["Kimsuky"]


def test_feed_description_cut_off_is_still_a_feed_item():
    # the words the feed cut the description off at are no sentence of their own: a headline and
    # two sentences stay a feed item, whose headline victims the scorer keeps
    from types import SimpleNamespace

    from incidex.extraction.sentences import split_sentences
    from incidex.extraction.victim_scorer import is_feed_item

    def facts(text):
        return [SimpleNamespace(sent=s) for s in split_sentences(text)]

    item = ("Harbourside council restores payments after ransomware\nThe council has spent a week restoring "
            "online payments. Soon after the clerk logged on, she knew something was wrong.")
    assert is_feed_item(facts(item))
    assert is_feed_item(facts(item + " The scr…"))
    assert not is_feed_item(facts(item + " The screens showed a ransom note."))
    assert not is_feed_item(facts(item + " The screens showed a ransom note from the gang…"))


def test_ampersand_and_hyphen_keep_a_name_whole():
    # the parser reads "&" as a conjunction and cuts "Co-op" at its hyphen: the names stay whole,
    # while a real conjunction still gives two victims and "-based" stays no part of a name
    res = incidex.extract("Hackers breached Dunhill & Marsh and Kelsby Co-op in April.", published="2025-05-20")
    assert [[v.name for v in inc.victims] for inc in res.incidents] == [["Dunhill & Marsh", "Kelsby Co-op"]]
    res = incidex.extract("The attack hit Harlow-Reed on Monday, the Leeds-based insurer said.", published="2025-05-20")
    assert [[v.name for v in inc.victims] for inc in res.incidents] == [["Harlow-Reed"]]


def test_subject_that_attacks_an_object_is_no_victim():
    # the active attack verb with an object: its subject attacks ("extorted US firms"), even where
    # the encoder marks it; without an object a headline's reduced passive keeps its victim
    res = incidex.extract("The agency said the workers stole source code from their employers and demanded payment.",
                          title="FBI: Fake IT Contractors Extorted Midwest Firms After Data Theft", published="2025-11-20")
    assert not any("Contractors" in v.name or "contractors" in v.name for inc in res.incidents for v in inc.victims)
    res = incidex.extract("Officials said the attack locked the city's servers.",
                          title="Pellworth, Ore., Hit with Ransomware Attack", published="2025-11-20")
    assert [[v.name for v in inc.victims] for inc in res.incidents] == [["Pellworth"]]


def test_halted_production_brewers_water_plants_and_exposed_personal_details():
    res = incidex.extract("Danish brewer Torvik Brewing said Thursday that a cyberattack had forced it to stop production "
                          "at two breweries.", title="Cyberattack on Torvik Brewing halts production", published="2025-11-20")
    inc, = res.incidents
    assert inc.outcome == "successful" and inc.victims[0].sector == "manufacturing"
    res = incidex.extract("Hackers breached the Wolsztyn water plant in Poland on Monday, officials said.",
                          published="2025-11-20")
    assert res.incidents[0].victims[0].sector == "utilities"
    res = incidex.extract("Kestrel Mobile said an intruder accessed the names and phone numbers of 2 million customers.",
                          published="2025-11-20")
    assert "data-breach" in res.incidents[0].attack_types


def test_headline_victims_told_by_nationality_and_kind():
    # "DDoS attacks on Danish ministries": in a headline a bare plural with its country's adjective
    # is the victim told; a plural that is no organisation ("hacking claims") stays none
    res = incidex.extract("The group said it knocked the websites offline on Wednesday.",
                          title="Hacktivists claim DDoS attacks on Estonian ministries", published="2025-11-20")
    inc, = res.incidents
    assert [(v.name, v.country, v.sector) for v in inc.victims] == [("Estonian ministries", "EE", "government")]
    res = incidex.extract("The ministry said its systems were not affected.",
                          title="Latvia's transport ministry denies Russian-linked group's hacking claims", published="2025-11-20")
    assert not any("claims" in v.name for inc in res.incidents for v in inc.victims)
    # in a story's body such a plural beside names is a class, not one more victim
    res = incidex.extract("The campaign targeted Estonian banks, including Harju Pank and Tallinna Krediit.",
                          published="2025-11-20")
    assert not any(v.name == "Estonian banks" for inc in res.incidents for v in inc.victims)


def test_places_where_it_happened_are_no_victims():
    res = incidex.extract("Check-in systems at airports in Oslo, Bergen and Aarhus were disrupted after a ransomware "
                          "attack on the vendor's software.",
                          title="Norvik Aerospace ransomware attack disrupts check-in at Nordic airports", published="2025-09-22")
    names = [v.name for inc in res.incidents for v in inc.victims]
    assert names and not {"Oslo", "Bergen", "Aarhus"} & set(names)
