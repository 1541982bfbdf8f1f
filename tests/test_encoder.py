"""The incident encoder: shipped weights load offline and read sentences sensibly (own sentences)."""
from __future__ import annotations

from pathlib import Path

import pytest

from incidex.extraction.encoder import EncoderMissing, IncidentEncoder, encoder_enabled, load_encoder

ATTACK = "Hackers encrypted the servers of Dunmore General Hospital on Sunday and demanded a ransom of $90,000."
PATCH = "The vendor released a patch for the flaw, which researchers disclosed last month; no attacks are known."


def test_actual_attack_reads_as_attack_and_patch_story_does_not():
    enc = load_encoder()
    attack, patch = enc.predict([ATTACK, PATCH])
    assert attack.actual > 0.5 > patch.actual
    assert patch.probs["vuln"] > attack.probs["vuln"]
    assert attack.probs["ransom"] > 0.5


def test_victim_span_on_word_boundaries():
    (pred,) = load_encoder().predict([ATTACK])
    victims = [s for s in pred.spans if s.role == "victim"]
    assert victims, pred.spans
    for s in victims:
        assert ATTACK[s.start:s.end] == s.text
        assert s.start == 0 or not ATTACK[s.start - 1].isalnum()
        assert s.end == len(ATTACK) or not ATTACK[s.end].isalnum()
    assert any("Dunmore General Hospital" in s.text for s in victims)


def test_answers_do_not_depend_on_the_other_sentences():
    # int8 dynamic quantization scales activations per batch: one sentence per run by default,
    # so an article reads the same whatever it is extracted beside
    enc = load_encoder()
    many = enc.predict([ATTACK, PATCH, "Short one.", ATTACK])
    one = enc.predict([ATTACK])[0]
    assert many[0].probs == one.probs == many[3].probs
    assert [(s.text, s.prob) for s in many[0].spans] == [(s.text, s.prob) for s in one.spans]
    batched = enc.predict([ATTACK, PATCH, "Short one."], batch_size=3)[0]
    assert abs(batched.actual - one.actual) < 0.01  # batched runs move by less than a hundredth
    assert enc.predict([]) == []


def test_missing_weights_say_how_to_build_them(tmp_path: Path):
    with pytest.raises(EncoderMissing, match="train_incident_encoder"):
        IncidentEncoder(tmp_path)


def test_switch(monkeypatch):
    monkeypatch.delenv("INCIDEX_ENCODER", raising=False)
    assert encoder_enabled({"extract": {"encoder": {"enabled": "on"}}})
    assert not encoder_enabled({"extract": {"encoder": {"enabled": "off"}}})
    monkeypatch.setenv("INCIDEX_ENCODER", "off")
    assert not encoder_enabled({"extract": {"encoder": {"enabled": "on"}}})


def test_candidate_sentences_mode_reads_only_what_can_matter():
    from incidex.extraction.analyze import cheap_facts
    from incidex.extraction.cues import load_cues
    from incidex.extraction.learned import EncoderSettings, wants_encoding
    from incidex.extraction.pipeline import ORG_HEADS
    from incidex.extraction.entities import Gazetteer
    from incidex.extraction.kb import load_kb
    from incidex.extraction.sentences import split_sentences

    text = ("The mayor opened a new library on Monday.\nIt has three floors.\nVisitors liked the cafe.\n"
            "The weather stayed dry all week.\nHackers encrypted the city's servers.\n"
            "Researchers said the flaw had been known for months.\nThe festival ends on Sunday.")
    cues, gaz = load_cues(), Gazetteer(load_kb(), ORG_HEADS)
    facts = [cheap_facts(s, cues, gaz) for s in split_sentences(text, 100_000)]
    every = EncoderSettings()
    some = EncoderSettings(sentences="candidates", lead_sentences=2, also=r"\bflaw")
    assert all(wants_encoding(f, every) for f in facts)
    read = [f.sent.text for f in facts if wants_encoding(f, some)]
    assert read == ["The mayor opened a new library on Monday.", "It has three floors.",
                    "Hackers encrypted the city's servers.", "Researchers said the flaw had been known for months."]


class _Spy:
    """The real encoder, with a record of the sentences it was asked to read."""

    def __init__(self, enc):
        self.enc, self.read = enc, []

    def predict(self, texts, batch_size=1):
        self.read.extend(texts)
        return self.enc.predict(texts, batch_size)


def _reads(body: str, title: str) -> list[str]:
    from incidex.extraction.pipeline import Extractor
    from incidex.records import Article

    ex = Extractor(use_model=False, use_encoder=True)
    spy = ex.encoder = _Spy(ex.encoder)
    ex.extract_each([Article(id="a", body=body, title=title, published="2025-06-02", language="en")])
    return spy.read


LATE_FLAWS = ["Engineers at the lab described a flaw in the old firmware of the scanners.",
              "A second vulnerability in the same firmware lets a nearby radio change its settings.",
              "The lab disclosed a third bug to the maker in January.",
              "The maker said a patch for all three would ship in the summer.",
              "No exploit for the flaws has been published, the lab added."]
FILLER = ["The county has about 80,000 residents.", "Its offices sit beside the river.",
          "The council meets on Tuesdays."]


def test_vulnerability_sentences_are_read_only_while_they_can_decide_the_story():
    # an attack that happened in the lead rules out a vulnerability story: the flaw sentences
    # further on are not read
    attack = "Hackers encrypted the servers of Orwell County on Sunday and demanded a ransom of $40,000."
    read = _reads("\n".join([attack, *FILLER, *LATE_FLAWS]), "Orwell County hit by ransomware")
    assert attack in read and not set(LATE_FLAWS) & set(read)
    # no attack read: the flaw sentences are read, in text order, until the story is settled
    lead = "The Kestrel Lab published a report on hospital scanners on Monday."
    read = _reads("\n".join([lead, *FILLER, *LATE_FLAWS]), "Kestrel Lab reports on scanner firmware")
    flaws = [s for s in read if s in LATE_FLAWS]
    assert flaws == LATE_FLAWS[:4]  # three of the four read as vulnerability reports: settled, the fifth is left
    from incidex.extraction.encoder import load_encoder

    assert sum(p.probs["vuln"] >= 0.5 for p in load_encoder().predict(flaws)) == 3


def test_warm_up_loads_the_person_ner_before_the_first_article():
    from incidex.extraction import persons
    from incidex.extraction.pipeline import Extractor

    persons._ner.cache_clear()
    Extractor(use_model=False, use_encoder=False).warm_up()
    assert persons._ner.cache_info().currsize == 1
