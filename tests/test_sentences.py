from hypothesis import given, strategies as st

from incidex.extraction.sentences import split_sentences


def test_abbreviations_and_initials_do_not_split():
    body = "The U.S. Treasury acted on Dec. 5 against the group. John F. Smith said so.\nA new line starts here."
    texts = [s.text for s in split_sentences(body)]
    assert texts == ["The U.S. Treasury acted on Dec. 5 against the group.", "John F. Smith said so.", "A new line starts here."]


@given(st.text(max_size=400))
def test_offsets_always_point_into_the_body(body):
    for s in split_sentences(body):
        assert body[s.start:s.end] == s.text
        assert s.text.strip() == s.text and s.text


def test_time_zone_after_a_clock_time_continues_the_sentence():
    text = "The county must decide by 1 p.m. ET on Friday whether to pay. It opened at 9 a.m. The portal was down."
    assert [s.text for s in split_sentences(text)] == [
        "The county must decide by 1 p.m. ET on Friday whether to pay.", "It opened at 9 a.m.", "The portal was down."]
