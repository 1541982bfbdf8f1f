"""Batch processing of large JSONL / Parquet archives on a cluster: ``incidex batch``.

The same answers as ``incidex ingest``, split in two halves:

1. **map** (parallel, any engine): partitions of the input (``partitions``)
   go through the engine-neutral ``core.process_documents`` -- the library
   path of ``incidex.api`` (read -> clean -> MinHash signature -> duplicate
   pre-check -> extract) -- on the workers. Nothing is written to the store
   there; the pre-check only saves work (articles already stored and copies
   found in the store or earlier in the same chunk are not extracted).
2. **store** (serial, in input order, in this process): each partition's
   articles are committed with ``api.commit_prepared``, as soon as every
   earlier partition is committed. That is ``incidex ingest``'s own store
   phase: under the store's write lock every article is checked against
   everything stored before it (same id: unchanged; a near-duplicate by
   MinHash/LSH: a syndicated copy of the first stored article), then stored,
   and its incidents resolved against every incident stored before it
   (cross-article resolution). Because every decision is taken in input order
   against the same store state, the result does not depend on how the input
   was partitioned or on the number of workers; it equals ``incidex ingest``.

Resumable: with ``--out DIR`` every partition's prepared articles are kept as
a Parquet part (written atomically) and a re-run reads them back instead of
extracting again; with a database, articles already stored are skipped (the
pre-check on the workers, and ``commit_prepared`` in any case). ``--out DIR``
also gets the resolved incidents as Parquet tables (``incidents.parquet`` and
its sibling tables, the ``incidex export --format parquet`` layout); without
``--db`` the store for resolution is ``DIR/incidex.db``.

``--map-only`` runs the first half alone and writes only the Parquet parts:
the cluster does the expensive, parallel work, and a later run with ``--db``
over the same inputs and ``--out`` reads the parts back and does the serial
half (storing, deduplication, resolution) without extracting anything again.
The serial half costs about as much per article as extraction (mostly
cross-article resolution), so it, not the number of workers, bounds a large
run: see docs/scaling.md.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidex.api import IngestReport, commit_prepared
from incidex.records import IncidexError
from incidex.settings import load_settings

from .core import PartitionResult, part_path, read_part, write_part
from .engines import ENGINES, run_dask, run_serial
from .partitions import Partition, plan

__all__ = ["BatchReport", "run_batch", "ENGINES"]

MANIFEST = "batch.json"


@dataclass
class BatchReport(IngestReport):
    partitions: int = 0
    resumed: int = 0  # partitions read back from Parquet parts of an earlier run
    extracted: int = 0  # articles extracted by the workers in this run
    seconds: float = 0.0
    store_seconds: float = 0.0  # in the ordered store phase (serial: bounds the speed-up)
    store_cpu_seconds: float = 0.0  # CPU time of this process in the store phase
    workers: dict[str, dict[str, float]] = field(default_factory=dict)  # worker -> partitions, seconds, peak RSS
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update({"partitions": self.partitions, "resumed": self.resumed, "extracted": self.extracted,
                  "seconds": round(self.seconds, 3),
                  "store_seconds": round(self.store_seconds, 3), "store_cpu_seconds": round(self.store_cpu_seconds, 3),
                  "workers": self.workers, "files": self.files})
        return d


def run_batch(inputs: list[str], *, store=None, out_dir: str | Path | None = None, engine: str = "dask",
              scheduler: str | None = None, workers: int | None = None, partition_size: int | None = None,
              store_url: str | None = None, map_only: bool = False,
              on_item: Callable[[str, str], None] | None = None,
              on_partition: Callable[[PartitionResult], None] | None = None,
              on_cluster: Callable[[dict[str, Any]], None] | None = None) -> BatchReport:
    """Process ``inputs`` (JSONL / Parquet files or directories of them) into ``store`` and/or ``out_dir``.

    ``store`` is an open store (required: it is where articles are
    deduplicated and incidents resolved); ``store_url`` its URL, given to the
    workers for the pre-check of stored articles (None: no pre-check).
    ``map_only``: write the Parquet parts to ``out_dir`` and store nothing
    (``store`` may then be None).
    """
    if engine not in ENGINES:
        raise IncidexError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if map_only and out_dir is None:
        raise IncidexError("--map-only writes Parquet parts: give --out DIR")
    if store is None and not map_only:
        raise IncidexError("batch needs a store to deduplicate and resolve into (--db URL, or --out DIR)")
    settings = load_settings()
    size = int(partition_size or settings.get("batch", {}).get("partition_size", 256))
    if size < 1:
        raise IncidexError("partition size must be at least 1")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        _check_manifest(out, inputs, size)
    report = BatchReport()
    t0 = time.perf_counter()

    def skip(part: Partition) -> PartitionResult | None:
        if out is None or part.kind == "failure":
            return None
        path = part_path(out, part)
        if not path.exists():
            return None
        try:
            return PartitionResult(part.index, read_part(path), from_part=True)
        except Exception:  # an unreadable part is computed again
            return None

    handed: dict[int, Partition] = {}  # given to the engine, result not yet stored (at most its window)

    def partitions():
        for p in plan(inputs, size, settings):
            handed[p.index] = p
            yield p

    run = run_dask if engine == "dask" else run_serial
    kwargs = {"scheduler": scheduler, "workers": workers, "on_cluster": on_cluster} if engine == "dask" else {}
    chunk = int(settings["ingest"].get("chunk_size", 32))
    for result in run(partitions(), store_url, skip, **kwargs):
        part = handed.pop(result.index)
        if out is not None and not result.from_part and part.kind != "failure":
            write_part(part_path(out, part), result.items)  # before storing: commit updates the items
        report.partitions += 1
        report.resumed += result.from_part
        report.read += sum(1 for i in result.items if i.read)
        report.extracted += 0 if result.from_part else sum(1 for i in result.items if i.result is not None)
        if map_only:
            report.failed += [i.failure for i in result.items if i.failure is not None]
            report.unchanged += sum(1 for i in result.items if i.unchanged)
            _account(report, result, on_partition)
            continue
        t_store, c_store = time.perf_counter(), time.process_time()
        for start in range(0, len(result.items), chunk):  # one transaction per chunk, as ingest
            commit_prepared(result.items[start:start + chunk], store, report, on_item)
        report.store_seconds += time.perf_counter() - t_store
        report.store_cpu_seconds += time.process_time() - c_store
        _account(report, result, on_partition)
    report.seconds = time.perf_counter() - t0
    if out is not None and not map_only:
        report.files = [str(p) for p in export_incidents(store, out / "incidents.parquet")]
    return report


def export_incidents(store, output: Path, page: int = 1000) -> list[Path]:
    """The resolved incidents as ``incidex export --format parquet`` tables, written a page at a time.

    Same files, columns and rows as the exporter, but one row group per page
    of incidents instead of every row in memory: a back-fill may hold millions.
    """
    import pyarrow.parquet as pq

    from incidex.export import select_incidents
    from incidex.export.tables import TABLES, arrow_schema, build_rows, table_paths, to_arrow

    paths = table_paths(output, ".parquet")
    writers = {t: pq.ParquetWriter(paths[t], arrow_schema(t)) for t in TABLES}
    try:
        batch: list = []
        for inc in select_incidents(store, page=page):
            batch.append(inc)
            if len(batch) >= page:
                _write_tables(writers, to_arrow(build_rows(batch, store)))
                batch = []
        if batch:
            _write_tables(writers, to_arrow(build_rows(batch, store)))
    finally:
        for w in writers.values():
            w.close()
    return [paths[t] for t in TABLES]


def _write_tables(writers: dict, tables: dict) -> None:
    for name, table in tables.items():
        writers[name].write_table(table)


def _account(report: BatchReport, result: PartitionResult, on_partition) -> None:
    if result.worker:
        w = report.workers.setdefault(result.worker, {"partitions": 0, "seconds": 0.0, "cpu_seconds": 0.0,
                                                      "peak_rss_mb": 0.0})
        w["partitions"] += 1
        w["seconds"] = round(w["seconds"] + result.seconds, 3)
        w["cpu_seconds"] = round(w["cpu_seconds"] + result.cpu_seconds, 3)
        w["peak_rss_mb"] = round(max(w["peak_rss_mb"], result.peak_rss_mb), 1)
    if on_partition:
        on_partition(result)


def _check_manifest(out: Path, inputs: list[str], size: int) -> None:
    """``DIR/batch.json`` names the inputs and partition size; a re-run must match to reuse the parts."""
    out.mkdir(parents=True, exist_ok=True)
    want = {"inputs": [str(i) for i in inputs], "partition_size": size}
    path = out / MANIFEST
    if path.exists():
        try:
            have = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            have = None
        if have != want:
            raise IncidexError(f"{out} holds a batch run over other inputs or another partition size "
                               f"({path}); use another --out directory or remove it")
        return
    path.write_text(json.dumps(want, indent=2) + "\n", encoding="utf-8")
