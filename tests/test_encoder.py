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
