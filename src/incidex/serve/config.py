"""The ``[serve]`` settings as a typed object, checked once when the app is made."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidex.records import IncidexError


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    read_open: bool = True
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 2_000_000
    page_size: int = 50
    max_page_size: int = 500
    max_offset: int = 100_000
    count_cap: int = 1_000
    max_export: int = 100_000
    stats_cache: int = 256

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> "ServeConfig":
        raw = dict(settings.get("serve") or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise IncidexError(f"settings [serve]: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        origins = raw.get("cors_origins") or ()
        if isinstance(origins, str):
            origins = (origins,)
        raw["cors_origins"] = tuple(str(o) for o in origins)
        try:
            cfg = cls(**raw)
        except TypeError as e:
            raise IncidexError(f"settings [serve]: {e}") from None
        for name in ("max_body_bytes", "page_size", "max_page_size", "count_cap", "max_export"):
            if not isinstance(getattr(cfg, name), int) or getattr(cfg, name) < 1:
                raise IncidexError(f"settings [serve] {name}: must be a positive integer")
        if cfg.page_size > cfg.max_page_size:
            raise IncidexError("settings [serve]: page_size is larger than max_page_size")
        if not isinstance(cfg.read_open, bool):
            raise IncidexError("settings [serve] read_open: must be true or false")
        return cfg
