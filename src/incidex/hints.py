"""Why a listing came back empty: a name filter no stored incident uses, and the names meant.

``incidex.validate`` refuses values outside a closed list (types, countries);
actor and victim names are open, so a typo there is a valid filter with no
match. When a listing is empty, ``empty_result_hints`` says which name filter
matched nothing and offers the stored names closest to it (rapidfuzz, over the
actors and victims the store lists), so an empty answer is never silent.
"""
from __future__ import annotations

from typing import Any


def _closest(value: str, names: list[str], n: int = 3) -> list[str]:
    from rapidfuzz import fuzz, process

    from incidex.validate import _config

    cutoff = float(_config().get("suggest_cutoff", 60))
    return [m[0] for m in process.extract(value, names, scorer=fuzz.WRatio, processor=str.lower,
                                          score_cutoff=cutoff, limit=n)]


def empty_result_hints(store: Any, filters: dict[str, Any], pool: int = 1000) -> list[str]:
    """Messages (field first) for the actor/victim filters no stored incident matches."""
    out = []
    for field, lister in (("actor", store.list_actors), ("victim", store.list_victims)):
        names: list[str] | None = None  # listed once, for the first value that needs them
        for value in _values(filters.get(field)):
            if store.count_incidents_matching(**{field: value}, cap=1):
                continue
            names = names if names is not None else sorted({r["name"] for r in lister(limit=pool)})
            meant = _closest(value, names)
            tail = f"; did you mean {' or '.join(meant)}?" if meant else ""
            out.append(f"{field}: no stored incident has the {field} {value!r}{tail}")
    return out


def _values(value: Any) -> list[str]:
    """A name filter's values (one text or several), blanks left out."""
    items = [value] if isinstance(value, str) else list(value or [])
    return [v for v in items if isinstance(v, str) and v.strip()]
