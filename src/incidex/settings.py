"""Settings: one TOML file of defaults, optionally overlaid by the user's file.

Kept as data (like trafilatura's settings.cfg) so limits and thresholds are
visible and changeable without touching code.
"""
from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@lru_cache(maxsize=8)
def load_settings(path: str | None = None) -> dict[str, Any]:
    """Defaults from the package, then INCIDEX_SETTINGS or ``path`` on top."""
    data = tomllib.loads(resources.files("incidex").joinpath("settings.toml").read_text("utf-8"))
    user = path or os.environ.get("INCIDEX_SETTINGS")
    if user:
        data = _merge(data, tomllib.loads(Path(user).read_text("utf-8")))
    if os.environ.get("INCIDEX_ALLOW_PRIVATE_ADDRESSES") == "1":
        data["ingest"]["allow_private_addresses"] = True
    return data
