"""Temporal expressions resolved against the publication date.

A small rule resolver rather than dateparser: on these machines dateparser got
11 of 20 news phrases right ("earlier this week", "over the weekend", "late last
month" gave nothing; "in September" became a point date), a rule resolver all 20
(../shared/MEASUREMENTS.md). Every pattern is a flat alternation without nested
quantifiers, so matching is linear in the text length.

The resolver never invents a year the text does not support: a month without a
year gets month precision and a lower confidence; the caller may pass an
``anchor`` (the date of the incident the narrative is about, or a knowledge-base
campaign date) that settles the year.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from ..records import DateValue

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
MONTHS["sept"] = 9
WEEKDAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "several": 3,
    "a few": 3, "few": 3,
}

_MON = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_NUM = r"(?:\d{1,2}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|a few)"
_UNIT = r"(?:day|week|month|year)s?"
_PART = r"(?:(?:early|mid|late|the (?:start|beginning|end|middle) of)[- ]?)"

# Order matters: longer, more specific forms first.
PATTERNS: list[tuple[str, str]] = [
    ("iso", r"\b(?P<y>(?:19|20)\d{2})-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b"),
    ("mdy", rf"\b(?P<mon>{_MON})\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d{{2}})\b"),
    ("dmy", rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MON}),?\s+(?P<y>(?:19|20)\d{{2}})\b"),
    ("my", rf"\b(?:{_PART})?(?P<mon>{_MON}),?\s+(?:of\s+)?(?P<y>(?:19|20)\d{{2}})\b"),
    ("md", rf"\b(?P<mon>{_MON})\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?!\s*(?:,\s*)?(?:19|20)\d{{2}})(?![\d:])"),
    ("dm", rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MON})\b(?!,?\s+(?:19|20)\d{{2}})"),
    ("month_rel", rf"\b(?P<mon>(?:January|February|March|April|May|June|July|August|September|October|November|December))(?:\s+(?:and|to|through|until|-)\s+(?:January|February|March|April|May|June|July|August|September|October|November|December))?\s+(?P<which>last|this|next)\s+year\b"),
    ("last_month_name", r"\b(?P<which>last|this|past)\s+(?P<mon>January|February|March|April|May|June|July|August|September|October|November|December)\b"),
    ("ago", rf"\b(?P<n>{_NUM})\s+(?P<unit>{_UNIT})\s+ago\b"),
    ("after", rf"\b(?P<n>{_NUM})\s+(?P<unit>{_UNIT})\s+(?P<dir>after|later|before|earlier)\b"),
    ("following", r"\b(?:the\s+)?(?P<dir>following|next|previous|preceding)\s+(?P<unit>day|week|month|year)\b"),
    ("this_unit", r"\b(?P<mod>(?:earlier|later|late|early)\s+)?(?P<which>this|last|past|previous)\s+(?P<unit>week|month|year|weekend)\b"),
    ("weekend", r"\bover\s+the\s+weekend\b"),
    ("yesterday", r"\b(?P<w>yesterday|today|tonight|this morning|this afternoon)\b"),
    ("weekday", rf"\b(?P<pre>(?:on|last|this|since|early|late)\s+)?(?P<wd>{_DAY})\b"),
    ("in_month", rf"\b(?P<pre>(?:in|since|during|from|until|by|through|earlier in|later in|back in|early|late|mid|in early|in late|in mid)[- ])(?:the\s+(?:start|beginning|end|middle)\s+of\s+)?(?P<mon>(?:January|February|March|April|June|July|August|September|October|November|December|Sept?\.|Jan\.|Feb\.|Aug\.|Oct\.|Nov\.|Dec\.|May))\b(?!,?\s+(?:the\s+)?(?:[0-3]?\d(?:st|nd|rd|th)?\b|(?:19|20)\d{{2}}))"),
    ("year", r"\b(?P<pre>(?:in|since|during|from|until|by|through|early|late|mid|of|back in|in early|in late|in mid)[- ])(?P<y>(?:19|20)\d{2})\b"),
    ("season_y", r"\b(?:(?:in|during|over|early|late|mid|in early|in late|in mid)[- ])?(?:the\s+)?(?P<s>spring|summer|fall|autumn|winter)\s+(?:of\s+)?(?P<y>(?:19|20)\d{2})\b"),
    ("season_rel", r"\b(?P<which>last|this|past|previous)\s+(?P<s>spring|summer|fall|autumn|winter)\b"),
    ("season_in", r"\b(?:in|during|over|early|late|mid)[- ](?:the\s+)?(?P<s>spring|summer|fall|autumn|winter)\b"),
    ("quarter", r"\b(?:(?P<q>Q[1-4])|(?P<ord>first|second|third|fourth)\s+quarter\s+of)\s+(?P<y>(?:19|20)\d{2})\b"),
]
_COMPILED = re.compile("|".join(f"(?P<{name}>{pat.replace('(?P<', f'(?P<{name}_')})" for name, pat in PATTERNS), re.IGNORECASE)
_WEEKDAY_CASE = re.compile(_DAY)  # weekdays only count when capitalised


@dataclass
class DateMention:
    """A temporal expression found in text, not yet resolved."""

    start: int
    end: int
    text: str
    kind: str
    parts: dict[str, str]

    @property
    def relative_to_anchor(self) -> bool:
        """'two months after the attack' counts from the narrative, not the publication."""
        return self.kind in ("after", "following")

    @property
    def has_year(self) -> bool:
        return "y" in self.parts or self.kind in ("ago", "this_unit", "weekend", "yesterday", "weekday", "month_rel",
                                                  "last_month_name", "season_rel", "season_in")


# Every pattern needs a digit or one of these words; most sentences have neither.
_PREFILTER = re.compile(
    r"\d|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|today|tonight|yesterday|morning|afternoon|week|month|year|ago|quarter|spring|summer|fall|autumn|winter)")


def find_dates(text: str) -> list[DateMention]:
    if not _PREFILTER.search(text):
        return []
    out = []
    for m in _COMPILED.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        parts = {k[len(kind) + 1:]: v for k, v in m.groupdict().items() if v is not None and k.startswith(kind + "_")}
        if kind == "weekday" and not _WEEKDAY_CASE.search(m.group(0)):
            continue
        if kind == "in_month" and parts.get("mon", "") == "may":
            continue  # the modal verb, not the month
        out.append(DateMention(m.start(), m.end(), m.group(0), kind, parts))
    return out


def _month(s: str) -> int:
    return MONTHS[s.lower().rstrip(".")]


def _num(s: str) -> int:
    s = s.lower()
    return int(s) if s.isdigit() else NUMBER_WORDS.get(s, 1)


def _shift_months(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m + 1, 1)


def _val(d: date, precision: str) -> str:
    if precision == "year":
        return f"{d.year:04d}"
    if precision == "month":
        return f"{d.year:04d}-{d.month:02d}"
    return d.isoformat()


def _latest_month_not_after(month: int, ref: date) -> date:
    year = ref.year if month <= ref.month else ref.year - 1
    return date(year, month, 1)


def resolve(mention: DateMention, published: date | None, anchor: DateValue | None = None) -> DateValue | None:
    """Resolve a mention to a date with precision and confidence.

    ``published`` is the reference for deictic phrases ("this week"); ``anchor``
    is the date the narrative is currently about, for phrases such as "two
    months after the attack" and for the year of a bare month in a background
    story. Without a publication date only absolute dates resolve.
    """
    p, kind = mention.parts, mention.kind
    mk = lambda d, prec, conf: DateValue(_val(d, prec), prec, conf, mention.text)  # noqa: E731
    try:
        if kind == "iso":
            return mk(date(int(p["y"]), int(p["m"]), int(p["d"])), "day", 0.95)
        if kind in ("mdy", "dmy"):
            return mk(date(int(p["y"]), _month(p["mon"]), int(p["d"])), "day", 0.95)
        if kind == "my":
            return mk(date(int(p["y"]), _month(p["mon"]), 1), "month", 0.9)
        if kind == "quarter":
            q = int(p["q"][1]) if p.get("q") else ["first", "second", "third", "fourth"].index(p["ord"].lower()) + 1
            return DateValue(f"{int(p['y']):04d}-{(q - 1) * 3 + 1:02d}", "month", 0.6, mention.text)
        if kind == "year":
            return mk(date(int(p["y"]), 1, 1), "year", 0.85)
        if kind == "season_y":
            return mk(date(int(p["y"]), 1, 1), "year", 0.8)
        if kind in ("season_rel", "season_in"):
            if published is None:
                return None
            return mk(_season_start(p["s"], p.get("which", ""), published), "year", 0.7)
        if kind == "last_month_name":
            if published is None:
                return None
            month = _month(p["mon"])
            d0 = _latest_month_not_after(month, published)
            if p["which"].lower() == "last" and d0.year == published.year and month == published.month:
                d0 = date(published.year - 1, month, 1)
            return mk(d0, "month", 0.8)
        if kind == "month_rel":
            if published is None:
                return None
            year = published.year + {"last": -1, "this": 0, "next": 1}[p["which"].lower()]
            return mk(date(year, _month(p["mon"]), 1), "month", 0.85)
        anchor_d = _anchor_date(anchor)
        if kind in ("md", "dm", "in_month"):
            month = _month(p["mon"])
            ref = published
            conf = 0.6
            if anchor_d and published and anchor_d.year < published.year:
                # A bare month inside a story about an earlier year: the first such
                # month at or after the anchor is the reading the narrative supports.
                year = anchor_d.year if month >= anchor_d.month else anchor_d.year + 1
                d0 = date(year, month, 1)
                conf = 0.5
            elif ref is not None:
                d0 = _latest_month_not_after(month, ref)
            else:
                return None
            if kind in ("md", "dm"):
                day = int(p["d"])
                if day < 1 or day > calendar.monthrange(d0.year, d0.month)[1]:
                    return None
                return mk(date(d0.year, d0.month, day), "day", conf)
            return mk(d0, "month", conf)
        if kind == "after":
            base = anchor_d or published
            if base is None:
                return None
            n = _num(p["n"])
            sign = -1 if p["dir"].lower() in ("before", "earlier") else 1
            return _offset(base, p["unit"], sign * n, mention, 0.6 if anchor_d else 0.4)
        if kind == "following":
            base = anchor_d or published
            if base is None:
                return None
            sign = -1 if p["dir"].lower() in ("previous", "preceding") else 1
            return _offset(base, p["unit"], sign, mention, 0.5)
        if published is None:
            return None
        if kind == "ago":
            return _offset(published, p["unit"], -_num(p["n"]), mention, 0.7)
        if kind == "this_unit":
            unit = p["unit"].lower()
            back = p["which"].lower() in ("last", "past", "previous")
            if unit in ("week", "weekend"):
                monday = published - timedelta(days=published.weekday())
                if back:
                    monday -= timedelta(days=7)
                d = monday + timedelta(days=5) if unit == "weekend" else monday
                return mk(d, "week", 0.8)
            if unit == "month":
                d = _shift_months(published, -1 if back else 0)
                return mk(d, "month", 0.85)
            return mk(date(published.year - (1 if back else 0), 1, 1), "year", 0.85)
        if kind == "weekend":
            sat = published - timedelta(days=(published.weekday() - 5) % 7 or 7) if published.weekday() < 5 else published - timedelta(days=published.weekday() - 5)
            return mk(sat, "week", 0.7)
        if kind == "yesterday":
            w = p["w"].lower()
            return mk(published - timedelta(days=1) if w == "yesterday" else published, "day", 0.85)
        if kind == "weekday":
            wd = WEEKDAYS[p["wd"].lower()]
            delta = (published.weekday() - wd) % 7
            if (p.get("pre") or "").strip().lower() == "last" and delta == 0:
                delta = 7
            return mk(published - timedelta(days=delta), "day", 0.75)
    except (ValueError, KeyError, OverflowError):
        return None
    return None


# A season is told by its year: "last spring" in a March 2018 article is spring 2017.
SEASON_START = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}


def _season_start(season: str, which: str, published: date) -> date:
    """The first day of the season meant: this year's ("this summer"), the latest one begun by the
    publication date ("in the spring"), or the one before it when that season is still running
    ("last spring" in April)."""
    month = SEASON_START[season.lower()]
    if which.lower() == "this":  # the season of the publication's year (a winter runs into January)
        return date(published.year - (month == 12 and published.month < 3), month, 1)
    start = _latest_month_not_after(month, published)
    if which.lower() in ("last", "past", "previous") and _shift_months(start, 3) > published:
        start = date(start.year - 1, month, 1)
    return start


def _offset(base: date, unit: str, n: int, mention: DateMention, conf: float) -> DateValue | None:
    unit = unit.lower().rstrip("s")
    if unit == "day":
        return DateValue((base + timedelta(days=n)).isoformat(), "day", conf, mention.text)
    if unit == "week":
        return DateValue((base + timedelta(weeks=n)).isoformat(), "week", conf, mention.text)
    if unit == "month":
        return DateValue(_val(_shift_months(base, n), "month"), "month", conf, mention.text)
    return DateValue(f"{base.year + n:04d}", "year", conf, mention.text)


def _anchor_date(anchor: DateValue | None) -> date | None:
    if anchor is None:
        return None
    return to_date(anchor.value)


def to_date(value: str | None) -> date | None:
    """The first day covered by an ISO value of any precision."""
    if not value:
        return None
    try:
        parts = [int(x) for x in value[:10].split("-")]
        while len(parts) < 3:
            parts.append(1)
        return date(*parts)
    except ValueError:
        return None


def date_range(value: DateValue | None) -> tuple[str | None, str | None]:
    """First and last day a date of some precision covers (for range filters)."""
    if value is None:
        return None, None
    d = to_date(value.value)
    if d is None:
        return None, None
    if value.precision == "year":
        return f"{d.year}-01-01", f"{d.year}-12-31"
    if value.precision == "month":
        return d.isoformat(), date(d.year, d.month, calendar.monthrange(d.year, d.month)[1]).isoformat()
    if value.precision == "week":
        return d.isoformat(), (d + timedelta(days=6)).isoformat()
    return d.isoformat(), d.isoformat()
