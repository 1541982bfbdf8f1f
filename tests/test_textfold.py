"""Hidden and look-alike characters cannot hide a name; offsets still point into the text as written."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from incidex.extraction.kb import load_kb, norm_key
from incidex.resolve import names
from incidex.textfold import fold, fold_string

CYR_O, CYR_ES, CYR_A = "\u043e", "\u0441", "\u0410"


def test_zero_width_and_format_characters_are_dropped():
    for hidden in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\ufe0f", "\U000e0041"):
        assert fold_string(f"Lock{hidden}Bit") == "LockBit"


def test_look_alikes_fold_inside_latin_words_only():
    assert fold_string(f"L{CYR_O}{CYR_ES}kBit") == "LockBit"
    assert fold_string(f"{CYR_A}PT28") == "APT28"  # a word made only of look-alikes and digits
    assert fold_string("Москва") == "Москва"  # a real Cyrillic word stays
    assert fold_string("ＬｏｃｋＢｉｔ") == "LockBit"  # full-width, by NFKC
    assert fold_string("𝐋𝐨𝐜𝐤𝐁𝐢𝐭") == "LockBit"  # mathematical bold


def test_offsets_map_back_to_the_original():
    text = "The L\u043e\u0441k\u200bBit  gang, \ufb01nally."
    f = fold(text)
    assert f.text == "The LockBit gang, finally."
    i = f.text.index("LockBit")
    s, e = f.span(i, i + len("LockBit"))
    assert text[s:e] == "L\u043e\u0441k\u200bBit"
    j = f.text.index("finally")
    s, e = f.span(j, j + 2)  # "fi" comes from one ligature character
    assert text[s:e] == "\ufb01"


def test_kb_lookup_and_matching_see_through_hidden_characters():
    kb = load_kb()
    assert kb.resolve_malware(f"L{CYR_O}{CYR_ES}kBit").name == "LockBit"
    assert kb.resolve_actor(f"{CYR_A}PT\u200b28").kb_id == "attack:G0007"
    assert norm_key(f"L{CYR_O}ckBit") == norm_key("lockbit")
    text = f"The L{CYR_O}{CYR_ES}k\u200bBit gang and {CYR_A}PT28 hit Tallinn."
    found = {(m.kind, m.text) for m in kb.find(text)}
    assert ("malware", f"L{CYR_O}{CYR_ES}k\u200bBit") in found and ("actor", f"{CYR_A}PT28") in found


def test_victim_names_with_look_alikes_get_the_same_key():
    assert names.key("V\u0430lemont He\u200balth") == names.key("Valemont Health")


def test_extraction_finds_a_disguised_actor_with_exact_evidence(extractor):
    from incidex.api import extract

    text = (f"The L{CYR_O}{CYR_ES}k\u200bBit ransomware gang claimed a cyberattack on Pellworth County Hospital "
            "on Monday, officials said. The hospital diverted ambulances while systems were restored.")
    res = extract(text, published="2024-03-06", extractor=extractor)
    body = res.article.body
    assert res.incidents, "the disguised gang name must not hide the incident"
    inc = res.incidents[0]
    assert any(a.name == "LockBit" or "LockBit" in a.aliases for a in inc.attackers)
    for ev in inc.evidence:
        assert 0 <= ev.start <= ev.end <= len(body) and body[ev.start:ev.end] == ev.text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_fold_offsets_are_valid_for_any_text(text):
    f = fold(text)
    if f.offsets is None:
        assert len(f.text) == len(text)
        return
    assert len(f.offsets) == len(f.text)
    assert all(0 <= o < len(text) for o in f.offsets)
    assert f.offsets == sorted(f.offsets)
    for i in range(len(f.text)):
        s, e = f.span(i, i + 1)
        assert 0 <= s < e <= len(text)
    assert fold_string(f.text) == f.text  # folding is idempotent
