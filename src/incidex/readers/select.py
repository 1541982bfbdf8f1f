"""Which files of a directory are articles: the rest is skipped with a reason.

A directory handed to ``incidex ingest`` often holds more than articles: a
README, a LICENSE, gold or annotation files, scripts, configuration. Reading
them as news makes false incidents (a README's table became six), so while
walking a directory (never for a file named explicitly) a file is skipped when

* its name is a project file (README, LICENSE, CHANGELOG...; ``[ingest.directory]
  skip_names``, any extension, any case);
* it is gold or annotation data (``skip_suffixes`` such as ``.gold.json``, or a
  file named ``gold.json``);
* its extension is not an article format (``skip_extensions``: code,
  configuration, tables, binaries);
* it is JSON that is not an article archive: no object in it has a ``text``,
  ``body`` or ``content`` field the JSON reader would take.

``skip_reason(path)`` says why, or None for an article file.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from incidex.readers.jsonl import TEXT_KEYS
from incidex.readers.sniff import BINARY_EXTENSIONS


@cache
def _config() -> dict[str, Any]:
    from incidex.settings import load_settings

    return load_settings().get("ingest", {}).get("directory", {})


def skip_reason(path: Path, max_json_bytes: int = 10_000_000) -> str | None:
    cfg = _config()
    name = path.name.lower()
    stem = name.split(".", 1)[0]
    if stem in {n.lower() for n in cfg.get("skip_names", ())}:
        return "project file"
    if name in {n.lower() for n in cfg.get("skip_files", ())} or \
            any(name.endswith(s.lower()) for s in cfg.get("skip_suffixes", ())):
        return "gold/annotation data"
    ext = path.suffix.lower()
    if ext in BINARY_EXTENSIONS:
        return f"binary file type ({ext})"
    if ext in {e.lower() for e in cfg.get("skip_extensions", ())}:
        return f"not an article file type ({ext})"
    if ext == ".json":
        return _json_reason(path, max_json_bytes)
    return None


def _json_reason(path: Path, max_bytes: int) -> str | None:
    """None when the JSON holds an article (or cannot be judged: the reader then says what is wrong)."""
    import json

    try:
        if path.stat().st_size > max_bytes:
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None  # unreadable or malformed: reported as a failure by the reader
    items = data if isinstance(data, list) else [data]
    if any(isinstance(o, dict) and any(isinstance(o.get(k), str) for k in TEXT_KEYS) for o in items[:100]):
        return None
    return f"JSON that is not an article archive (no {'/'.join(TEXT_KEYS)} field)"


def skip_summary(skipped: list[tuple[str, str]], names: int = 3) -> str:
    """One line for all the files skipped, grouped by reason, a few names each:
    ``skipped 12 files that are not articles: gold/annotation data: a.gold.json, b.gold.json, ... 8 more; ...``."""
    groups: dict[str, list[str]] = {}
    for path, reason in skipped:
        groups.setdefault(reason, []).append(path)
    parts = []
    for reason, files in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        more = f", ... {len(files) - names} more" if len(files) > names else ""
        parts.append(f"{reason}: {', '.join(files[:names])}{more}")
    n = len(skipped)
    return f"skipped {n} file{'s' if n != 1 else ''} that {'are not articles' if n != 1 else 'is not an article'}: " \
           + "; ".join(parts)
