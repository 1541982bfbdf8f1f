"""Relative dates resolve against the publication date, never inventing a year."""
from datetime import date

import pytest

from incidex.extraction.dates import date_range, find_dates, resolve
from incidex.records import DateValue

PUB = date(2024, 3, 14)  # a Thursday


def one(text: str, anchor: DateValue | None = None, published: date | None = PUB) -> DateValue | None:
    ms = find_dates(text)
    assert ms, f"no date found in {text!r}"
    return resolve(ms[0], published, anchor)


@pytest.mark.parametrize("text,value,precision", [
    ("The outage began on Monday.", "2024-03-11", "day"),
    ("Officials said yesterday that", "2024-03-13", "day"),
    ("Hackers struck this week.", "2024-03-11", "week"),
    ("It happened earlier this week.", "2024-03-11", "week"),
    ("The firm disclosed it last week.", "2024-03-04", "week"),
    ("It was detected earlier this month.", "2024-03", "month"),
    ("The intrusion started late last month.", "2024-02", "month"),
    ("The data was stolen last year.", "2023", "year"),
    ("Three days ago the portal went dark.", "2024-03-11", "day"),
    ("On March 2, 2021 the breach began.", "2021-03-02", "day"),
    ("The attack of 5 January 2022 was", "2022-01-05", "day"),
    ("A campaign in June 2023 hit", "2023-06", "month"),
    ("Back in 2019 the group", "2019", "year"),
    ("The systems went down on 2024-02-29.", "2024-02-29", "day"),
    # a season is told by its year; "last spring" in March is the spring of the year before
    ("Last spring, the clinic was hit.", "2023", "year"),
    ("The intrusion began in the fall of 2021.", "2021", "year"),
    ("This summer, the portal went dark.", "2024", "year"),
    ("During the winter the attackers", "2023", "year"),
])
def test_phrases(text, value, precision):
    d = one(text)
    assert (d.value, d.precision) == (value, precision)


def test_bare_month_takes_the_latest_past_month_with_lower_confidence():
    d = one("In September, the agency reported an intrusion.")
    assert d.value == "2023-09" and d.precision == "month" and d.confidence <= 0.6
    d = one("In March, the agency reported an intrusion.")
    assert d.value == "2024-03"


def test_bare_month_in_an_older_story_follows_the_anchor_year():
    anchor = DateValue("2021-05", "month", 0.9)
    assert one("In August, a second wave followed.", anchor).value == "2021-08"


def test_counting_from_the_attack_uses_the_anchor():
    anchor = DateValue("2022-07", "month", 0.7)
    assert one("Two months after the attack, sanctions followed.", anchor).value == "2022-09"


def test_modal_may_is_not_a_month():
    assert all(m.kind != "in_month" for m in find_dates("The attackers may have stolen files."))


def test_lowercase_weekday_words_are_ignored():
    assert not [m for m in find_dates("the monday meeting") if m.kind == "weekday"]


def test_without_publication_date_only_absolute_dates_resolve():
    assert one("this week", published=None) is None
    assert one("on 3 May 2020", published=None).value == "2020-05-03"


def test_date_range_covers_the_precision():
    assert date_range(DateValue("2024-02", "month")) == ("2024-02-01", "2024-02-29")
    assert date_range(DateValue("2024-03-11", "week")) == ("2024-03-11", "2024-03-17")


def test_last_season_in_that_season_is_the_one_before():
    assert one("Last spring the network was hit.", published=date(2024, 4, 20)).value == "2023"
    assert one("Last spring the network was hit.", published=date(2024, 7, 1)).value == "2024"


def test_fall_the_verb_is_not_a_season():
    assert find_dates("Employees may fall for the lure.") == []
