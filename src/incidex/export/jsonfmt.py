"""The native formats: JSON (one document) and JSONL (one incident per line).

Each record is ``incident.to_dict()`` (the shape of
``shared/schema/incident.schema.json``) plus ``sources``: the articles it was
read from, with their role, url, publisher and publication date.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from incidex.export.common import Sources, incident_json
from incidex.records import Incident


def records(incidents: Iterable[Incident], store: Any) -> Iterable[dict[str, Any]]:
    sources = Sources(store)
    for inc in incidents:
        yield incident_json(inc, sources.of(inc.id))


def write_json(incidents: Iterable[Incident], store: Any, out: TextIO) -> int:
    rows = list(records(incidents, store))
    out.write(json.dumps({"incidents": rows}, ensure_ascii=False, indent=1) + "\n")
    return len(rows)


def write_jsonl(incidents: Iterable[Incident], store: Any, out: TextIO) -> int:
    n = 0
    for row in records(incidents, store):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n
