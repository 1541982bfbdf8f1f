"""The headline is read as part of the text, and its evidence says so (invented feed items)."""
from __future__ import annotations

import incidex
from incidex.extraction.headline import extraction_text, headline_shift
from incidex.records import Article

TITLE = "Ransomware attack shuts down Pellworth County offices"
DESCRIPTION = "County officials said phones and email have been down since Monday and that no ransom would be paid."


def test_feed_item_victim_comes_from_the_headline_with_title_offsets():
    res = incidex.extract(DESCRIPTION, title=TITLE, published="2025-11-05")
    assert len(res.incidents) == 1
    inc = res.incidents[0]
    assert "ransomware" in inc.attack_types
    assert any("Pellworth County" in v.name for v in inc.victims)
    from_title = [e for e in inc.evidence if e.part == "title"]
    assert from_title, inc.evidence
    for e in from_title:  # offsets point into the headline, not the body
        assert res.article.title[e.start:e.end] == e.text
    for e in inc.evidence:
        if e.part == "body":
            assert res.article.body[e.start:e.end] == e.text
    d = inc.to_dict()
    assert any(e.get("part") == "title" for e in d["evidence"])
    assert all("part" not in e for e in d["evidence"] if e["start"] >= 0 and e.get("part") != "title")


def test_body_that_repeats_its_headline_is_read_once():
    a = Article(id="x", body=TITLE + "\n" + DESCRIPTION, title=TITLE)
    assert headline_shift(a) == 0 and extraction_text(a) == a.body
    b = Article(id="y", body=DESCRIPTION, title=TITLE)
    assert extraction_text(b) == TITLE + "\n\n" + DESCRIPTION
    assert headline_shift(b) == len(TITLE) + 2


def test_evidence_offsets_of_the_body_are_unchanged_by_the_headline():
    body = ("Hackers breached the payroll system of Glenmoor Water Authority on Tuesday and stole the "
            "records of 4,200 employees, the authority said.")
    with_title = incidex.extract(body, title="Water authority says payroll data stolen", published="2025-06-12")
    assert with_title.incidents
    for inc in with_title.incidents:
        for e in inc.evidence:
            src = with_title.article.title if e.part == "title" else with_title.article.body
            assert src[e.start:e.end] == e.text


def test_headline_shapes_of_feed_items_name_their_victim():
    """Feed headlines leave out the verb or put it in the present: the victim is still read."""
    items = [
        ("Verran Motors production halted after cyberattack", "The carmaker shut down its IT systems.", "Verran Motors"),
        ("Kestrel Avionics check-in software disrupted by ransomware, delaying flights", "", "Kestrel Avionics"),
        ("Hackers steal data of 2.1 million Skyrail customers", "The rail operator said it was investigating.", "Skyrail"),
        ("Harbour town Kelsby defaced by Crimson Quill hackers", "", "Kelsby"),
        ("Cyberattackers demand ransom from Brightmoor Physicians Group", "", "Brightmoor Physicians Group"),
        ("Ransomware attack disrupts operations at Nordic retailer Kelto", "", "Kelto"),
        ("Hackers leak 3TB of data stolen from Brazilian telecom Vivara", "", "Vivara"),
        ("Microsoft patches zero-day exploited in attacks on Vellmark Bank", "", "Vellmark Bank"),
    ]
    for title, description, victim in items:
        res = incidex.extract(description, title=title, published="2025-10-01")
        got = [v.name for inc in res.incidents for v in inc.victims]
        assert got == [victim], (title, got)


def test_a_context_only_gang_name_that_claims_is_the_attacker():
    res = incidex.extract("", title="Akira claims breach of Italian manufacturer Fornelli", published="2025-10-01")
    assert len(res.incidents) == 1
    inc = res.incidents[0]
    assert [a.name for a in inc.attackers] == ["Akira"] and inc.attribution.status == "claimed"
    assert [v.name for v in inc.victims] == ["Fornelli"]
    ev = [e for e in inc.evidence if e.field.startswith("attackers")]
    assert ev and all(e.text == "Akira" for e in ev if e.field.endswith("mention")), ev


def test_a_title_case_headline_is_parsed_in_sentence_case_with_its_names_kept():
    from incidex.extraction.headline import is_title_case, sentence_case
    title = "Harlow Works to Break Ransomware Hold on Its Servers"
    assert is_title_case(title) and not is_title_case("Harlow works to break a ransomware hold")
    cased = sentence_case(title, "The City of Harlow said on Monday that", [])
    assert cased == "Harlow works to break ransomware hold on its servers" and len(cased) == len(title)
    assert sentence_case("SamSam Ransomware Hits Kessler DOT", "", [(22, 29)]) == "SamSam ransomware hits Kessler DOT"
    res = incidex.extract("The City of Harlow said its servers were still encrypted on Monday.", title=title,
                          published="2025-10-01")
    names = [v.name for inc in res.incidents for v in inc.victims]
    assert "Break" not in names and any("Harlow" in n for n in names), names
