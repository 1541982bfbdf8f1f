"""What the REST API and the web UI both ask of the store, in one place.

* Query models: the query-string parameters of each listing, validated by
  pydantic (types, ranges, enumerations, date formats) with unknown
  parameters refused, so ``?contry=FR`` is an error and not a silent "all".
  They carry the same filters as the CLI (``incidex incidents --help``).
* ``incident_page``: a page of incident records (the JSON export's records:
  incident + sources) with the total, sources fetched in one query.
* ``Stats``: statistics and facet counts, cached until the incidents change.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Annotated, Any, ClassVar, Literal

from annotated_types import MaxLen, MinLen
from fastapi import Path as PathParam
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from incidex.export.common import Source, incident_json
from incidex.records import ATTACK_TYPES, SECTORS, IncidexError, Incident
from incidex import validate
from incidex.store import codec
from incidex.store.api_sql import FACET_FILTERS as FACET_KEYS, NEGATIONS as NEGATED_KEYS, TERM_FILTERS

AttackType = Literal[ATTACK_TYPES]  # type: ignore[valid-type]
Sector = Literal[SECTORS]  # type: ignore[valid-type]
Outcome = Literal["successful", "attempted", "unknown"]
_PARTIAL = re.compile(r"^[12]\d{3}(-(0[1-9]|1[0-2]))?$")
#: The JSON schema of a date filter: a year or month, or a calendar date (so a
#: client or a generator knows that 2024-02-30 is not one).
DATE_SCHEMA = {"anyOf": [{"type": "string", "pattern": _PARTIAL.pattern}, {"type": "string", "format": "date"}]}
_DATE_HELP = " (YYYY, YYYY-MM or YYYY-MM-DD)"
#: The codes ``validate.country`` accepts, any case (UK, GBR, a name: 422 with the code meant).
COUNTRY_SCHEMA = {"enum": list(validate.country_codes())}
MAX_PAGE = 500
MAX_OFFSET = 100_000  # the documented bounds; [serve] max_page_size / max_offset can only lower them


def _check_date(value: Any, info: ValidationInfo) -> Any:
    """Before the type check, so the message is ``validate``'s (the CLI's too)."""
    return validate.date_filter(info.field_name, value) if isinstance(value, str) else value


def _check_facet(value: Any, info: ValidationInfo) -> Any:
    return validate.facet(info.field_name, value) if isinstance(value, (str, list)) else value


def _check_range(model: Any) -> Any:
    validate.date_range(model.since, model.until)
    return model


def _max_length(field: Any) -> int | None:
    """The ``max_length`` a pydantic field declares, or None."""
    return next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None)


def _is_list(field: Any) -> bool:
    """Whether a field holds a list (its ``max_length`` counts values, not characters)."""
    return "list[" in str(field.annotation)


def _required_text(field: Any) -> bool:
    """Whether a field declares a ``min_length``: then whitespace alone is no value either."""
    return any(isinstance(m, MinLen) and m.min_length > 0 for m in field.metadata)


def text_field(default: Any = None, *, max_length: int, description: str, min_length: int | None = None) -> Any:
    """A free-text query parameter: the OpenAPI document says it may hold anything but a NUL, and
    with ``min_length`` that it is not blank (``RawText`` refuses both), so a client or a
    generator knows before sending it."""
    pattern = validate.NOT_BLANK_PATTERN if min_length else validate.NO_NUL_PATTERN
    return Field(default, max_length=max_length, min_length=min_length, description=description,
                 json_schema_extra={"pattern": pattern})


class RawText(BaseModel):
    """Text fields checked as sent, before ``str_strip_whitespace`` strips them (``validate.text``):
    no NUL (unless ``nul_allowed``), ``max_length`` counted on the raw value, and not blank when the
    field has a ``min_length``. Why: pydantic checks lengths after stripping, so 600 form feeds
    around two letters would pass a 500-character limit."""

    nul_allowed: ClassVar[bool] = False

    @field_validator("*", mode="before")
    @classmethod
    def _raw_text(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        field = cls.model_fields[info.field_name]
        if _is_list(field):  # one value of a filter that takes several: its items are checked (``Name``)
            return value
        return validate.text(field.alias or info.field_name, value, _max_length(field), _required_text(field),
                             nul=cls.nul_allowed)


class Strict(RawText):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


class Paging(Strict):
    limit: int | None = Field(None, ge=1, le=MAX_PAGE, description="Page size (default [serve] page_size).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")


#: One facet value of each kind; a filter is a list of them (a repeated parameter: any of them).
Country = Annotated[str, Field(json_schema_extra=COUNTRY_SCHEMA)]
#: A name or id in a filter: no NUL (PostgreSQL text cannot hold one; ``IncidentFilters._names``).
NAME_LENGTH = 300
Name = Annotated[str, Field(max_length=NAME_LENGTH, pattern=validate.NO_NUL_PATTERN)]
MAX_VALUES = 50  # values of one filter in one request
_NOT = "Leave out incidents with any of these "


def _many(description: str) -> Any:
    return Field(None, max_length=MAX_VALUES, description=description)


def _as_list(value: Any) -> Any:
    """A single value as a one-item list, so a JSON body (an alert) may give ``"type": "ddos"``."""
    return [value] if isinstance(value, str) else value


class IncidentFilters(Strict):
    """The filters of ``incidex incidents`` (and ``export``).

    Each facet may repeat (``?type=ransomware&type=ddos``: either; the fields
    are combined with AND) and has a negation ``not_<name>``
    (``?not_type=ddos``: leave out every incident that has it).
    """

    q: str | None = text_field(max_length=500, description="Full-text search over summaries, victims and actors.")
    actor: list[Name] | None = _many("Attacker names, aliases or kb ids (an actor `id`); any of them.")
    victim: list[Name] | None = _many("Victim names (exact, case-insensitive); any of them.")
    country: list[Country] | None = _many("Victim countries, ISO 3166-1 alpha-2; any of them.")
    sector: list[Sector] | None = _many("Victim sectors; any of them.")
    attack_type: list[AttackType] | None = Field(None, alias="type", max_length=MAX_VALUES,
                                                 description="Attack types; any of them.")
    outcome: list[Outcome] | None = _many("Outcomes of the attack; any of them.")
    not_actor: list[Name] | None = _many(_NOT + "attackers.")
    not_victim: list[Name] | None = _many(_NOT + "victims.")
    not_country: list[Country] | None = _many(_NOT + "victim countries.")
    not_sector: list[Sector] | None = _many(_NOT + "victim sectors.")
    not_attack_type: list[AttackType] | None = Field(None, alias="not_type", max_length=MAX_VALUES,
                                                     description=_NOT + "attack types.")
    not_outcome: list[Outcome] | None = _many(_NOT + "outcomes.")
    technique: list[Name] | None = _many("ATT&CK technique ids, e.g. T1486 (any case); any of them.")
    malware: list[Name] | None = _many("Malware names (any case); any of them.")
    cve: list[Name] | None = _many("CVE ids, e.g. CVE-2023-34362; any of them.")
    since: str | None = Field(None, json_schema_extra=DATE_SCHEMA, description="Incident date on or after" + _DATE_HELP + ".")
    until: str | None = Field(None, json_schema_extra=DATE_SCHEMA, description="Incident date on or before" + _DATE_HELP + ".")
    background: bool = Field(True, description="Include incidents only mentioned as background.")

    @field_validator("actor", "victim", "not_actor", "not_victim", *TERM_FILTERS, mode="before")
    @classmethod
    def _names(cls, value: Any, info: ValidationInfo) -> Any:
        """Each name checked as a single text field is (``validate.text``: no NUL, at most
        ``NAME_LENGTH`` characters as sent), so the message names the parameter."""
        value = _as_list(value)
        if not isinstance(value, list):
            return value
        name = cls.model_fields[info.field_name].alias or info.field_name
        return [validate.text(name, v, NAME_LENGTH) if isinstance(v, str) else v for v in value]
    _dates = field_validator("since", "until", mode="before")(_check_date)
    _range = model_validator(mode="after")(_check_range)

    @field_validator("country", "sector", "attack_type", "outcome", "not_country", "not_sector",
                     "not_attack_type", "not_outcome", mode="before")
    @classmethod
    def _facets(cls, value: Any, info: ValidationInfo) -> Any:
        """Each value checked by ``validate`` (its message, the CLI's), before the type check."""
        value = _as_list(value)
        return validate.facet(info.field_name, value) if isinstance(value, list) else value

    def store_filters(self) -> dict[str, Any]:
        """Keyword filters of ``Store.list_incidents`` / ``count_incidents_matching`` (query as ``query``):
        each facet None, one value or a list of several (``validate.one_or_many``)."""
        out: dict[str, Any] = {"since": self.since, "until": self.until, "include_background": self.background,
                               "query": self.q or None}
        for key in (*FACET_KEYS, *NEGATED_KEYS, *TERM_FILTERS):
            values = [v for v in getattr(self, key) or [] if v]
            out[key] = validate.one_or_many([v.upper() for v in values] if key.endswith("country") else values)
        return out

    def active(self) -> "Params":
        """The filters that are set, by query-string name (for links and filter chips)."""
        d = self.model_dump(by_alias=True, exclude_defaults=True, exclude={"limit", "offset"})
        pairs = []
        for k, v in d.items():
            for item in (v if isinstance(v, list) else [v]):
                if item not in (None, ""):
                    pairs.append((k, "false" if item is False else str(item)))
        return Params(pairs)


class Params:
    """A query string as ``(name, value)`` pairs: a name repeats for several values of one filter.

    Templates read ``params.q`` (the first value), ``params.values("type")``
    and ``params.items()`` (every pair, in order).
    """

    def __init__(self, pairs: list[tuple[str, str]] | dict[str, str] = ()):
        self.pairs = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)

    def get(self, key: str, default: Any = None) -> Any:
        return next((v for k, v in self.pairs if k == key), default)

    def values(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]

    def items(self) -> list[tuple[str, str]]:
        return list(self.pairs)

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for k, _ in self.pairs))

    def pop(self, key: str, default: Any = None) -> Any:
        value = self.get(key, default)
        self.pairs = [(k, v) for k, v in self.pairs if k != key]
        return value

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self.get(key)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self.pairs)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)


class IncidentQuery(IncidentFilters, Paging):
    pass


class StatsQuery(IncidentFilters):
    top: int = Field(20, ge=1, le=200, description="Rows per dimension (months: all).")


class ArticleQuery(Paging):
    q: str | None = text_field(max_length=500, description="Full-text search over title and body.")
    source: str | None = text_field(max_length=200, description="Publisher domain, e.g. news.example.")
    since: str | None = Field(None, json_schema_extra=DATE_SCHEMA, description="Published on or after" + _DATE_HELP + ".")
    until: str | None = Field(None, json_schema_extra=DATE_SCHEMA, description="Published on or before" + _DATE_HELP + ".")
    duplicates: bool = Field(True, description="Include syndicated copies.")

    _dates = field_validator("since", "until", mode="before")(_check_date)
    _range = model_validator(mode="after")(_check_range)


class ActorQuery(Paging):
    q: str | None = text_field(max_length=200, description="Part of a name, or a kb id.")


class VictimQuery(Paging):
    q: str | None = text_field(max_length=300, description="Part of a name.")
    country: str | None = Field(None, json_schema_extra=COUNTRY_SCHEMA, description="ISO 3166-1 alpha-2.")
    sector: Sector | None = None

    _facets = field_validator("country", "sector", mode="before")(_check_facet)


class SearchQuery(Strict):
    q: str = text_field(..., min_length=1, max_length=500, description="Free text; \"quoted phrases\", prefix*.")
    limit: int = Field(10, ge=1, le=100, description="Hits per kind (incidents, articles).")


def _no_nul(value: str) -> str:
    """An id with a NUL can name nothing, and PostgreSQL would refuse to look it up: a 422 (400 in the UI)."""
    if "\x00" in value:
        raise ValueError("contains a NUL character (%00); remove it")
    return value


#: A path id (REST API, web UI, feeds): 1 to 200 characters, no NUL (the OpenAPI document says so too).
IdPath = Annotated[str, PathParam(min_length=1, max_length=200, pattern=validate.NO_NUL_PATTERN),
                   BeforeValidator(_no_nul)]


def page_size(limit: int | None, config: Any) -> int:
    """The page size asked for, or the configured default; more than ``max_page_size`` is an error."""
    if limit is None:
        return config.page_size
    if limit > config.max_page_size:
        raise IncidexError(f"limit: at most {config.max_page_size} ([serve] max_page_size)")
    return limit


def check_offset(offset: int, config: Any) -> int:
    if offset > config.max_offset:
        raise IncidexError(f"offset: at most {config.max_offset} ([serve] max_offset); narrow the filters instead")
    return offset


def paging(q: Paging, config: Any) -> tuple[int, int]:
    """``(limit, offset)`` of a listing query under the server's limits (``IncidexError`` past them)."""
    return page_size(q.limit, config), check_offset(q.offset, config)


# ----------------------------------------------------------------- records

_FIELDS = frozenset(Incident(id="").to_dict())


def records(store: Any, incidents: list[Incident | dict[str, Any]]) -> list[dict[str, Any]]:
    """The JSON export's records (``incident_json``: incident + sources) for a page.

    Takes incidents or their stored documents (``list_incident_docs``): a
    document that already has the record's shape is used as it is, which
    spares a page of 50 decoding each incident and encoding it again; an older
    one goes through ``Incident`` first. Sources come in one query.
    """
    docs = [i if isinstance(i, dict) else i.to_dict() for i in incidents]
    sources = store.sources_for_incidents([d["id"] for d in docs])
    out = []
    for d in docs:
        src = [Source(**s) for s in sources.get(d["id"], [])]
        if d.keys() == _FIELDS:
            out.append({**d, "sources": [s.json() for s in src]})
        else:
            out.append(incident_json(codec.incident_from_dict(d), src))
    return out


def incident_page(store: Any, q: IncidentQuery, config: Any, stats: "Stats | None" = None) -> dict[str, Any]:
    """A page of records with the (capped) total; the total is kept in ``stats``' cache for the
    following pages of the same filters until the incidents change."""
    limit, offset = paging(q, config)
    filters = q.store_filters()
    key = ("total", tuple(sorted(_count_args(filters).items())))
    known = stats.peek(key) if stats is not None else None
    rows, total = store.incident_page_docs(limit=limit, offset=offset,
                                           count_cap=None if known is not None else config.count_cap + 1, **filters)
    if known is not None:
        total = known
    elif stats is not None and not (offset <= 0 and len(rows) < limit):
        stats.put(key, total)
    page = {"total": min(total, config.count_cap), "total_is_lower_bound": total > config.count_cap,
            "limit": limit, "offset": offset, "items": records(store, rows)}
    if not rows and offset == 0:  # never a silent empty answer (as the CLI's note)
        from incidex.hints import empty_result_hints

        hints = empty_result_hints(store, filters)
        if hints:
            page["hints"] = hints
    return page


def _count_args(filters: dict[str, Any]) -> dict[str, Any]:
    """The filters that are set, lists as tuples: hashable, for cache keys."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in filters.items() if v is not None}


# ----------------------------------------------------------------- statistics

STAT_DIMENSIONS = ("month", "country", "sector", "type", "actor", "outcome")



class Stats:
    """``Store.incident_counts`` with an LRU cache that empties when the incidents change.

    Checking for change costs one query of two index lookups (highest seq,
    latest ``updated_at``); a grouped count over 100k incidents costs seconds.
    """

    def __init__(self, store: Any, size: int = 256):
        self.store = store
        self.size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._version: Any = None

    def _cached(self, key: tuple, compute: Any) -> Any:
        value = self.peek(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def peek(self, key: tuple) -> Any:
        """The cached value for ``key`` if the incidents have not changed since, else None."""
        version = self.store.incidents_version()
        with self._lock:
            if version != self._version:
                self._cache.clear()
                self._version = version
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        return None

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)

    def counts(self, group_by: str | tuple[str, ...], *, top: int | None = None, **filters: Any) -> list[tuple]:
        filters = _count_args(filters)
        return self._cached(("counts", group_by, top, tuple(sorted(filters.items()))),
                            lambda: self.store.incident_counts(group_by, top=top, **filters))

    def summary(self, filters: dict[str, Any], top: int = 20) -> dict[str, Any]:
        """Counts by month (all months, chronological), month and type, and the top countries,
        sectors, types, actors and outcomes of the incidents matching ``filters``; ``undated`` and
        ``year_only`` count those no month holds."""
        filters = _count_args(filters)
        return self._cached(("summary", top, tuple(sorted(filters.items()))), lambda: self._summary(filters, top))

    def _summary(self, filters: dict[str, Any], top: int) -> dict[str, Any]:
        out: dict[str, Any] = {"total": self.store.count_incidents_matching(**filters)}
        out["by_month"] = [{"key": k, "count": n} for k, n in sorted(self.counts("month", **filters))]
        out["by_month_type"] = [{"month": m, "type": t, "count": n}
                                for m, t, n in sorted(self.counts(("month", "type"), **filters))]
        dating = dict(self.counts("dating", **filters))
        out["undated"], out["year_only"] = dating.get("undated", 0), dating.get("year", 0)
        for dim in ("country", "sector", "type", "actor", "outcome"):
            rows = self.counts(dim, top=top, **filters)
            out[f"by_{dim}"] = [{"key": (k.upper() if dim == "country" else k), "count": n} for k, n in rows]
        for r in out["by_actor"]:
            r["name"] = actor_name(self.store, r["key"])
        return out


def actor_name(store: Any, actor_id: str) -> str:
    """Display name of an actor id: the KB's name for a kb id, else the name the news used."""
    from incidex.resolve.actors import display_name

    name = display_name(actor_id)
    if name is not None:
        return name
    return store.actor_label(actor_id) or actor_id
