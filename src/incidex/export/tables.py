"""Tables for notebooks and SQL: CSV and Parquet.

One row per incident in the main table, plus long tables with one row per
victim, per attacker and per source article (``incident_id`` joins them).
``COLUMNS`` is the single definition of every column (name, Arrow type, what it
holds); ``docs/exports.md`` lists the same columns and a test keeps the two in
step. In Parquet, list columns are real ``list<string>`` columns and times are
UTC timestamps; in CSV, list items are joined with ``"; "``, booleans are
``true``/``false``, missing values are empty cells and times are ISO 8601.

With ``-o out.csv`` the files are ``out.csv``, ``out.victims.csv``,
``out.attackers.csv`` and ``out.sources.csv`` (the same for ``.parquet``).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from incidex.export.common import Sources, parse_time, unique
from incidex.records import IncidexError, Incident
from incidex.store import codec

LIST_SEPARATOR = "; "

# Arrow type names (resolved lazily so importing this module does not need pyarrow).
_S, _I, _F, _B, _D, _T, _L = "string", "int64", "float64", "bool", "date32", "timestamp", "list<string>"

#: table -> [(column, type, description)]
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "incidents": [
        ("incident_id", _S, "incidex incident id"),
        ("summary", _S, "one-line summary"),
        ("attack_types", _L, "attack types (ransomware, ddos, data-breach, ...)"),
        ("date", _S, "incident date as found: YYYY, YYYY-MM or YYYY-MM-DD"),
        ("date_precision", _S, "day, week, month or year"),
        ("date_from", _D, "first day the date covers"),
        ("date_to", _D, "last day the date covers"),
        ("date_confidence", _F, "confidence of the date, 0-1"),
        ("outcome", _S, "successful, attempted or unknown"),
        ("attribution_status", _S, "claimed, attributed, suspected, denied or unknown"),
        ("attribution_by", _L, "who claimed or attributed the attack"),
        ("attackers", _L, "attacker names"),
        ("attacker_kb_ids", _L, "KB ids of the attackers (attack:G0016, misp:<uuid>)"),
        ("attacker_state_links", _L, "ISO country codes of the states the attackers are linked to"),
        ("victims", _L, "victim names"),
        ("victim_countries", _L, "ISO 3166-1 alpha-2 codes of the victims' countries"),
        ("victim_sectors", _L, "victim sectors (incidex sector list)"),
        ("techniques", _L, "ATT&CK technique ids"),
        ("malware", _L, "malware names"),
        ("cves", _L, "CVE ids"),
        ("ioc_count", _I, "number of indicators of compromise"),
        ("records_affected", _I, "records affected, when reported"),
        ("people_affected", _I, "people affected, when reported"),
        ("ransom_usd", _F, "ransom demanded or paid, in US dollars"),
        ("services_disrupted", _B, "services were disrupted"),
        ("data_destroyed", _B, "data was destroyed"),
        ("data_leaked", _B, "data was stolen or leaked"),
        ("response_kinds", _L, "kinds of state responses (sanctions, indictment, ...)"),
        ("conflicts", _L, "fields whose sources disagree (date, outcome, attribution, ...)"),
        ("confidence", _F, "extraction confidence, 0-1"),
        ("background", _B, "only mentioned as background in its articles"),
        ("source_count", _I, "number of source articles"),
        ("first_published", _T, "earliest publication time of a source article (UTC)"),
        ("primary_url", _S, "URL of the first primary source article"),
    ],
    "victims": [
        ("incident_id", _S, "incidex incident id"),
        ("victim_index", _I, "position of the victim in the incident (0-based)"),
        ("name", _S, "victim name"),
        ("country", _S, "ISO 3166-1 alpha-2 country code"),
        ("sector", _S, "incidex sector"),
        ("named", _B, "false for an unnamed victim (\"a hospital\")"),
        ("entity_id", _S, "resolved organisation entity (the same for every name it was reported under)"),
        ("aliases", _L, "other names the victim was reported under"),
    ],
    "attackers": [
        ("incident_id", _S, "incidex incident id"),
        ("attacker_index", _I, "position of the attacker in the incident (0-based)"),
        ("name", _S, "attacker name (canonical KB name when linked)"),
        ("kind", _S, "group, state, individual or unknown"),
        ("kb_id", _S, "KB id (attack:Gxxxx, misp:<uuid>) or empty"),
        ("state_link", _S, "ISO code of the state the attacker is linked to"),
        ("aliases", _L, "known aliases"),
        ("attribution_status", _S, "the incident's attribution status"),
    ],
    "sources": [
        ("incident_id", _S, "incidex incident id"),
        ("article_id", _S, "incidex article id"),
        ("role", _S, "primary, background or syndicated"),
        ("url", _S, "article URL"),
        ("source", _S, "publisher (domain)"),
        ("title", _S, "article title"),
        ("published", _S, "publication date as found in the article"),
        ("published_at", _T, "publication time parsed to UTC"),
    ],
}

TABLES = tuple(COLUMNS)


def build_rows(incidents: Iterable[Incident], store: Any, sources: Sources | None = None) -> dict[str, list[dict]]:
    """The four tables as lists of row dicts (Python values, lists as lists)."""
    sources = sources or Sources(store)
    out: dict[str, list[dict]] = {t: [] for t in TABLES}
    for inc in incidents:
        srcs = sources.of(inc.id)
        d_from, d_to = codec.date_range(inc.date) if inc.date else (None, None)
        published = [t for t in (parse_time(s.published) for s in srcs) if t]
        primary = next((s.url for s in srcs if s.role == "primary" and s.url), None)
        out["incidents"].append({
            "incident_id": inc.id, "summary": inc.summary or None, "attack_types": list(inc.attack_types),
            "date": inc.date.value if inc.date else None, "date_precision": inc.date.precision if inc.date else None,
            "date_from": d_from, "date_to": d_to,
            "date_confidence": round(inc.date.confidence, 2) if inc.date else None,
            "outcome": inc.outcome, "attribution_status": inc.attribution.status,
            "attribution_by": list(inc.attribution.by), "attackers": [a.name for a in inc.attackers],
            "attacker_kb_ids": unique(a.kb_id for a in inc.attackers),
            "attacker_state_links": unique(a.state_link for a in inc.attackers),
            "victims": [v.name for v in inc.victims], "victim_countries": unique(v.country for v in inc.victims),
            "victim_sectors": unique(v.sector for v in inc.victims), "techniques": list(inc.techniques),
            "malware": list(inc.malware), "cves": list(inc.cves), "ioc_count": len(inc.iocs),
            "records_affected": inc.impact.records_affected, "people_affected": inc.impact.people_affected,
            "ransom_usd": inc.impact.ransom_usd, "services_disrupted": inc.impact.services_disrupted,
            "data_destroyed": inc.impact.data_destroyed, "data_leaked": inc.impact.data_leaked,
            "response_kinds": unique(r.kind for r in inc.responses),
            "conflicts": list(getattr(inc, "conflicts", None) or ()), "confidence": round(inc.confidence, 2),
            "background": inc.background, "source_count": len(srcs),
            "first_published": min(published) if published else None, "primary_url": primary,
        })
        for n, v in enumerate(inc.victims):
            out["victims"].append({"incident_id": inc.id, "victim_index": n, "name": v.name, "country": v.country,
                                   "sector": v.sector, "named": v.named,
                                   "entity_id": getattr(v, "entity_id", None),
                                   "aliases": list(getattr(v, "aliases", None) or ())})
        for n, a in enumerate(inc.attackers):
            out["attackers"].append({"incident_id": inc.id, "attacker_index": n, "name": a.name, "kind": a.kind,
                                     "kb_id": a.kb_id, "state_link": a.state_link, "aliases": list(a.aliases),
                                     "attribution_status": inc.attribution.status})
        for s in srcs:
            out["sources"].append({"incident_id": inc.id, "article_id": s.article_id, "role": s.role, "url": s.url,
                                   "source": s.source, "title": s.title, "published": s.published,
                                   "published_at": parse_time(s.published)})
    return out


def table_paths(output: Path, suffix: str) -> dict[str, Path]:
    """``out.csv`` -> {incidents: out.csv, victims: out.victims.csv, ...}."""
    main = output if output.suffix else output.with_name(output.name + suffix)
    stem = main.name[: -len(main.suffix)] if main.suffix else main.name
    return {t: main if t == "incidents" else main.with_name(f"{stem}.{t}{main.suffix}") for t in TABLES}


# ----------------------------------------------------------------- CSV

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv_table(table: str, rows: list[dict], out: TextIO) -> None:
    names = [c[0] for c in COLUMNS[table]]
    w = csv.writer(out, lineterminator="\n")
    w.writerow(names)
    for r in rows:
        w.writerow([_cell(r.get(n)) for n in names])


def write_csv(incidents: Iterable[Incident], store: Any, output: Path | None = None,
              stream: TextIO | None = None) -> list[Path]:
    """CSV files beside ``output``; without it, only the main table to ``stream``."""
    rows = build_rows(incidents, store)
    if output is None:
        if stream is None:
            raise IncidexError("csv export: give an output file or a stream")
        write_csv_table("incidents", rows["incidents"], stream)
        return []
    written = []
    for table, path in table_paths(output, ".csv").items():
        buf = io.StringIO()
        write_csv_table(table, rows[table], buf)
        path.write_text(buf.getvalue(), encoding="utf-8")
        written.append(path)
    return written


# ----------------------------------------------------------------- Parquet

def arrow_schema(table: str):
    import pyarrow as pa

    types = {_S: pa.string(), _I: pa.int64(), _F: pa.float64(), _B: pa.bool_(), _D: pa.date32(),
             _T: pa.timestamp("us", tz="UTC"), _L: pa.list_(pa.string())}
    return pa.schema([pa.field(n, types[t], metadata={"description": d}) for n, t, d in COLUMNS[table]])


def to_arrow(rows: dict[str, list[dict]]) -> dict[str, Any]:
    import pyarrow as pa

    return {t: pa.Table.from_pylist(rows[t], schema=arrow_schema(t)) for t in TABLES}


def write_parquet(incidents: Iterable[Incident], store: Any, output: Path | None = None,
                  stream: TextIO | None = None) -> list[Path]:
    import pyarrow.parquet as pq

    if output is None:
        raise IncidexError("parquet export writes several files: give an output file with -o out.parquet")
    tables = to_arrow(build_rows(incidents, store))
    written = []
    for table, path in table_paths(output, ".parquet").items():
        pq.write_table(tables[table], path)
        written.append(path)
    return written
