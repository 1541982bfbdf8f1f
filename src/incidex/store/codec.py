"""Conversions between records and database values (no SQL here).

Kept apart from the query code so the PostgreSQL backend reuses it and so the
rules (UTC instants, date ranges covering a precision, case-insensitive name
keys, signature bytes) are tested on their own.
"""
from __future__ import annotations

import calendar
import re
import struct
from dataclasses import fields
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator, Sequence

from incidex.records import (
    Actor, Attribution, DateValue, Evidence, Impact, IncidexError, Incident, Response, Victim,
)

UTC = timezone.utc


IN_BATCH = 500  # values per IN (...) list: under SQLite's bound-parameter limit


def in_batches(values: Sequence[Any], size: int = IN_BATCH) -> Iterator[Sequence[Any]]:
    """``values`` in slices small enough for one IN (...) list."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def now_utc() -> datetime:
    return datetime.now(UTC)


def name_key(name: str | None) -> str | None:
    """Casefolded, whitespace-collapsed name: what name filters compare."""
    if name is None:
        return None
    key = " ".join(name.casefold().split())
    return key or None


#: Pivot terms of an incident: kind -> its list in the incident document.
TERM_KINDS = {"technique": "techniques", "malware": "malware", "cve": "cves"}


def term_key(kind: str, value: str | None) -> str | None:
    """The form a term is matched by: ATT&CK technique and CVE ids upper-cased (``t1486`` is
    ``T1486``), malware names as ``name_key``; None for a blank one."""
    if value is None or not str(value).strip():
        return None
    value = " ".join(str(value).split())
    return value.upper() if kind in ("technique", "cve") else name_key(value)


def term_rows(doc: dict) -> list[dict[str, str]]:
    """``{kind, term_key, term}`` rows of ``incident_terms`` for an incident document, one per term."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for kind, field in TERM_KINDS.items():
        for value in doc.get(field) or []:
            key = term_key(kind, value)
            if key and len(key) <= 200 and (kind, key) not in rows:
                rows[(kind, key)] = {"kind": kind, "term_key": key, "term": " ".join(str(value).split())[:200]}
    return list(rows.values())


# -- signatures -----------------------------------------------------------------

def pack_signature(sig: Sequence[int] | None) -> bytes | None:
    """MinHash values as little-endian uint64 (independent of the MinHash scheme's width)."""
    if sig is None:
        return None
    return struct.pack(f"<{len(sig)}Q", *(int(v) for v in sig))


def unpack_signature(blob: bytes | None) -> list[int] | None:
    if blob is None:
        return None
    return list(struct.unpack(f"<{len(blob) // 8}Q", blob))


# -- instants and dates ---------------------------------------------------------

_PARTIAL = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")


def parse_instant(text: str | None) -> datetime | None:
    """A publication date as an aware UTC datetime, or None if it cannot be read.

    ISO 8601 first; other common formats through dateutil (without fuzzy
    matching, so prose never turns into a date). Naive values are taken as UTC.
    """
    if not text or not text.strip():
        return None
    s = text.strip()
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        try:
            from dateutil import parser as dparser
            dt = dparser.parse(s)
        except (ValueError, ArithmeticError, TypeError):  # ArithmeticError: decimal.InvalidOperation, overflow
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset has no UTC instant
        return None


def _partial_range(value: str) -> tuple[date, date] | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` -> first and last day it covers."""
    m = _PARTIAL.match(value)
    if not m:
        return None
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if mo is None:
            return date(y, 1, 1), date(y, 12, 31)
        mo_i = int(mo)
        if d is None:
            return date(y, mo_i, 1), date(y, mo_i, calendar.monthrange(y, mo_i)[1])
        day = date(y, mo_i, int(d))
        return day, day
    except ValueError:
        return None


def date_range(dv: DateValue | None) -> tuple[date | None, date | None]:
    """The days an incident date covers, as stored in ``date_from``/``date_to``.

    The coarser of the value's own granularity and its precision wins:
    ``2024-03-14`` with precision ``month`` covers March 2024; precision
    ``week`` covers the ISO week (Monday to Sunday) containing the day.
    """
    if dv is None:
        return None, None
    rng = _partial_range(dv.value)
    if rng is None:
        return None, None
    start, end = rng
    if dv.precision == "year":
        return date(start.year, 1, 1), date(start.year, 12, 31)
    if dv.precision == "month" and start == end:
        last = calendar.monthrange(start.year, start.month)[1]
        return date(start.year, start.month, 1), date(start.year, start.month, last)
    if dv.precision == "week" and start == end:
        monday = start - timedelta(days=start.weekday())
        return monday, monday + timedelta(days=6)
    return start, end


def bound_instant(value: datetime | date | str | None, *, end: bool) -> datetime | None:
    """A ``since``/``until`` filter value as a UTC instant (inclusive bounds).

    Dates and partial dates (``2024``, ``2024-03``) cover whole days: ``until``
    of a date means the end of its last day.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, date):
        day = value
    else:
        rng = _partial_range(value)
        if rng is None:
            dt = parse_instant(value)
            if dt is None:
                raise IncidexError(f"not a date: {value!r} (use YYYY, YYYY-MM, YYYY-MM-DD or ISO 8601)")
            return dt
        day = rng[1] if end else rng[0]
    if end:
        return datetime.combine(day, time.max, tzinfo=UTC)
    return datetime.combine(day, time.min, tzinfo=UTC)


def bound_date(value: date | datetime | str | None, *, end: bool) -> date | None:
    """A ``since``/``until`` filter value as a day (partial dates cover their range)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    rng = _partial_range(value)
    if rng is None:
        dt = parse_instant(value)
        if dt is None:
            raise IncidexError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
        return dt.date()
    return rng[1] if end else rng[0]


# -- incidents ------------------------------------------------------------------

@lru_cache(maxsize=32)
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def _pick(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    names = _field_names(cls)  # resolution rebuilds thousands of incidents: look the fields up once
    return {k: v for k, v in d.items() if k in names}


def _date(d: dict[str, Any] | None) -> DateValue | None:
    return DateValue(**_pick(DateValue, d)) if d else None


def incident_from_dict(d: dict[str, Any]) -> Incident:
    """Rebuild an ``Incident`` from ``Incident.to_dict()`` (unknown keys ignored)."""
    return Incident(
        id=d["id"],
        summary=d.get("summary") or "",
        attack_types=list(d.get("attack_types") or []),
        attackers=[Actor(**_pick(Actor, a)) for a in d.get("attackers") or []],
        attribution=Attribution(**_pick(Attribution, d.get("attribution") or {})),
        victims=[Victim(**_pick(Victim, v)) for v in d.get("victims") or []],
        date=_date(d.get("date")),
        outcome=d.get("outcome") or "unknown",
        impact=Impact(**_pick(Impact, d.get("impact") or {})),
        responses=[Response(**{**_pick(Response, r), "date": _date(r.get("date"))}) for r in d.get("responses") or []],
        techniques=list(d.get("techniques") or []),
        malware=list(d.get("malware") or []),
        cves=list(d.get("cves") or []),
        iocs=list(d.get("iocs") or []),
        evidence=[Evidence(**_pick(Evidence, e)) for e in d.get("evidence") or []],
        confidence=float(d.get("confidence", 0.5)),
        background=bool(d.get("background", False)),
        provenance=dict(d.get("provenance") or {}),
        conflicts=list(d.get("conflicts") or []),
    )
