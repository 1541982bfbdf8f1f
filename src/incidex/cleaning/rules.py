"""Load and compile ``rules.toml`` (the cleaning rules kept as data)."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

IGNORE_CASE = re.IGNORECASE


@dataclass(frozen=True)
class Rules:
    footers: tuple[re.Pattern[str], ...]
    footer_max_words: int
    bio_max_words: int
    boilerplate: tuple[re.Pattern[str], ...]
    boilerplate_max_words: int
    top_lines: int
    byline: re.Pattern[str]
    dateline: re.Pattern[str]
    bio_start: tuple[re.Pattern[str], ...]
    bio_continuation: re.Pattern[str]
    not_names: frozenset[str]
    author_verbs: frozenset[str]
    related_headings: tuple[re.Pattern[str], ...]
    related_inline: tuple[re.Pattern[str], ...]
    related_max_words: int
    trailer: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    words: dict[str, Any] = field(default_factory=dict)


def _compile(pattern: str, flags: int = IGNORE_CASE) -> re.Pattern[str]:
    try:
        return re.compile(pattern.strip(), flags)
    except re.error as exc:  # a broken rule should say which one
        raise ValueError(f"bad cleaning rule {pattern!r}: {exc}") from None


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> Rules:
    """The packaged ``rules.toml``, or the file at ``path``."""
    text = Path(path).read_text("utf-8") if path else \
        resources.files("incidex.cleaning").joinpath("rules.toml").read_text("utf-8")
    d = tomllib.loads(text)
    tr = d["trailer"]
    return Rules(
        footers=tuple(_compile(f["pattern"]) for f in d.get("footer", [])),
        footer_max_words=int(d.get("footers", {}).get("max_words", 60)),
        bio_max_words=int(d["bio"].get("max_words", 70)),
        boilerplate=tuple(_compile(p) for p in d["boilerplate"]["patterns"]),
        boilerplate_max_words=int(d["boilerplate"].get("max_words", 30)),
        top_lines=int(d["top"].get("top_lines", 4)),
        byline=_compile(d["top"]["byline"], 0),
        dateline=_compile(d["top"]["dateline"]),
        bio_start=tuple(_compile(p, 0) for p in d["bio"]["start"]),
        bio_continuation=_compile(d["bio"]["continuation"]),
        not_names=frozenset(d["bio"].get("not_names", [])),
        author_verbs=frozenset(d["bio"].get("author_verbs", [])),
        related_headings=tuple(_compile(p) for p in d["related"]["headings"]),
        related_inline=tuple(_compile(p) for p in d["related"]["inline"]),
        related_max_words=int(d["related"].get("max_words", 25)),
        trailer={k: v for k, v in tr.items() if not isinstance(v, dict)},
        weights={k: float(v) for k, v in tr.get("weights", {}).items()},
        words=dict(tr.get("words", {})),
    )
