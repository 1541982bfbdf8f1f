"""Resource limits for hostile input: a time and memory budget per article.

Feeds and pages come from the open web. Sizes are capped where the input
arrives (``[ingest]`` and ``[limits]`` in settings.toml, see
docs/reliability.md); time is capped here, per article, two ways:

* ``Budget``: a *checked* budget. The extractor calls ``check()`` between
  bounded steps (each sentence, each parsed sentence, each frame); past the
  budget it raises ``BudgetExceeded`` and the caller reports the article
  ("time budget exceeded (10s)") and goes on. Works in any thread (the Dask
  batch engine runs extraction in worker threads). ``check()`` also watches the
  process's resident memory: growth of more than ``memory_budget_mb`` since the
  article started is reported the same way (Linux; elsewhere time only).
* ``hard_time_limit``: an *interrupting* backstop for code that has no check
  inside (feedparser, trafilatura, lxml, a regular expression): a watchdog
  thread raises an exception in the limited thread when its time is up (any
  thread: CLI, REST workers, the Dask batch). The interrupt is a
  ``BaseException`` so that no library's ``except Exception`` can swallow it,
  and it leaves the ``with`` block as ``BudgetExceeded``. A C function that
  never returns to the interpreter (one long regular-expression search) is
  interrupted only when it returns: the regular expressions are kept linear for
  that reason (scripts/regex_audit.py).

A budget of 0 (or less) switches the limit off.
"""
from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from incidex.records import IncidexError

__all__ = ["BudgetExceeded", "Budget", "Limits", "hard_time_limit", "limits", "no_check"]


class BudgetExceeded(IncidexError):
    """An article (or a document being read) used more time or memory than it may."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def time_reason(seconds: float) -> str:
    return f"time budget exceeded ({seconds:g}s)"


@dataclass(frozen=True)
class Limits:
    """The ``[limits]`` section with its defaults (see settings.toml)."""

    time_budget_seconds: float = 20.0
    read_time_budget_seconds: float = 30.0
    memory_budget_mb: float = 1024.0
    max_decompressed_bytes: int = 10_000_000
    max_html_elements: int = 30_000
    max_feed_prolog_bytes: int = 32_768
    max_sentence_chars: int = 2_000
    max_sentences: int = 3_000

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> "Limits":
        section = (settings or {}).get("limits", {}) or {}
        kwargs = {}
        for name, field in cls.__dataclass_fields__.items():
            if name in section:
                kwargs[name] = type(field.default)(section[name])
        return cls(**kwargs)


def limits(settings: dict[str, Any] | None = None) -> Limits:
    """The limits in force: ``settings`` (or the loaded settings) over the defaults."""
    if settings is None:
        from incidex.settings import load_settings

        settings = load_settings()
    return Limits.from_settings(settings)


# --------------------------------------------------------------------------- memory

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_mb() -> float | None:
    """The process's resident memory in MB (Linux /proc), or None where unknown."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE / 1e6
    except (OSError, ValueError, IndexError):
        return None


# --------------------------------------------------------------------------- checked budget

def no_check() -> None:
    """The budget check of a caller that set no budget."""


class Budget:
    """Time one article may spend, summed over the stretches spent on it.

    ``with budget:`` counts the time inside the block; ``check()`` raises
    ``BudgetExceeded`` when the counted time (plus the running stretch) is over
    the budget, or when resident memory grew more than the memory budget since
    the budget was made.
    """

    __slots__ = ("seconds", "memory_mb", "used", "_since", "_rss0", "_calls")

    def __init__(self, seconds: float | None, memory_mb: float | None = None):
        self.seconds = seconds if seconds and seconds > 0 else None
        self.memory_mb = memory_mb if memory_mb and memory_mb > 0 else None
        self.used = 0.0
        self._since: float | None = None
        self._rss0 = resident_mb() if self.memory_mb else None
        self._calls = 0

    @classmethod
    def for_article(cls, settings: dict[str, Any] | None = None) -> "Budget":
        lim = limits(settings)
        return cls(lim.time_budget_seconds, lim.memory_budget_mb)

    def __enter__(self) -> "Budget":
        self._since = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._since is not None:
            self.used += time.monotonic() - self._since
            self._since = None

    def spent(self) -> float:
        return self.used + (time.monotonic() - self._since if self._since is not None else 0.0)

    def remaining(self) -> float | None:
        return None if self.seconds is None else max(0.0, self.seconds - self.spent())

    def charge(self, seconds: float) -> None:
        """Count time measured outside a ``with`` block (a share of a batched parse)."""
        self.used += seconds

    def check(self) -> None:
        if self.seconds is not None and self.spent() > self.seconds:
            raise BudgetExceeded(time_reason(self.seconds))
        self._calls += 1
        if self._rss0 is not None and self._calls % 32 == 0:  # /proc costs ~10 µs: not every step
            rss = resident_mb()
            if rss is not None and rss - self._rss0 > self.memory_mb:
                raise BudgetExceeded(f"memory budget exceeded ({self.memory_mb:g} MB)")


# --------------------------------------------------------------------------- interrupting backstop

class _Interrupt(BaseException):
    """Raised in the limited thread by the watchdog; becomes BudgetExceeded at the ``with`` boundary."""


def _async_raise(thread_id: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in thread ``thread_id`` at its next bytecode (None: cancel a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc) if exc is not None else None)


class _Watchdog:
    """One daemon thread that interrupts the threads whose deadline passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, int]] = {}  # token -> (deadline, thread id)
        self._fired: set[int] = set()
        self._next = 0
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> int:
        with self._cond:
            self._next += 1
            token = self._next
            self._armed[token] = (time.monotonic() + seconds, threading.get_ident())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="incidex-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
            return token

    def disarm(self, token: int) -> None:
        with self._cond:
            _, tid = self._armed.pop(token, (0.0, 0))
            if token in self._fired:
                self._fired.discard(token)
                _async_raise(tid, None)  # not delivered yet: cancel it

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for token, (deadline, tid) in list(self._armed.items()):
                    if deadline <= now and token not in self._fired:
                        self._fired.add(token)
                        _async_raise(tid, _Interrupt)
                waiting = [d for t, (d, _) in self._armed.items() if t not in self._fired]
                self._cond.wait(timeout=max(0.0, min(waiting) - now) if waiting else None)


_watchdog = _Watchdog()
_state = threading.local()


@contextmanager
def hard_time_limit(seconds: float | None, reason: str | None = None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` of wall time, in whatever thread it runs.

    A watchdog thread raises an exception in the limited thread
    (``PyThreadState_SetAsyncExc``), delivered at its next bytecode: pure-Python
    loops (feedparser's sanitizer, trafilatura) stop; a C call stops when it
    returns. Nested limits: the outermost governs.
    """
    if not seconds or seconds <= 0 or getattr(_state, "armed", False):
        yield
        return
    why = reason or time_reason(seconds)
    token = 0
    try:
        try:
            _state.armed = True
            token = _watchdog.arm(seconds)
            yield
        finally:  # disarmed before anything else: a late interrupt is cancelled
            _watchdog.disarm(token)
            _state.armed = False
    except _Interrupt:
        raise BudgetExceeded(why) from None
    finally:
        _state.armed = False
