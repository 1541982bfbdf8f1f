"""Small helpers shared by the readers."""
from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """Now, UTC, ISO 8601 to the second: ``2024-03-05T09:30:00+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
