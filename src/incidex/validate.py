"""Filter and field values checked in one place, so the CLI and the API say the same thing.

Every check either returns the value in the form the store wants (a country
upper-cased, an attack type lower-cased) or raises ``BadValue``, whose text
names the field and says what is accepted or what was probably meant::

    country: UK is not an ISO 3166 alpha-2 code; did you mean GB?
    type: ransom is not an attack type; did you mean ransomware?
    since: 2024-02-30 is not a calendar date (use YYYY, YYYY-MM or YYYY-MM-DD)
    since: 2025 is after until 2024; swap them or widen the range

The CLI prints it as ``error: <message>`` and exits 2; the API answers 422
with it as ``detail``. ``BadValue`` is a ``ValueError`` too, so pydantic
validators can raise it and the API's error handler can find it again.
Facet fields may hold several values (a list): each is checked.

Aliases and the suggestion threshold are data: ``[validate]`` in settings.toml.
"""
from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Any, Iterable

from incidex.records import ATTACK_TYPES, SECTORS, IncidexError

OUTCOMES = ("successful", "attempted", "unknown")
DATE_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"
_PARTIAL = re.compile(r"^([12]\d{3})(?:-(\d{2}))?$")
_FULL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class BadValue(IncidexError, ValueError):
    """A parameter value that is not accepted; ``str()`` is the whole message, field first."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


@cache
def _config() -> dict[str, Any]:
    from incidex.settings import load_settings

    return load_settings().get("validate", {})


def suggest(value: str, choices: Iterable[str]) -> str | None:
    """The accepted value most likely meant: one that starts with ``value`` (``ransom`` ->
    ``ransomware``), else the closest by edit similarity above ``[validate] suggest_cutoff``."""
    from rapidfuzz import fuzz, process

    v = value.strip().lower()
    choices = list(choices)
    if not v:
        return None
    starts = [c for c in choices if c.lower().startswith(v) or v.startswith(c.lower())]
    if len(starts) >= 1:
        return min(starts, key=lambda c: abs(len(c) - len(v)))
    best = process.extractOne(v, choices, scorer=fuzz.ratio, processor=str.lower,
                              score_cutoff=float(_config().get("suggest_cutoff", 60)))
    return best[0] if best else None


def _each(check, field: str, value: Any) -> Any:
    """``check(field, v)`` for one value or for each of several (the result has the same shape)."""
    if isinstance(value, (list, tuple)):
        return [check(field, v) for v in value]
    return None if value is None else check(field, value)


# ----------------------------------------------------------------- single values

def choice(field: str, value: str, choices: Iterable[str], what: str) -> str:
    """``value`` if it is one of ``choices`` (case-insensitive), else a ``BadValue`` with a suggestion."""
    choices = tuple(choices)
    v = str(value).strip().lower()
    if v in choices:
        return v
    hint = suggest(v, choices)
    tail = f"did you mean {hint}?" if hint else "one of " + ", ".join(choices)
    raise BadValue(field, f"{value} is not {what}; {tail}")


def attack_type(field: str, value: str) -> str:
    return choice(field, value, ATTACK_TYPES, "an attack type")


def sector(field: str, value: str) -> str:
    return choice(field, value, SECTORS, "a sector")


def outcome(field: str, value: str) -> str:
    return choice(field, value, OUTCOMES, "an outcome")


def country(field: str, value: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased. Common non-ISO codes (UK, EL), alpha-3 codes
    and country names are refused with the code meant, so a filter never silently matches nothing."""
    import pycountry

    raw = str(value).strip()
    code = raw.upper()
    if len(code) == 2 and code.isalpha() and pycountry.countries.get(alpha_2=code) is not None:
        return code
    meant = _config().get("country_aliases", {}).get(code)
    if meant is None and len(code) == 3 and code.isalpha():
        hit = pycountry.countries.get(alpha_3=code)
        meant = hit.alpha_2 if hit else None
    if meant is None and len(raw) > 3:
        try:
            meant = pycountry.countries.lookup(raw).alpha_2
        except LookupError:
            try:
                meant = pycountry.countries.search_fuzzy(raw)[0].alpha_2
            except LookupError:
                meant = None
    tail = f"did you mean {meant}?" if meant else "use two letters such as GB, US or DE"
    raise BadValue(field, f"{raw} is not an ISO 3166 alpha-2 code; {tail}")


@cache
def country_codes() -> tuple[str, ...]:
    """Every ISO 3166-1 alpha-2 code in each way of writing it the filters accept (GB, gb, Gb, gB):
    the exact enumeration for the OpenAPI document."""
    import pycountry

    out = []
    for c in sorted(x.alpha_2 for x in pycountry.countries):
        out += [c, c.lower(), c[0] + c[1].lower(), c[0].lower() + c[1]]
    return tuple(out)


#: JSON-schema pattern of a free-text field: any text but a NUL character (see ``text``).
NO_NUL_PATTERN = r"^[^\x00]*$"
#: The same for a required text: at least one character that is neither whitespace nor NUL.
NOT_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


def text(field: str, value: str, max_length: int | None = None, required: bool = False, nul: bool = False) -> str:
    """A free-text value as given, refused when it holds a NUL (unless ``nul``: article text, whose
    readers drop it), is too long, or (``required``) is only whitespace.

    Why: a NUL ends the string inside SQLite's full-text parser ("unterminated
    string") and PostgreSQL refuses it in any text, so it would otherwise come back
    as a server error; and the length is the length of what was sent, counted
    before any whitespace is stripped, so 600 form feeds cannot slip past a
    500-character limit.
    """
    at = -1 if nul else value.find("\x00")
    if at >= 0:
        raise BadValue(field, f"contains a NUL character (%00) at position {at + 1}; remove it")
    if max_length is not None and len(value) > max_length:
        raise BadValue(field, f"{len(value)} characters; at most {max_length}")
    if required and not value.strip():
        raise BadValue(field, "is empty or only whitespace; give some text")
    return value


def date_filter(field: str, value: str) -> str:
    """A year, a month or a calendar day, as written (``2024``, ``2024-02``, ``2024-02-29``)."""
    v = str(value).strip()
    m = _PARTIAL.match(v)
    if m:
        if m.group(2) and not 1 <= int(m.group(2)) <= 12:
            raise BadValue(field, f"{v} has no month {m.group(2)} (use {DATE_FORMS})")
        return v
    m = _FULL.match(v)
    if m:
        import calendar

        y, mo, d = (int(g) for g in m.groups())
        if y < 1:
            raise BadValue(field, f"{v} is not a calendar date: there is no year 0 (use {DATE_FORMS})")
        if not 1 <= mo <= 12:
            raise BadValue(field, f"{v} has no month {m.group(2)} (use {DATE_FORMS})")
        days = calendar.monthrange(y, mo)[1]
        if not 1 <= d <= days:
            raise BadValue(field, f"{v} is not a calendar date: {calendar.month_name[mo]} {y} has {days} days")
        return v
    raise BadValue(field, f"{v} is not a date; use {DATE_FORMS}")


def _bounds(value: str) -> tuple[date, date]:
    """The first and last day a checked date filter covers."""
    import calendar

    parts = [int(p) for p in value.split("-")]
    if len(parts) == 1:
        return date(parts[0], 1, 1), date(parts[0], 12, 31)
    if len(parts) == 2:
        return date(parts[0], parts[1], 1), date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
    d = date(*parts)
    return d, d


def date_range(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """Both dates checked, and ``since`` not after ``until`` (``since=2024&until=2024`` is a year)."""
    since = None if since is None else date_filter("since", since)
    until = None if until is None else date_filter("until", until)
    if since and until and _bounds(since)[0] > _bounds(until)[1]:
        raise BadValue("since", f"{since} is after until {until}; swap them or widen the range")
    return since, until


def inverted_range(since: Any, until: Any) -> bool:
    """Whether ``since`` and ``until`` are both dates and ``since`` is after ``until``: the one refusal
    of two valid dates, which no JSON schema can express (the API fuzzers allow its 422)."""
    if not isinstance(since, str) or not isinstance(until, str):
        return False
    try:
        date_range(since, until)
    except BadValue as e:
        return e.field == "since" and "is after until" in e.problem
    return False


def published(field: str, value: str | None) -> str | None:
    """A publication date given with an article: ISO 8601 (or another form the readers know, such
    as an RFC 2822 date), normalised; a text that is no date (``yesterday``) is refused, not dropped."""
    if value is None or not str(value).strip():
        return None
    from incidex.cleaning.dates import normalize_date

    iso = normalize_date(value)
    if iso is None:
        raise BadValue(field, f"{value!r} is not a date; use ISO 8601, e.g. 2024-05-02 or 2024-05-02T09:30:00Z")
    return iso


# ----------------------------------------------------------------- incident filters

#: The checked incident filters: store keyword -> (parameter name, check).
_FACETS = {"country": ("country", country), "sector": ("sector", sector),
           "attack_type": ("type", attack_type), "outcome": ("outcome", outcome)}
_FACETS.update({f"not_{key}": (f"not_{name}", check) for key, (name, check) in list(_FACETS.items())})


def incident_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The keyword filters of ``Store.list_incidents`` checked and normalised (a copy).

    Facet values may be single or lists (several values of one field), and so
    may their negations (``not_country``...: checked the same way, named
    ``not_country`` in the message); dates are checked together. The first bad
    value raises ``BadValue``.
    """
    out = {k: one_or_many(v) for k, v in filters.items()}
    for key, (name, check) in _FACETS.items():
        if out.get(key) is not None:
            out[key] = _each(check, name, out[key])
    out["since"], out["until"] = date_range(out.get("since"), out.get("until"))
    return out


def one_or_many(value: Any) -> Any:
    """A filter value in its plainest form: a one-item list as its item, an empty one as None, so
    a saved filter reads ``{"country": "GB"}`` whether it came from ``--country GB`` or a list."""
    if isinstance(value, (list, tuple)):
        items = list(value)
        return None if not items else items[0] if len(items) == 1 else items
    return value


def facet(key: str, value: Any) -> Any:
    """One facet checked by its store keyword (``country``, ``sector``, ``attack_type``, ``outcome``, or
    one of these with ``not_``)."""
    name, check = _FACETS[key]
    return _each(check, name, value)
