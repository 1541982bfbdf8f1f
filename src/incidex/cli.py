"""Command line: a thin skin over ``incidex.api`` and the store.

Conventions for every command: ``--db URL`` (SQLAlchemy URL or a path;
default ``$INCIDEX_DB``, else ``./incidex.db``) and, for listings,
``--format table|json``.
"""
from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

from . import validate
from .records import IncidexError, ReadFailure

app = typer.Typer(
    name="incidex",
    help="Turn cyber-security news into traceable cyber-incident records: ingest articles, "
         "extract incidents with evidence, store, search and export them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure extraction quality against gold data.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
keys_app = typer.Typer(help="API keys for the REST API's write endpoints (and for reading when serve.read_open is false).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")
alerts_app = typer.Typer(help="Saved searches as alerts: an Atom feed (/feeds/NAME.atom under `incidex serve`) and "
                              "optionally a signed webhook called when ingest or watch stores a matching incident.",
                         no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

out = Console()
err = Console(stderr=True)


class ListFormat(str, Enum):
    table = "table"
    json = "json"


class ShowFormat(str, Enum):
    text = "text"
    table = "table"
    json = "json"


DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (sqlite:///path.db, postgresql://...) or path; "
                                              "default $INCIDEX_DB, else ./incidex.db.", show_default=False)]
FormatOpt = Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")]
WideOpt = Annotated[bool, typer.Option("--wide", "-w", help="Every column at full width (lines may be wider "
                                                            "than the terminal); default: fit the terminal.")]


def _or_exit(load, arg):
    """``load(arg)``, or the error printed and exit code 2 (bad database URL, bad feeds file)."""
    try:
        return load(arg)
    except IncidexError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}", soft_wrap=True, highlight=False)  # one line, whatever the width
        raise typer.Exit(2)


def _store(db: str | None):
    from .store import open_store

    return _or_exit(open_store, db)


def _dump(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def _progress() -> Progress:
    """A progress bar on stderr: done of total and the time left when the total is known
    (files counted up front, JSONL lines), elapsed time always."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("eta"),
                    TimeRemainingColumn(), console=err, transient=False, disable=not err.is_terminal)


# ----------------------------------------------------------------- ingest

@app.command()
def ingest(
    inputs: Annotated[list[str], typer.Argument(help="Files, directories (recursive), http(s) URLs of pages or feeds, or - for stdin.")],
    db: DbOpt = None,
    fetch_pages: Annotated[bool, typer.Option("--fetch-pages", help="For feeds: fetch each entry's linked page instead of using the entry text.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit non-zero if any item failed.")] = False,
    fmt: FormatOpt = ListFormat.table,
) -> None:
    """Read articles, clean them, extract incidents and store everything.

    One transaction per article: an interrupted run loses nothing committed and
    re-running the same import adds nothing. Exact and near duplicates
    (syndicated copies) are linked to the first copy, not stored twice.
    Exit code: 0 on success, 1 when nothing could be read (or with --strict on any failure).
    """
    from .api import ingest as run_ingest
    from .readers import plan
    from .readers.select import skip_summary

    store = _store(db)
    skipped: list[tuple[str, str]] = []
    inputs, total = plan(inputs, on_skip=lambda path, why: skipped.append((path, why)))
    if skipped:
        err.print(escape(skip_summary(skipped)), highlight=False, soft_wrap=True)
    counts = {"new": 0, "duplicate": 0, "unchanged": 0, "failed": 0}
    with _progress() as progress:
        task = progress.add_task("ingesting", total=total, stats="")

        def on_item(origin: str, outcome: str) -> None:
            counts[outcome] = counts.get(outcome, 0) + 1
            progress.update(task, advance=1, stats=" ".join(f"{k} {v}" for k, v in counts.items()))

        try:
            report = run_ingest(inputs, store, fetch_pages=fetch_pages, on_item=on_item)
            report.skipped = skipped + report.skipped
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/yellow]: every article reported above as done is committed; re-run to continue.")
            raise typer.Exit(130)
    if fmt == ListFormat.json:
        _dump(report.to_dict())
    else:
        t = Table(title="ingest summary", show_header=True)
        for col in ("read", "new", "duplicate", "unchanged", "failed", "incidents"):
            t.add_column(col, justify="right")
        d = report.to_dict()
        t.add_row(*(str(d[c]) for c in ("read", "new", "duplicate", "unchanged", "failed", "incidents")))
        out.print(t)
        for f in report.failed[:50]:
            err.print(f"[red]failed[/red] {f.origin}: {f.reason}")
        if len(report.failed) > 50:
            err.print(f"... and {len(report.failed) - 50} more failures (see `incidex failures`)")
        for origin, warning in report.warnings[:50]:
            err.print(f"[yellow]warning[/yellow] {escape(origin)}: {escape(warning)}", highlight=False, soft_wrap=True)
        if len(report.warnings) > 50:
            err.print(f"... and {len(report.warnings) - 50} more warnings (--format json lists them all)")
    if (report.read == 0 and report.failed) or (strict and report.failed):
        raise typer.Exit(1)


# ----------------------------------------------------------------- batch

def _worker_url(store, scheduler: str | None) -> str | None:
    """Where workers may look up stored articles: a SQLite file only on this machine's local cluster."""
    url = store.worker_url()
    if url and scheduler and url.startswith("sqlite"):
        return None
    return url


class Engine(str, Enum):
    dask = "dask"
    serial = "serial"


@app.command()
def batch(
    inputs: Annotated[list[str], typer.Argument(help="JSONL (.jsonl, .ndjson) or Parquet files, or directories of them.")],
    engine: Annotated[Engine, typer.Option("--engine", help="dask: Dask distributed (a local cluster on 127.0.0.1, or --scheduler); serial: this process only.")] = Engine.dask,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Address of a running Dask scheduler (tcp://host:8786); default: start a local cluster.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Local cluster: worker processes (default: one per core).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Directory for Parquet output: per-partition extractions (parts/, resumable) and the resolved incidents (incidents.parquet and sibling tables).")] = None,
    db: DbOpt = None,
    partition_size: Annotated[Optional[int], typer.Option("--partition-size", min=1, help="Lines / rows per task (default [batch] partition_size).")] = None,
    map_only: Annotated[bool, typer.Option("--map-only", help="Only the parallel half: write the Parquet parts to --out, store nothing; a later run with --db stores and resolves them without extracting again.")] = False,
    fmt: FormatOpt = ListFormat.table,
) -> None:
    """Process large JSONL / Parquet archives in parallel; same results as `incidex ingest`.

    Workers clean and extract partitions in parallel; this process then stores
    them in input order (duplicates and cross-article resolution decided as
    ingest decides them). Re-running skips what is done: stored articles, and
    with --out the Parquet parts already written. Give --db, --out or both;
    with --out alone the store is DIR/incidex.db.
    """
    from .batch import run_batch

    if db is None and out_dir is None:
        err.print("[red]error:[/red] give --db URL and/or --out DIR")
        raise typer.Exit(2)
    if map_only and out_dir is None:
        err.print("[red]error:[/red] --map-only writes Parquet parts: give --out DIR")
        raise typer.Exit(2)
    db_url = db if db is not None else str(out_dir / "incidex.db")
    store = None if map_only else _store(db_url)
    counts = {"new": 0, "duplicate": 0, "unchanged": 0, "failed": 0}
    from .batch.partitions import expected_items

    with _progress() as progress:
        task = progress.add_task(f"batch ({engine.value})", total=expected_items(inputs), stats="")

        def on_item(origin: str, outcome: str) -> None:
            counts[outcome] = counts.get(outcome, 0) + 1
            progress.update(task, advance=1, stats=" ".join(f"{k} {v}" for k, v in counts.items()))

        def on_cluster(info: dict) -> None:
            err.print(f"dask: {info['workers']} workers, scheduler {info['scheduler']}, dashboard {info['dashboard']}")

        try:
            report = run_batch(inputs, store=store, out_dir=out_dir, engine=engine.value, scheduler=scheduler,
                               workers=workers, partition_size=partition_size, map_only=map_only,
                               store_url=_worker_url(store, scheduler) if store else None,
                               on_item=on_item, on_cluster=on_cluster)
        except IncidexError as e:
            err.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2)
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/yellow]: stored articles and written parts are kept; re-run to continue.")
            raise typer.Exit(130)
        finally:
            if store is not None:
                store.close()
    d = report.to_dict()
    if fmt == ListFormat.json:
        _dump(d)
    else:
        t = Table(title="batch summary", show_header=True)
        cols = ("partitions", "resumed", "read", "extracted", "new", "duplicate", "unchanged", "failed", "incidents",
                "seconds")
        for col in cols:
            t.add_column(col, justify="right")
        t.add_row(*(str(d[c]) for c in cols))
        out.print(t)
        for f in report.failed[:50]:
            err.print(f"[red]failed[/red] {f.origin}: {f.reason}")
        if len(report.failed) > 50:
            err.print(f"... and {len(report.failed) - 50} more failures (see `incidex failures`)")
    if report.read == 0 and report.failed:
        raise typer.Exit(1)


# ----------------------------------------------------------------- clean

@app.command()
def clean(
    file: Annotated[str, typer.Argument(help="A file, URL or - for stdin (the first article is shown).")],
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="text: metadata and body; json: the Article record.")] = ShowFormat.text,
    raw: Annotated[bool, typer.Option("--raw", help="With --format json: include the raw input.")] = False,
) -> None:
    """Print the cleaned body and metadata of an article (boilerplate removed)."""
    from .cleaning import clean as clean_doc
    from .readers import read

    shown = 0
    for item in read([file]):
        if isinstance(item, ReadFailure):
            err.print(f"[red]error:[/red] {item.origin}: {item.reason}")
            continue
        try:
            art = clean_doc(item)
        except IncidexError as e:
            err.print(f"[red]error:[/red] {e}")
            continue
        shown += 1
        if fmt == ShowFormat.json:
            _dump(art.to_dict(raw=raw))
        else:
            for k in ("id", "url", "source", "title", "author", "published", "language"):
                out.print(f"[bold]{k}:[/bold] {getattr(art, k) or ''}", highlight=False)
            out.print(f"[bold]removed:[/bold] {len(art.removed)} lines")
            out.print()
            out.print(art.body, highlight=False, markup=False)
    if not shown:
        raise typer.Exit(1)


# ----------------------------------------------------------------- extract

@app.command()
def extract(
    inputs: Annotated[list[str], typer.Argument(help="Files, directories, URLs or - (anything `ingest` reads).")],
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="text: a readable summary; json: one object per article "
                                            "(JSONL for several), shaped as incident.schema.json.")] = ShowFormat.text,
    fetch_pages: Annotated[bool, typer.Option("--fetch-pages", help="For feeds: fetch the linked pages.")] = False,
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", "-o", help="Write one JSON file per article, "
                                                       "named after its input file (NAME.json), instead of printing.")] = None,
) -> None:
    """Extract the incidents each article reports, with evidence offsets; stores nothing."""
    from .api import extract_inputs

    ok = 0
    if output_dir:
        output_dir.mkdir(parents=True, exist_ok=True)
    for res in extract_inputs(inputs, fetch_pages=fetch_pages):
        if isinstance(res, ReadFailure):
            err.print(f"[red]failed[/red] {res.origin}: {res.reason}")
            continue
        ok += 1
        if output_dir:
            name = _output_name(res.article.origin or res.article.id, output_dir)
            (output_dir / name).write_text(json.dumps(res.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
        elif fmt == ShowFormat.json:
            _dump(res.to_dict())
        else:
            _print_result(res)
    if not ok:
        raise typer.Exit(1)


def _output_name(origin: str, output_dir: Path) -> str:
    """NAME.json after the input file; NAME-2.json etc. for further articles of one file."""
    base = Path(origin.split("#")[0].split(":line")[0]).stem or "article"
    name, n = f"{base}.json", 1
    while (output_dir / name).exists():
        n += 1
        name = f"{base}-{n}.json"
    return name


def _print_result(res) -> None:
    a = res.article
    out.print(f"[bold]{a.title or a.origin or a.id}[/bold]  [dim]{a.source or ''} {a.published or ''} id={a.id} lang={a.language}[/dim]", highlight=False)
    if not res.incidents:
        out.print("  no incident reported")
    for inc in res.incidents:
        _print_incident(inc, indent="  ")
    out.print()


def _print_incident(inc, indent: str = "") -> None:
    """The incident as short prose lines (``incidex.prose``): no reprs, no "?" for what is unknown."""
    from .prose import impact_sentences, response_text, victim_text

    date = f"{inc.date.value} ({inc.date.precision}, confidence {inc.date.confidence:.2f})" if inc.date else ""
    out.print(f"{indent}[bold cyan]{inc.id}[/bold cyan] {escape(inc.summary or '')}", highlight=False)
    rows = [
        ("types", ", ".join(inc.attack_types)),
        ("attackers", "; ".join(x.name + (f" ({', '.join(d for d in (x.kind, x.state_link, x.kb_id) if d)})"
                                          if any((x.kind, x.state_link, x.kb_id)) else "") for x in inc.attackers)),
        ("attribution", "" if inc.attribution.status == "unknown" and not inc.attribution.by else
         inc.attribution.status + (f" by {', '.join(inc.attribution.by)}" if inc.attribution.by else "")),
        ("victims", "; ".join(victim_text(v) for v in inc.victims)),
        ("date", date),
        ("outcome", "" if inc.outcome == "unknown" else inc.outcome),
        ("responses", "; ".join(response_text(r) for r in inc.responses)),
        ("impact", " ".join(impact_sentences(inc.impact))),
        ("techniques", ", ".join(inc.techniques)),
        ("malware", ", ".join(inc.malware)),
        ("cves", ", ".join(inc.cves)),
    ]
    for k, v in rows:
        if v:
            out.print(f"{indent}  {k:<12} {v}", highlight=False, markup=False)


# ----------------------------------------------------------------- listings

@app.command()
def articles(
    query: Annotated[Optional[str], typer.Option("--query", "-q", help="Full-text search over title and body.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Publisher domain, e.g. therecord.media.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Published on or after (YYYY, YYYY-MM or YYYY-MM-DD).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Published on or before (YYYY, YYYY-MM or YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    db: DbOpt = None,
    fmt: FormatOpt = ListFormat.table,
    wide: WideOpt = False,
) -> None:
    """List stored articles, newest first, or search them."""
    since, until = _or_exit(lambda d: validate.date_range(*d), (since, until))
    store = _store(db)
    try:
        rows = store.list_articles(query=query, source=source, since=since, until=until, limit=limit, offset=offset)
    except IncidexError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2)
    if fmt == ListFormat.json:
        _dump([a.to_dict() for a in rows])
        return
    from .termtable import Col

    _table((Col("id", min=64), Col("published", min=10), Col("title", min=24), Col("source", drop=2, min=12),
            Col("dup of", drop=1, min=10)),
           ((a.id, (a.published or "")[:10], (a.title or a.body[:60]).strip(), a.source or "", a.duplicate_of or "")
            for a in rows), wide=wide)


# Incident filters, shared by `incidents`, `export` and `alerts add` (same names as Store.list_incidents).
# Each facet option repeats (any of its values: --type ransomware --type ddos) and has a --not-... twin
# that leaves out the incidents having any of its values (the API's ?type=...&not_type=...).
Many = Optional[List[str]]
ActorOpt = Annotated[Many, typer.Option("--actor", help="Attacker name, alias or kb id (repeat: any of them).")]
VictimOpt = Annotated[Many, typer.Option("--victim", help="Victim name (repeat: any of them).")]
CountryOpt = Annotated[Many, typer.Option("--country", help="Victim country, ISO 3166-1 alpha-2 (repeat: any).")]
SectorOpt = Annotated[Many, typer.Option("--sector", help="Victim sector (repeat: any of them).")]
TypeOpt = Annotated[Many, typer.Option("--type", help="Attack type, e.g. ransomware (repeat: any of them).")]
OutcomeOpt = Annotated[Many, typer.Option("--outcome", help="successful, attempted or unknown (repeat: any).")]
NotActorOpt = Annotated[Many, typer.Option("--not-actor", help="Leave out incidents by this attacker (repeatable).")]
NotVictimOpt = Annotated[Many, typer.Option("--not-victim", help="Leave out incidents against this victim.")]
NotCountryOpt = Annotated[Many, typer.Option("--not-country", help="Leave out incidents with a victim in this country.")]
NotSectorOpt = Annotated[Many, typer.Option("--not-sector", help="Leave out incidents with a victim in this sector.")]
NotTypeOpt = Annotated[Many, typer.Option("--not-type", help="Leave out incidents of this attack type (repeatable).")]
NotOutcomeOpt = Annotated[Many, typer.Option("--not-outcome", help="Leave out incidents with this outcome.")]
TechniqueOpt = Annotated[Many, typer.Option("--technique", help="ATT&CK technique id, e.g. T1486 (repeat: any of them).")]
MalwareOpt = Annotated[Many, typer.Option("--malware", help="Malware family name (repeat: any of them).")]
CveOpt = Annotated[Many, typer.Option("--cve", help="CVE id, e.g. CVE-2024-3400 (repeat: any of them).")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="Incident date on or after (YYYY, YYYY-MM or YYYY-MM-DD).")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Incident date on or before (YYYY, YYYY-MM or YYYY-MM-DD).")]
QueryOpt = Annotated[Optional[str], typer.Option("--query", "-q", help="Full-text search.")]
FILTER_OPTIONS = ("actor", "victim", "country", "sector", "attack_type", "outcome", "since", "until", "query",
                  "not_actor", "not_victim", "not_country", "not_sector", "not_attack_type", "not_outcome",
                  "technique", "malware", "cve")


def _incident_filters(options: dict) -> dict:
    """The keyword filters of ``Store.list_incidents`` from a command's options (its ``locals()``: the
    three commands share the filter options, so they are passed as one), checked by
    ``incidex.validate`` (the API's checks): a bad value is one line and exit code 2. An option not
    given is None; a repeated one a list."""
    return _or_exit(validate.incident_filters, {k: options.get(k) or None for k in FILTER_OPTIONS})


@app.command()
def incidents(
    actor: ActorOpt = None,
    victim: VictimOpt = None,
    country: CountryOpt = None,
    sector: SectorOpt = None,
    attack_type: TypeOpt = None,
    outcome: OutcomeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    query: QueryOpt = None,
    not_actor: NotActorOpt = None,
    not_victim: NotVictimOpt = None,
    not_country: NotCountryOpt = None,
    not_sector: NotSectorOpt = None,
    not_attack_type: NotTypeOpt = None,
    not_outcome: NotOutcomeOpt = None,
    technique: TechniqueOpt = None,
    malware: MalwareOpt = None,
    cve: CveOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    db: DbOpt = None,
    fmt: FormatOpt = ListFormat.table,
    wide: WideOpt = False,
) -> None:
    """List stored incidents with filters (a line each; columns fitted to the terminal, --wide for all)."""
    store = _store(db)
    filters = _incident_filters(locals())
    rows = store.list_incidents(**filters, limit=limit, offset=offset)
    if not rows and offset == 0:  # never a silent empty answer: say which name matched nothing
        from .hints import empty_result_hints

        for hint in empty_result_hints(store, filters):
            err.print(f"[yellow]note:[/yellow] {escape(hint)}", soft_wrap=True, highlight=False)
    if not rows and fmt == ListFormat.table:
        err.print("no incidents match" + (" these filters" if any(v is not None for v in filters.values()) else
                                          " (the store has none yet: `incidex ingest`)"))
        return
    if fmt == ListFormat.json:
        _dump(_incident_json(store, rows))
        return
    from .termtable import Col

    _table((Col("id", min=64), Col("date", min=10), Col("types", min=10), Col("victims", min=14),
            Col("attackers", drop=1, min=10), Col("outcome", drop=2, min=10), Col("attribution", drop=3, min=10),
            Col("summary", drop=4, min=20)),
           ((i.id, i.date.value if i.date else "", ", ".join(i.attack_types),
             "; ".join(v.name + (f" ({v.country})" if v.country else "") for v in i.victims),
             ", ".join(a.name for a in i.attackers), i.outcome, i.attribution.status, i.summary or "")
            for i in rows), wide=wide)


def _incident_json(store, incidents) -> list[dict]:
    """The export's JSON records (incident + sources), so listings, show and export agree."""
    from .export.jsonfmt import records

    return list(records(incidents, store))


def _table(columns, rows, wide: bool = False) -> None:
    """A table that fits the terminal (``incidex.termtable``); ``wide``: every column, full width."""
    from .termtable import fit_table

    t = fit_table(columns, rows, out.width, wide=wide)
    # rich never prints wider than its console: a wide table gets a console of its own width
    (Console(width=max(out.width, t.planned_width)) if wide else out).print(t, highlight=False)



@app.command()
def show(
    incident_id: Annotated[str, typer.Argument(help="Incident id (from `incidex incidents`).")],
    db: DbOpt = None,
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f")] = ShowFormat.text,
) -> None:
    """Show one incident: facts, sources and the evidence sentences."""
    store = _store(db)
    inc = store.get_incident(incident_id)
    if inc is None:
        err.print(f"[red]error:[/red] no incident {incident_id!r} (list them with `incidex incidents`)")
        raise typer.Exit(1)
    d = _incident_json(store, [inc])[0]
    if fmt == ShowFormat.json:
        _dump(d)
        return
    _print_incident(inc)
    if inc.conflicts:
        out.print("[bold]conflicting reports[/bold]")
        for fld in inc.conflicts:
            vals = "; ".join(f"{p['value']} ({p.get('source') or p['article_id']})" for p in inc.provenance.get(fld, []))
            out.print(f"  {fld:<16} {vals}", highlight=False, markup=False)
    out.print("[bold]sources[/bold]")
    for s in d["sources"]:
        out.print(f"  {s['article_id']} {s['role']} {s['source'] or ''} {s['published'] or ''} {s['url'] or ''}", highlight=False)
    out.print("[bold]evidence[/bold]")
    from .prose import evidence_once

    for e, fields in evidence_once(inc.evidence):
        out.print(f"  {e.text}  [{', '.join(fields)}; {e.article_id + ' ' if e.article_id else ''}{e.start}:{e.end}]",
                  highlight=False, markup=False)


@app.command()
def failures(
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 100,
    db: DbOpt = None,
    fmt: FormatOpt = ListFormat.table,
    wide: WideOpt = False,
) -> None:
    """List inputs that could not be read or processed, with the reason."""
    store = _store(db)
    rows = store.list_failures(limit=limit)
    if fmt == ListFormat.json:
        _dump(rows)
        return
    _table(("at", "stage", "origin", "reason"),
           (tuple(str(r.get(c) or "") for c in ("at", "stage", "origin", "reason")) for r in rows), wide=wide)


class ExportFormat(str, Enum):
    json = "json"
    jsonl = "jsonl"
    stix = "stix"
    misp = "misp"
    csv = "csv"
    parquet = "parquet"


@app.command()
def export(
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", "-f", help="json (one document: every incident with its sources), jsonl (one per line), "
        "stix (a STIX 2.1 bundle), misp (a JSON list of MISP events), csv or parquet (a main table plus "
        "victims/attackers/sources tables beside it; parquet needs -o).")] = ExportFormat.json,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout "
                                                   "(csv/parquet: also NAME.victims.EXT, NAME.attackers.EXT, "
                                                   "NAME.sources.EXT).")] = None,
    actor: ActorOpt = None,
    victim: VictimOpt = None,
    country: CountryOpt = None,
    sector: SectorOpt = None,
    attack_type: TypeOpt = None,
    outcome: OutcomeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    query: QueryOpt = None,
    not_actor: NotActorOpt = None,
    not_victim: NotVictimOpt = None,
    not_country: NotCountryOpt = None,
    not_sector: NotSectorOpt = None,
    not_attack_type: NotTypeOpt = None,
    not_outcome: NotOutcomeOpt = None,
    technique: TechniqueOpt = None,
    malware: MalwareOpt = None,
    cve: CveOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most this many incidents (default: all).")] = None,
    db: DbOpt = None,
) -> None:
    """Export stored incidents (all, or those matching the filters of `incidex incidents`).

    Columns, the STIX and MISP mappings and how to point OpenCTI or MISP at
    incidex are described in docs/exports.md.
    """
    from .export import export as run_export
    from .export import select_incidents

    store = _store(db)
    if fmt == ExportFormat.parquet and output is None:
        err.print("[red]error:[/red] parquet export writes several files: give -o FILE.parquet")
        raise typer.Exit(2)
    if output is not None and output.parent and not output.parent.is_dir():
        err.print(f"[red]error:[/red] no such directory: {output.parent}")
        raise typer.Exit(2)
    rows = select_incidents(store, limit=limit, **_incident_filters(locals()))
    try:
        result = run_export(fmt.value, rows, store, output)
    except (IncidexError, OSError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2)
    if output:
        err.print(f"wrote {result.count} incidents to {', '.join(str(f) for f in result.files)}")
    elif fmt == ExportFormat.csv:
        err.print("note: only the main table goes to stdout; use -o FILE.csv for the victims, attackers and "
                  "sources tables")


@app.command()
def merge(
    keep: Annotated[str, typer.Argument(help="The incident (or, with --entity, the entity) that remains.")],
    other: Annotated[str, typer.Argument(help="The incident (or entity) merged into it.")],
    entity: Annotated[bool, typer.Option("--entity", help="Merge two entities (organisations) instead of incidents.")] = False,
    db: DbOpt = None,
) -> None:
    """Analyst decision: two incidents (or entities) are the same. Survives re-processing."""
    from .resolve.incidents import merge_incidents
    from .resolve.entities import merge_entities

    store = _store(db)
    with store.transaction():
        ok = merge_entities(store, keep, other) if entity else merge_incidents(store, keep, other) is not None
    if not ok:
        err.print(f"[red]error:[/red] cannot merge {other!r} into {keep!r}: unknown id or nothing to merge "
                  f"(list them with `incidex {'entities' if entity else 'incidents'}`)")
        raise typer.Exit(1)
    out.print(f"merged {other} into {keep}")


@app.command()
def split(
    incident_id: Annotated[str, typer.Argument(help="The incident (or, with --entity, the entity) to split.")],
    article: Annotated[Optional[list[str]], typer.Option("--article", "-a", help="Article id whose report becomes its own incident (repeatable).")] = None,
    alias: Annotated[Optional[list[str]], typer.Option("--alias", help="With --entity: alias that becomes its own entity (repeatable).")] = None,
    entity: Annotated[bool, typer.Option("--entity", help="Split an entity's aliases off instead of an incident's sources.")] = False,
    db: DbOpt = None,
) -> None:
    """Analyst decision: part of an incident (or entity) is something else. Survives re-processing."""
    from .resolve.entities import split_entity
    from .resolve.incidents import split_incident

    store = _store(db)
    with store.transaction():
        new_id = split_entity(store, incident_id, alias or []) if entity else split_incident(store, incident_id, article or [])
    if new_id is None:
        err.print("[red]error:[/red] nothing to split: give --article ids (or --alias names with --entity) that belong "
                  "to it, but not all of them")
        raise typer.Exit(1)
    out.print(f"split off {new_id}")


@app.command()
def entities(
    query: Annotated[Optional[str], typer.Option("--query", "-q", help="Part of a name or alias.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
    db: DbOpt = None,
    fmt: FormatOpt = ListFormat.table,
    wide: WideOpt = False,
) -> None:
    """List organisations (victims) resolved across articles, with their aliases."""
    store = _store(db)
    rows = store.list_entities(query=query, limit=limit)
    if fmt == ListFormat.json:
        _dump(rows)
        return
    _table(("id", "name", "country", "aliases"),
           ((e["id"], e["name"], e.get("country") or "", "; ".join(e["aliases"])) for e in rows), wide=wide)


@app.command()
def reprocess(
    db: DbOpt = None,
    fmt: FormatOpt = ListFormat.table,
) -> None:
    """Extract and resolve every stored article again (after an update); analysts' decisions are kept."""
    from .resolve.incidents import reprocess_all

    store = _store(db)
    with _progress() as progress:
        task = progress.add_task("re-processing", total=store.count_articles(include_duplicates=False), stats="")
        n = reprocess_all(store, on_article=lambda: progress.update(task, advance=1))
    if fmt == ListFormat.json:
        _dump({"articles": n, "incidents": store.count_incidents()})
    else:
        out.print(f"re-processed {n} articles; {store.count_incidents()} incidents")


# ----------------------------------------------------------------- watch

FeedsOpt = Annotated[Optional[Path], typer.Option("--feeds", help="Feeds file, YAML or OPML (url, name, interval, "
                                                  "fetch_pages; see docs/watch.md). Default: the packaged list of "
                                                  "well-known outlets and government advisories.", show_default=False)]


def _feeds(path: Path | None):
    from .watch import load_feeds

    return _or_exit(load_feeds, path)


def _when(dt) -> str:
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S") if dt else ""


def _poll_line(r) -> str:
    if r.status == "error":
        return f"[red]error[/red] {r.error}; next try {_when(r.next_poll_at)}"
    if r.status == "not-modified":
        return "not modified"
    if r.status == "stopped":
        return "[yellow]stopped[/yellow]; the rest is picked up next time"
    return (f"{r.entries} entries: {r.new} new, {r.duplicate} duplicate, {r.unchanged} unchanged, "
            f"{r.failed} failed, {r.incidents} incidents")


@app.command()
def watch(
    feeds: FeedsOpt = None,
    once: Annotated[bool, typer.Option("--once", help="Poll every feed once, then exit (e.g. from cron).")] = False,
    user_agent: Annotated[Optional[str], typer.Option("--user-agent", help="User-Agent header for every request "
                                                      "(default: user_agent of the watch, else ingest settings).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="With --once: exit 1 if any feed failed.")] = False,
    db: DbOpt = None,
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="table: a line per poll (and a summary with "
                                            "--once); json: a JSON object per poll, one per line.")] = ListFormat.table,
) -> None:
    """Poll news feeds on their schedules and ingest new entries (extract, resolve, store).

    Conditional GET, a politeness gap per host, exponential backoff after
    errors, robots.txt for linked pages. State is kept in the database: a
    restart, or a crash, resumes without losing or repeating an entry.
    SIGINT/SIGTERM stop after the chunk in hand. `incidex status` shows each feed.
    """
    import signal

    from .watch import Watcher

    feed_list = _feeds(feeds)
    store = _store(db)

    def on_poll(r) -> None:
        if fmt == ListFormat.json:
            _dump(r.to_dict())
        else:
            err.print(f"[dim]{_when(r.at)}[/dim] [bold]{r.name}[/bold] {_poll_line(r)}", highlight=False)

    watcher = Watcher(store, feed_list, on_poll=on_poll, user_agent=user_agent)

    def on_signal(signum, _frame) -> None:
        err.print("[yellow]stopping[/yellow] after the chunk in hand (again to abort)")
        watcher.stop()
        signal.signal(signum, signal.SIG_DFL if signum != signal.SIGINT else signal.default_int_handler)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if not once:
            err.print(f"watching {len(feed_list)} feeds into {store.url} (Ctrl-C to stop)")
            watcher.run_forever()
            return
        results = watcher.run_once()
    except KeyboardInterrupt:
        err.print("[yellow]aborted[/yellow]: every entry handled before is committed; the rest comes next time.")
        raise typer.Exit(130)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
    if fmt == ListFormat.table:
        _table(("feed", "status", "entries", "new", "dup", "unchanged", "failed", "incidents", "error"),
               ((r.name, r.status, str(r.entries), str(r.new), str(r.duplicate), str(r.unchanged), str(r.failed),
                 str(r.incidents), r.error or "") for r in results))
    errors = sum(r.status == "error" for r in results)
    if (results and errors == len(results)) or (strict and errors):
        raise typer.Exit(1)


@app.command()
def status(
    feeds: Annotated[Optional[Path], typer.Option("--feeds", help="Show exactly the feeds of this file (also those "
                                                  "never polled); default: every feed the database knows.",
                                                  show_default=False)] = None,
    db: DbOpt = None,
    fmt: FormatOpt = ListFormat.table,
) -> None:
    """Per watched feed: last success, last error, items seen, incidents found, next poll."""
    from .watch import feed_status

    feed_list = _feeds(feeds) if feeds else None
    rows = feed_status(_store(db), feed_list)
    if fmt == ListFormat.json:
        _dump([{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows])
        return
    if not rows:
        out.print("no feeds watched yet (run `incidex watch`)")
        return
    _table(("feed", "last success", "last error", "items", "failed", "incidents", "next poll"),
           ((f"{r['name'] or ''}\n{r['url']}", _when(r["last_success_at"]) or "never",
             (f"{_when(r['last_error_at'])} {r['last_error']}" if r["last_error"] else "")
             + (f" ({r['consecutive_errors']} in a row)" if r["consecutive_errors"] > 1 else ""),
             str(r["items_seen"]), str(r["failed_items"]), str(r["incidents_found"]), _when(r["next_poll_at"]))
            for r in rows))


@eval_app.command("casie")
def eval_casie(
    file: Annotated[Path, typer.Argument(help="A CASIE JSONL file, e.g. ../shared/data/casie/dev.jsonl.", exists=True, dir_okay=False)],
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N articles.")] = None,
    model: Annotated[bool, typer.Option("--model/--no-model", help="Use the trained CASIE model (default); "
                                        "--no-model scores the rules alone.")] = True,
    fmt: FormatOpt = ListFormat.table,
) -> None:
    """Incident detection, per-role argument P/R/F1 (overlap and exact match), event type F1 and realis accuracy.

    Match definitions are in docs/evaluation.md. Use the dev split for choices; never tune on test data.
    """
    from .evaluation.casie import ROLES, evaluate, load_casie
    from .extraction.pipeline import Extractor

    docs = load_casie(file)[:limit] if limit else load_casie(file)
    ex = Extractor(use_model=model)
    with _progress() as progress:
        task = progress.add_task("evaluating", total=len(docs), stats="")
        res = evaluate(docs, ex.extract_article, progress=lambda n: progress.update(task, completed=n))
    if fmt == ListFormat.json:
        _dump(res)
        return
    d, r = res["detection"], res["realis"]
    out.print(f"CASIE {file} ({res['articles']} articles), model {'on' if ex.model is not None else 'off'}")
    out.print(f"incident detection  P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}")
    shown = (*ROLES, "Attacker+Victim", "all roles")
    _table(("role", "match", "P", "R", "F1", "pred", "gold"),
           [(role, kind, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["pred"]), str(m["gold"]))
            for kind, per in res["arguments"].items() for role, m in per.items() if role in shown])
    _table(("event type", "P", "R", "F1", "pred", "gold"),
           [(sub, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["pred"]), str(m["gold"]))
            for sub, m in res["event_type"].items()])
    out.print(f"realis accuracy {r['accuracy']:.3f} over {r['triggers_matched']} matched triggers")


@eval_app.command("incidents")
def eval_incidents(
    gold: Annotated[Path, typer.Argument(help="Hand-coded gold: a JSON file (a list of articles) or a directory of "
                                         "*.gold.json, e.g. ../shared/data/casie/dev_incidents.gold.json.")],
    inputs: Annotated[Optional[list[str]], typer.Argument(help="The articles to extract (anything `incidex extract` "
                                                          "reads: a JSONL archive, files, a directory).")] = None,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Score this extraction output "
                           "(JSON or JSONL of `incidex extract --format json`) instead of extracting.")] = None,
    save: Annotated[Optional[Path], typer.Option("--save-predictions", help="Also write the extraction as JSONL.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List missed and spurious incidents and forbidden victims.")] = False,
    fmt: FormatOpt = ListFormat.table,
) -> None:
    """Incident-level P/R/F1 against hand-coded gold: slot F1 (the headline), per-slot F1, incident detection,
    forbidden victims; the definitions of shared/tools/score_incidents.py (docs/evaluation.md).

    The articles are extracted with the default path (the incident encoder on unless INCIDEX_ENCODER=off)
    and matched to gold articles by id, external id, url or file stem.
    """
    from .evaluation.incidents import GoldError, index_predictions, load_gold, score

    try:
        golds = load_gold(gold)
    except (GoldError, OSError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2)
    stems: list[str | None] | None = None
    if predictions is not None:
        try:
            text = predictions.read_text(encoding="utf-8")
            try:
                loaded = json.loads(text)
                results = loaded if isinstance(loaded, list) else [loaded]
            except json.JSONDecodeError:
                results = [json.loads(line) for line in text.splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            err.print(f"[red]error:[/red] {predictions}: not a readable extraction output ({e})")
            raise typer.Exit(2)
    elif inputs:
        results, stems = _extract_for_eval(inputs, len(golds))
    else:
        err.print("[red]error:[/red] give the articles to extract (INPUTS) or --predictions FILE")
        raise typer.Exit(2)
    if save is not None:
        save.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results), encoding="utf-8")
    res, detail = score(golds, index_predictions(results, stems))
    scored = res.pop("_scored")
    if fmt == ListFormat.json:
        _dump(res)
        return
    if verbose:
        for line in detail:
            out.print(line, markup=False, highlight=False)
    out.print(f"articles {res['articles']} (no prediction: {res['articles_without_prediction']})")
    _table(("measure", "P", "R", "F1", "detail"), [
        ("slot (headline)", f"{res['slot_p']:.3f}", f"{res['slot_r']:.3f}", f"{res['slot_f1']:.3f}", ""),
        ("incident", f"{res['incident_p']:.2f}", f"{res['incident_r']:.2f}", f"{res['incident_f1']:.2f}",
         f"gold {res['gold_incidents']}, predicted {res['pred_incidents']}, matched {res['matched_incidents']}"),
    ])
    _table(("slot", "F1"), [(s, f"{res[s + '_f1']:.2f}" if scored[s] else "-") for s in scored])
    out.print(f"forbidden victims: {res['forbidden_victims']}")


def _extract_for_eval(inputs: list[str], expected: int) -> tuple[list[dict], list[str | None]]:
    """Extract every readable article of the inputs in chunks, with progress; failures are reported.
    Also the file stem of each article's input (gold directories name articles by it)."""
    from .extraction.pipeline import ExtractionFailure, default_extractor
    from .readers import read_articles

    ex = default_extractor()
    results: list[dict] = []
    stems: list[str | None] = []
    chunk: list = []
    with _progress() as progress:
        task = progress.add_task("extracting", total=expected, stats="")

        def flush() -> None:
            for r in ex.extract_each(chunk):
                if isinstance(r, ExtractionFailure):
                    err.print(f"{r.article.origin}: {r.reason}", markup=False, highlight=False)
                else:
                    results.append(r.to_dict())
                    origin = r.article.origin or ""
                    stems.append(Path(origin).stem if origin and "#" not in origin and ":" not in origin[2:] else None)
            progress.update(task, advance=len(chunk))
            chunk.clear()

        for item in read_articles(inputs):
            if isinstance(item, ReadFailure):
                err.print(f"{item.origin}: {item.reason}", markup=False, highlight=False)
                continue
            chunk.append(item)
            if len(chunk) >= 32:
                flush()
        if chunk:
            flush()
    return results, stems


@eval_app.command("resolve")
def eval_resolve(
    set_dir: Annotated[Path, typer.Argument(help="A multi-outlet set: a directory with articles/ and gold.json "
                                            "(e.g. examples/multi_outlet).", exists=True, file_okay=False)],
    fmt: FormatOpt = ListFormat.table,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show each article's main incident.")] = False,
) -> None:
    """Pairwise article-clustering precision/recall of cross-article resolution (definitions in docs/resolution.md)."""
    from .evaluation.resolution import evaluate

    res = evaluate(set_dir)
    if fmt == ListFormat.json:
        _dump(res)
        return
    p = res["pairwise"]
    out.print(f"{set_dir}: {res['articles']} articles, {res['gold_clusters']} gold incidents, "
              f"{res['predicted_incidents']} predicted")
    out.print(f"pairwise clustering  P {p['precision']:.3f}  R {p['recall']:.3f}  F1 {p['f1']:.3f}  "
              f"(tp {p['tp']}, fp {p['fp']}, fn {p['fn']})")
    b = res["background_links"]
    out.print(f"background mentions linked to their incident: {b['linked']} of {b['gold']}")
    if verbose:
        for a, i in sorted(res["main_incident"].items()):
            out.print(f"  {a:<70} {i}", highlight=False)


# ----------------------------------------------------------------- serve and keys

@app.command()
def serve(
    db: DbOpt = None,
    host: Annotated[Optional[str], typer.Option("--host", help="Address to listen on (default: setting serve.host, 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", min=0, max=65535, help="Port (default: setting serve.port, 8000).")] = None,
) -> None:
    """Serve the web UI (/), the REST API (/api/v1, docs at /api/v1/docs) and TAXII 2.1 (/taxii2/).

    Reading is open unless the setting serve.read_open is false; writing needs an API key
    (`incidex keys create`). Limits, CORS and the rest: the serve section of the settings, docs/api.md.
    """
    import uvicorn

    from .serve.app import create_app
    from .settings import load_settings

    cfg = load_settings().get("serve", {})
    store = _store(db)
    try:
        application = create_app(store=store)
    except IncidexError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2)
    host = host or str(cfg.get("host", "127.0.0.1"))
    port = int(cfg.get("port", 8000)) if port is None else port
    warmed = store.warm_counts()  # the facet index, built before the first request needs it
    if warmed:
        err.print(f"incidex: facet index of {warmed['incidents']} incidents in {warmed['seconds']} s "
                  f"({warmed['bytes'] / 1e6:.1f} MB)")
    err.print(f"incidex: serving {store.url} on http://{host}:{port}/ (API docs: /api/v1/docs)")
    try:
        uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=False)
    finally:
        store.close()


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", "-n", help="Who or what the key is for (shown by `keys list`).")] = "default",
    db: DbOpt = None,
) -> None:
    """Make an API key and print it once: only its hash is stored, it cannot be shown again."""
    from .serve.security import create_key

    store = _store(db)
    key_id, key = create_key(store, name)
    err.print(f"API key {key_id} ({name}) created; keep it now, it is not stored and cannot be shown again:")
    sys.stdout.write(key + "\n")


@keys_app.command("list")
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    db: DbOpt = None,
    fmt: FormatOpt = ListFormat.table,
) -> None:
    """List API keys (id, name, prefix, created, last used; never the keys)."""
    rows = _store(db).list_api_keys(include_revoked=all_keys)
    if fmt == ListFormat.json:
        _dump(rows)
        return
    _table(("id", "name", "prefix", "created", "last used", "revoked"),
           ((str(r["id"]), r["name"], r["prefix"] + "…", r["created_at"] or "", r["last_used_at"] or "",
             r["revoked_at"] or "") for r in rows))


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id or name (every active key of that name).")],
    db: DbOpt = None,
) -> None:
    """Revoke API keys: requests with them are refused from now on."""
    n = _store(db).revoke_api_key(key)
    if not n:
        err.print(f"[red]error:[/red] no active key {key!r} (see `incidex keys list`)")
        raise typer.Exit(1)
    out.print(f"revoked {n} key{'s' if n > 1 else ''}")


# ----------------------------------------------------------------- alerts

def _filters_text(filters: dict) -> str:
    from .alerts import filters_text

    return filters_text(filters)


@alerts_app.command("add")
def alerts_add(
    name: Annotated[str, typer.Argument(help="Alert name (letters, digits, - _ .): its feed is /feeds/NAME.atom.")],
    actor: ActorOpt = None,
    victim: VictimOpt = None,
    country: CountryOpt = None,
    sector: SectorOpt = None,
    attack_type: TypeOpt = None,
    outcome: OutcomeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    query: QueryOpt = None,
    not_actor: NotActorOpt = None,
    not_victim: NotVictimOpt = None,
    not_country: NotCountryOpt = None,
    not_sector: NotSectorOpt = None,
    not_attack_type: NotTypeOpt = None,
    not_outcome: NotOutcomeOpt = None,
    technique: TechniqueOpt = None,
    malware: MalwareOpt = None,
    cve: CveOpt = None,
    webhook: Annotated[Optional[str], typer.Option("--webhook", help="POST each new matching incident here (JSON, "
                                                   "signed: see docs/alerts.md).")] = None,
    secret: Annotated[Optional[str], typer.Option("--secret", help="The webhook's HMAC signing secret (default: "
                                                  "a random one, printed once).")] = None,
    db: DbOpt = None,
) -> None:
    """Save the filters of `incidex incidents` as a named alert."""
    from .alerts import create_alert

    store = _store(db)
    filters = _incident_filters(locals())
    alert = _or_exit(lambda f: create_alert(store, name, f, webhook_url=webhook, secret=secret), filters)
    out.print(f"alert {alert['name']}: {_filters_text(alert['filters'])}; feed /feeds/{alert['name']}.atom",
              highlight=False, soft_wrap=True)
    if alert["webhook_url"]:
        out.print(f"webhook {alert['webhook_url']}", highlight=False, soft_wrap=True)
        if not secret:
            err.print("signing secret (X-Incidex-Signature: sha256=HMAC of the body); keep it, "
                      "`alerts show --secret` shows it again:")
            sys.stdout.write(alert["secret"] + "\n")


@alerts_app.command("list")
def alerts_list(db: DbOpt = None, fmt: FormatOpt = ListFormat.table) -> None:
    """List alerts: name, filters, webhook, feed."""
    rows = _store(db).list_alerts()
    if fmt == ListFormat.json:
        _dump([{k: v for k, v in r.items() if k != "secret"} for r in rows])
        return
    if not rows:
        out.print("no alerts yet (add one with `incidex alerts add NAME --type ransomware ...`)")
        return
    _table(("name", "filters", "webhook", "feed"),
           ((r["name"], _filters_text(r["filters"]), r["webhook_url"] or "", f"/feeds/{r['name']}.atom")
            for r in rows))


def _alert(store, name: str) -> dict:
    alert = store.get_alert(name)
    if alert is None:
        err.print(f"[red]error:[/red] name: no alert {escape(name)!r} (see `incidex alerts list`)", soft_wrap=True)
        raise typer.Exit(1)
    return alert


@alerts_app.command("show")
def alerts_show(
    name: Annotated[str, typer.Argument(help="Alert name.")],
    show_secret: Annotated[bool, typer.Option("--secret", help="Also print the webhook's signing secret.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Delivery attempts shown.")] = 20,
    db: DbOpt = None,
    fmt: FormatOpt = ListFormat.table,
) -> None:
    """One alert: its filters, how many incidents match now, and the latest webhook delivery attempts."""
    store = _store(db)
    alert = _alert(store, name)
    f = dict(alert["filters"])
    matching = store.count_incidents_matching(query=f.pop("query", None), **f)
    deliveries = store.list_deliveries(name, limit=limit)
    if fmt == ListFormat.json:
        _dump({**{k: v for k, v in alert.items() if k != "secret" or show_secret}, "matching": matching,
               "deliveries": deliveries})
        return
    out.print(f"[bold]{alert['name']}[/bold]: {escape(_filters_text(alert['filters']))}", highlight=False)
    out.print(f"  {matching} incidents match now; feed /feeds/{alert['name']}.atom; created {alert['created_at']}",
              highlight=False)
    out.print(f"  webhook {alert['webhook_url'] or 'none'}", highlight=False)
    if show_secret and alert["secret"]:
        out.print(f"  secret {alert['secret']}", highlight=False, markup=False)
    if deliveries:
        _table(("at", "incident", "delivery", "attempt", "result"),
               ((d["at"], d["incident_id"] or "(test)", d["delivery_id"][:8], str(d["attempt"]),
                 "delivered" if d["ok"] else (d["error"] or "failed")) for d in deliveries))


@alerts_app.command("remove")
def alerts_remove(name: Annotated[str, typer.Argument(help="Alert name.")], db: DbOpt = None) -> None:
    """Remove an alert and its delivery log."""
    store = _store(db)
    _alert(store, name)
    store.remove_alert(name)
    out.print(f"removed alert {name}")


@alerts_app.command("test")
def alerts_test(name: Annotated[str, typer.Argument(help="Alert name.")], db: DbOpt = None) -> None:
    """Send a `test` event (with the newest matching incident) to the alert's webhook; exit 1 if not delivered."""
    from .alerts import send_test

    store = _store(db)
    _alert(store, name)
    d = _or_exit(lambda n: send_test(store, n), name)
    for line in d.log:
        err.print(f"  {line}", highlight=False, markup=False)
    if not d.ok:
        err.print(f"[red]not delivered[/red] after {d.attempts} attempts: {escape(d.error or '')}", soft_wrap=True)
        raise typer.Exit(1)
    out.print(f"delivered test event {d.delivery_id} to {store.get_alert(name)['webhook_url']} "
              f"(attempt {d.attempts})", highlight=False, soft_wrap=True)


def main() -> None:  # pragma: no cover
    app()
