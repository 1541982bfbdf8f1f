"""Small helpers shared by the readers."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any


def utc_now() -> str:
    """Now, UTC, ISO 8601 to the second: ``2024-03-05T09:30:00+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def resolve_settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The default settings, with ``settings`` (possibly partial, e.g. ``{"ingest": {...}}``) on top."""
    from incidex.settings import load_settings

    defaults = load_settings()
    if settings is None or settings is defaults:
        return defaults
    return _merge(defaults, settings)


def json_loads(text: str) -> Any:
    """``json.loads`` where a value nested deeper than the interpreter's recursion
    limit (``[[[[...``) is a ``JSONDecodeError`` like any other bad JSON, not a crash."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
