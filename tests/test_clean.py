"""Cleaning rules on invented articles: footers, bios, related headlines, boilerplate, metadata."""
from __future__ import annotations

import hashlib

import pytest
from fixtures_ingest import SECOND_STORY, SECOND_STORY_LINES, STORY, STORY_LINES, article_page, make_settings

from incidex.cleaning import article_id, clean, domain_of, normalize_body
from incidex.cleaning.dates import normalize_date
from incidex.records import InputError, RawDocument


def doc(content: str, **kw) -> RawDocument:
    return RawDocument(origin=kw.pop("origin", "test"), content=content, **kw)


def lines_of(body: str) -> list[str]:
    return [x for x in body.split("\n") if x]


def test_other_aggregator_footer_and_bio_block():
    text = "\n".join(SECOND_STORY_LINES + [
        "Shipping firm Calder Lines says crew records exposed in breach.",
        "Police dismantle phishing-kit marketplace used by 300 criminals.",
        "Ilse Varn is a senior correspondent for Harborline News based in Rotterdam.",
        "She covers critical infrastructure security and has reported on utilities across northern Europe.",
        "Her work has appeared in several trade publications.",
        "This article originally appeared on www.harborline-news.test.",
    ])
    art = clean(doc(text))
    assert lines_of(art.body) == SECOND_STORY_LINES
    assert art.author == "Ilse Varn"
    assert art.source == "harborline-news.test"
    assert len(art.removed) == 6 and art.removed[-1].startswith("This article originally appeared")


def test_known_author_is_not_replaced_by_bio_name():
    text = SECOND_STORY + "\nIlse Varn is a freelance writer covering infrastructure.\nShe previously worked at a radio station."
    art = clean(doc(text, author="Desk Staff"))
    assert art.author == "Desk Staff" and lines_of(art.body) == SECOND_STORY_LINES


def test_originally_published_footer_with_date():
    art = clean(doc(STORY + "\nOriginally published at https://www.norhaven-times.test/2024/03/hospital on March 5, 2024."))
    assert art.source == "norhaven-times.test" and art.published == "2024-03-05"
    assert lines_of(art.body) == STORY_LINES


def test_publication_date_footer_keeps_timezone():
    art = clean(doc(STORY + "\nThis Security News was published on harborline-news.test. "
                            "Publication date: Fri, 08 Mar 2024 07:45:10 +0100",
                    published="2024-03-09", url="https://aggregator.invented.test/item/1"))
    assert art.source == "harborline-news.test"
    assert art.published == "2024-03-08T07:45:10+01:00"  # the original publisher's date wins


def test_wordpress_post_footer():
    art = clean(doc(STORY + "\nThe post Hospital hit by ransomware appeared first on Pellworth Gazette.",
                    url="https://www.pellworth-gazette.test/hospital"))
    assert art.source == "pellworth-gazette.test" and art.title == "Hospital hit by ransomware"
    art = clean(doc(STORY + "\nThe post Hospital hit by ransomware appeared first on Pellworth Gazette."))
    assert art.source == "Pellworth Gazette"


def test_story_sentence_that_looks_like_footer_is_kept():
    line = "This report was published in March by the national cyber agency."
    art = clean(doc(STORY + "\n" + line + "\n" + SECOND_STORY_LINES[1]))
    assert line in art.body and art.source is None


def test_boilerplate_lines_dropped_story_mentions_kept():
    keep = [
        "The malware steals browser cookies and saved passwords from infected machines.",
        "Subscribers of the streaming service were notified by email on Friday.",
        "Copyright lawyers for the publisher said the leaked files included unreleased manuscripts.",
    ]
    junk = [
        "Advertisement",
        "Sign up for our daily cybersecurity newsletter",
        "Follow us on Mastodon and LinkedIn for more stories.",
        "Click here to read our full coverage.",
        "© 2024 Invented Media Group",
        "All rights reserved.",
        "Image credit: Invented Photo Agency",
        "Photo: Hospital entrance in Pellworth.",
        "Share this article",
        "We use cookies to improve your experience on our site.",
        "Read more: Regional bank confirms breach",
        "Tags: ransomware, healthcare, Copper Lantern",
    ]
    body = [STORY_LINES[0], junk[0], junk[1], STORY_LINES[1], keep[0], junk[2], junk[3], STORY_LINES[2], keep[1],
            junk[4], junk[5], keep[2], junk[6], junk[7], STORY_LINES[3], junk[8], junk[9], junk[10], junk[11],
            STORY_LINES[4]]
    art = clean(doc("\n".join(body)))
    assert lines_of(art.body) == [x for x in body if x not in junk]
    assert sorted(art.removed) == sorted(junk)


def test_related_headlines_after_story_dropped():
    text = "\n".join(STORY_LINES + [
        "Regional Bank Confirms Breach Affecting 12,000 Customers",
        "University restores email after wiper attack.",
        "Logistics firm Trelby says 20,000 drivers affected by data theft.",
    ])
    art = clean(doc(text))
    assert lines_of(art.body) == STORY_LINES


def test_related_heading_block_dropped():
    text = "\n".join(STORY_LINES + ["You may also like", "Regional bank confirms breach",
                                    "Police arrest two suspects"])
    art = clean(doc(text))
    assert lines_of(art.body) == STORY_LINES
    assert art.removed == ["You may also like", "Regional bank confirms breach", "Police arrest two suspects"]


def test_headline_shaped_lines_inside_story_are_kept():
    inner = ["Copper Lantern denies involvement.", "Hospital says patient care continues."]
    body = STORY_LINES[:2] + inner + STORY_LINES[2:]
    art = clean(doc("\n".join(body)))
    assert lines_of(art.body) == body


@pytest.mark.parametrize("ending", [
    ["Microsoft patched the flaw in March.", "Users should update immediately."],
    ["Copper Lantern demanded payment in bitcoin.", "Pellworth County Hospital restored services on Friday."],
    ["Officials urged staff to watch for phishing emails.", "Staff received new passwords on Wednesday."],
    ["Logistics firm Trelby says 20,000 drivers affected by data theft."],  # one headline-like line: kept
])
def test_short_story_endings_are_kept(ending):
    body = STORY_LINES + ending
    art = clean(doc("\n".join(body)))
    assert lines_of(art.body) == body


def test_byline_dateline_and_repeated_title_at_top():
    text = "\n".join(["Hospital hit by ransomware", "By Mara Quill", "March 5, 2024"] + STORY_LINES)
    art = clean(doc(text, title="Hospital hit by ransomware"))
    assert lines_of(art.body) == STORY_LINES
    assert art.author == "Mara Quill" and art.published == "2024-03-05"


def test_paragraph_breaks_kept_and_collapsed():
    text = "  " + STORY_LINES[0] + "  \n\n\n\n" + STORY_LINES[1] + "\nAdvertisement\n\n" + STORY_LINES[2] + "\n\n"
    art = clean(doc(text))
    assert art.body == f"{STORY_LINES[0]}\n\n{STORY_LINES[1]}\n\n{STORY_LINES[2]}"


@pytest.mark.parametrize("text", [
    STORY,
    SECOND_STORY + "\nIlse Varn is a staff writer for Harborline News.\nShe writes about water utilities.",
    "By Mara Quill\n" + STORY + "\nRelated\nBank fined over leak\nCity emails exposed",
    "\n\n".join(STORY_LINES) + "\nAdvertisement\nShipping firm says crew records exposed.\nCity of Norhaven pays ransom after attack.",
])
def test_cleaning_is_idempotent(text):
    once = clean(doc(text))
    twice = clean(doc(once.body))
    assert twice.body == once.body and twice.id == once.id and twice.removed == []


def test_article_id_is_normalized_sha256():
    art = clean(doc(STORY))
    expected = hashlib.sha256(" ".join(STORY.split()).lower().encode()).hexdigest()[:16]
    assert art.id == expected == article_id(STORY)
    assert article_id(STORY.upper().replace(" ", "  ")) == art.id
    assert normalize_body("Ｃｙｂｅｒ  Attack\n") == "cyber attack"  # NFKC folds full-width letters


def test_language_detection():
    assert clean(doc(STORY)).language == "en"
    fr = ("Des pirates ont paralysé le réseau informatique de la mairie de Verbois, a déclaré mercredi la "
          "préfecture. Les données de près de trois mille administrés ont été dérobées, selon un élu.")
    assert clean(doc(fr)).language == "fr"
    short = clean(doc("Ransomware hit the town hall on Monday."), make_settings(min_body_chars=10))
    assert short.language is None


def test_body_cut_at_max_body_chars():
    settings = make_settings(max_body_chars=400)
    art = clean(doc(STORY), settings)
    assert len(art.body) <= 400 and art.body == "\n".join(STORY_LINES[:2])
    assert art.removed[-1].startswith("[body cut at")


def test_too_short_after_cleaning_raises():
    with pytest.raises(InputError) as ei:
        clean(doc("Advertisement\nShare this article\nAll rights reserved.", origin="feed.xml#entry-2"))
    assert ei.value.origin == "feed.xml#entry-2" and ei.value.reason == "no article text after cleaning"


def test_article_fields():
    art = clean(doc(STORY, url="https://www.pellworth-gazette.test/h", external_id="x1", published="2024-03-05",
                    fetched_at="2024-03-05T20:00:00+00:00"))
    assert art.source == "pellworth-gazette.test" and art.published == "2024-03-05"
    assert art.external_id == "x1" and art.origin == "test" and art.raw == STORY and art.raw_kind == "text"
    assert art.fetched_at == "2024-03-05T20:00:00+00:00" and art.ingested_at.endswith("+00:00")


def test_html_kind_document_is_extracted_first():
    page = article_page("Water authority breach", SECOND_STORY_LINES)
    art = clean(RawDocument(origin="p.html", content=page, kind="html", url="https://www.glenmoor.test/w"))
    assert lines_of(art.body) == SECOND_STORY_LINES and art.raw == page and art.raw_kind == "html"
    assert art.source == "glenmoor.test"


@pytest.mark.parametrize("value,expected", [
    ("Wed, 27 Dec 2023 18:15:22 +0000", "2023-12-27T18:15:22+00:00"),
    ("Fri, 08 Mar 2024 07:45:10 +0100", "2024-03-08T07:45:10+01:00"),
    ("2024-03-05", "2024-03-05"),
    ("March 5, 2024", "2024-03-05"),
    ("2024-03-05T14:20:00Z", "2024-03-05T14:20:00+00:00"),
    ("2024-03-05 14:20", "2024-03-05T14:20:00"),
    ("March 5, 2024 2:20 PM EST", "2024-03-05T14:20:00-05:00"),
    ("no date here", None),
    ("Tue, 12 Mar 2024 09:03:00 +3000", None),  # an offset of 30 hours: no real zone
    ("Tue, 12 Mar 99999999999999999999 09:03:00 +0000", None),  # a year too large for C
    ("Tue, 99999999999999999999 Mar 2024 09:03:00 +0000", None),
    ("Tue, 12 Mar 2024 09:03" + "4" * 80 + ":00 +0000", None),  # dateutil: decimal.InvalidOperation
    ("0001-01-01T00:00:00+01:00", None),  # no UTC instant: the store could not order it
    ("0001-01-01", None),
    ("Jan 5, 2250", None),
    ("Jan 5, 1901", "1901-01-05"),
    ("2017_01_03", "2017-01-03"),  # CASIE's archives
    ("2017/1/3", "2017-01-03"),
    ("2017.01.03", "2017-01-03"),
    ("20170103", "2017-01-03"),
    ("2017_02_30", None),  # no such day
])
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("https://www.Example-News.test/path?q=1", "example-news.test"),
    ("www.harborline-news.test", "harborline-news.test"),
    ("harborline-news.test/story", "harborline-news.test"),
    ("Pellworth Gazette", None),
    ("http://127.0.0.1:8080/x", "127.0.0.1"),
])
def test_domain_of(value, expected):
    assert domain_of(value) == expected


@pytest.mark.parametrize("line", [
    "Victims were urged to register for free credit monitoring offered by the hospital.",
    "The phishing emails urged recipients to click here to verify their accounts.",
    "The attackers sent a fake newsletter delivered to 10,000 inboxes last week.",
    "Researchers said this website uses cookies to fingerprint visitors before serving the exploit.",
    "Tweets from the hacked account promoted a cryptocurrency scam.",
])
def test_story_lines_with_boilerplate_words_are_kept(line):
    body = STORY_LINES[:2] + [line] + STORY_LINES[2:]
    assert lines_of(clean(doc("\n".join(body))).body) == body


def test_bio_of_known_author_with_any_role():
    text = STORY + "\nMara Quill is a senior fellow at the invented Institute for Network Policy.\n" \
                   "She writes about hospital security and public health."
    art = clean(doc(text, author="Mara Quill"))
    assert lines_of(art.body) == STORY_LINES and len(art.removed) == 2
    # without the author known, a non-writer role is not taken as a bio
    art = clean(doc(STORY + "\nMara Quill is a senior fellow at the invented Institute for Network Policy."))
    assert "Mara Quill is a senior fellow" in art.body


def test_bio_name_with_particle():
    text = SECOND_STORY + "\nJoost van der Berg is a staff reporter for an invented Dutch news site."
    art = clean(doc(text))
    assert lines_of(art.body) == SECOND_STORY_LINES and art.author == "Joost van der Berg"


def test_pronoun_lines_without_bio_start_are_story():
    ending = ["She previously worked at the county's IT department, the hospital said.",
              "Her work has been praised by regulators."]
    art = clean(doc("\n".join(STORY_LINES + ending)))
    assert lines_of(art.body) == STORY_LINES + ending


def test_partial_settings_and_clean_section_limits():
    short = doc("Hackers hit a bank on Monday.")
    with pytest.raises(InputError):
        clean(short)
    assert clean(short, {"clean": {"min_body_chars": 0}}).body == "Hackers hit a bank on Monday."
    with pytest.raises(InputError):  # nothing at all is never an article
        clean(doc("Advertisement"), {"clean": {"min_body_chars": 0}})


def test_feed_item_with_headline_and_short_description_is_an_article():
    # a feed item: a headline and a description shorter than min_body_chars on its own
    item = doc("Phone lines are down since Monday…", title="Ransomware attack cripples Pellworth County offices")
    art = clean(item)
    assert art.body == "Phone lines are down since Monday…"
    assert art.title == "Ransomware attack cripples Pellworth County offices"


def test_headline_only_item_reads_the_headline_as_its_body():
    art = clean(doc("", title="Hackers leak records of Glenmoor Water Authority customers"))
    assert art.body == "Hackers leak records of Glenmoor Water Authority customers"
    with pytest.raises(InputError):  # a short headline and nothing else is still no article
        clean(doc("", title="Weekly roundup"))
