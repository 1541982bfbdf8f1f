"""How often the watcher may knock: per-host politeness and backoff after errors.

Both take the watcher's clock and sleep, so tests run schedules of hours
without waiting (a fake clock whose sleep only moves time on).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any


class Stopped(Exception):
    """The watcher was asked to stop while waiting; the work in hand is left for the next run."""


class HostGate:
    """At most one request per host every ``gap`` seconds (more if the host's robots.txt asks)."""

    def __init__(self, gap: float, clock: Callable[[], float], sleep: Callable[[float], Any],
                 stopped: Callable[[], bool]):
        self._gap = max(0.0, float(gap))
        self._clock = clock
        self._sleep = sleep
        self._stopped = stopped
        self._last: dict[str, float] = {}

    def wait(self, host: str, gap: float | None = None) -> None:
        """Sleep until ``host`` may be asked again, then note the request; ``Stopped`` if told to stop."""
        gap = max(self._gap, gap or 0.0)
        last = self._last.get(host)
        if last is not None:
            remaining = last + gap - self._clock()
            if remaining > 0:
                self._sleep(remaining)
        if self._stopped():
            raise Stopped()
        self._last[host] = self._clock()


def backoff_delay(errors: int, watch: dict[str, Any], retry_after: float | None = None) -> float:
    """Seconds to wait after the ``errors``-th failed poll in a row (exponential, capped).

    A server's Retry-After is honoured when it asks for longer, still under the cap.
    """
    initial = float(watch.get("backoff_initial_seconds", 60))
    factor = float(watch.get("backoff_factor", 2.0))
    cap = float(watch.get("backoff_max_seconds", 21_600))
    # the exponent is bounded: a feed dead for a year has over a thousand errors in a row,
    # and 2.0 ** 1024 overflows a float
    delay = initial * factor ** min(max(0, errors - 1), 60)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


def retry_after(headers: dict[str, str], now: float) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from ``now``, or None."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)  # a 400-digit value is inf, which backoff_delay caps
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, when.timestamp() - now)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 20-digit year
        return None


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
