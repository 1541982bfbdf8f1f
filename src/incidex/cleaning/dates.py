"""Publication dates -> ISO 8601, keeping what the source said and no more.

* an RFC 2822 date (feeds, e-mail style footers) keeps its offset:
  ``Wed, 27 Dec 2023 18:15:22 +0000`` -> ``2023-12-27T18:15:22+00:00``;
* a date without a time stays a date: ``Dec 5, 2024`` -> ``2024-12-05``;
* a time without a zone stays naive (no zone is invented).
"""
from __future__ import annotations

import re
import time
import warnings
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime

_HAS_TIME = re.compile(r"\d{1,2}:\d{2}|T\d{2}")
_HAS_YEAR = re.compile(r"\b(1[89]|2[01])\d\d\b")
_EPOCH = re.compile(r"^\d{9,10}(\.\d+)?$")
# Year-first dates with other separators: 2017_01_03 (CASIE), 2017/01/03, 2017.01.03, 20170103.
_YMD = re.compile(r"^((?:1[89]|2[01])\d\d)(?:([_/.])(\d{1,2})\2(\d{1,2})|(\d{2})(\d{2}))$")
# Zone abbreviations common in English-language news datelines (hours from UTC).
TZ_ABBREVIATIONS = {"UTC": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
                    "PST": -8, "PDT": -7, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "JST": 9,
                    "KST": 9, "AEST": 10, "AEDT": 11}
_TZINFOS = {k: v * 3600 for k, v in TZ_ABBREVIATIONS.items()}
# What dateutil raises on text it cannot read: ParserError is a ValueError; ArithmeticError
# covers OverflowError and decimal.InvalidOperation ("09:0344...4:00" as seconds)
_DATEUTIL_ERRORS = (ValueError, ArithmeticError, TypeError)


# A publication date outside these years is a typo or a hostile value, not a date the
# store could order or convert (year 1 with an offset has no UTC instant).
PLAUSIBLE_YEARS = (1900, 2199)


def _iso(dt: datetime) -> str | None:
    """None for an offset of a day or more (``+3000``): dateutil accepts it, but it is no
    real zone and Python cannot write it, so the date is unknown rather than a crash."""
    try:
        return dt.isoformat(timespec="seconds")
    except ValueError:
        return None


def normalize_date(value: str | datetime | date | time.struct_time | None) -> str | None:
    """Any usual way of writing a publication date -> ISO 8601 string, or None (also for a
    year outside PLAUSIBLE_YEARS)."""
    iso = _normalize(value)
    if iso is None or not PLAUSIBLE_YEARS[0] <= int(iso[:4]) <= PLAUSIBLE_YEARS[1]:
        return None
    return iso


def _normalize(value: str | datetime | date | time.struct_time | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, time.struct_time):
        try:
            return _iso(datetime(*value[:6], tzinfo=timezone.utc))
        except (ValueError, OverflowError):
            return None
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    s = str(value).strip().rstrip(".")
    if not s:
        return None
    if _EPOCH.match(s):
        return datetime.fromtimestamp(float(s), tz=timezone.utc).isoformat(timespec="seconds")
    ymd = _YMD.match(s)
    if ymd:
        y, _, m1, d1, m2, d2 = ymd.groups()
        try:
            return date(int(y), int(m1 or m2), int(d1 or d2)).isoformat()
        except ValueError:
            return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        try:
            return date.fromisoformat(s).isoformat()
        except ValueError:
            return None
    try:
        return _iso(datetime.fromisoformat(s.replace("Z", "+00:00")))
    except ValueError:
        pass
    if "," in s[:5] or re.match(r"^\d{1,2} \w{3} \d{4} \d", s):
        try:
            dt = parsedate_to_datetime(s)
            if dt is not None:
                return _iso(dt)
        except (TypeError, ValueError, IndexError, OverflowError):
            # OverflowError: a field too large for C (a 20-digit year or hour)
            pass
    if not _HAS_YEAR.search(s):
        return None
    from dateutil import parser as du

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dt = du.parse(s, fuzzy=False, tzinfos=_TZINFOS)
        except _DATEUTIL_ERRORS:
            try:
                dt = du.parse(s, fuzzy=True, tzinfos=_TZINFOS)
            except _DATEUTIL_ERRORS:
                return None
    if not _HAS_TIME.search(s):
        return dt.date().isoformat()
    return _iso(dt)
