"""The engine-neutral part of a batch: documents in, prepared articles out; Parquet parts.

``process_documents`` is what any engine maps over partitions. It is the
parallel half of ``incidex.api.ingest`` (``api.prepare``: clean, MinHash
signature, duplicate pre-check, extraction) and needs nothing from the engine:
Dask calls it through ``run_partition``; a Spark job would call it from
``rdd.mapPartitions(lambda rows: process_documents(rows_to_documents(rows)))``.
Models are loaded once per process (``worker_extractor``) and a read-only
store handle, used to skip articles that are already stored, once per process
and URL (``worker_store``).

``write_part`` / ``read_part`` keep a partition's prepared articles as one
Parquet file (one row per input item; the incidents as JSON), so a run over
``--out DIR`` can be resumed without extracting again and the per-article
extractions can be read by any Parquet tool.
"""
from __future__ import annotations

import json
import os
import resource
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from incidex.api import Prepared, prepare
from incidex.records import Article, ExtractionResult, RawDocument, ReadFailure
from incidex.settings import load_settings
from incidex.store.codec import incident_from_dict

from .partitions import Partition, read_partition


@lru_cache(maxsize=1)
def worker_extractor():
    """The extractor of this process, loaded on first use (models are loaded once per worker)."""
    from incidex.extraction.pipeline import default_extractor

    return default_extractor()


@lru_cache(maxsize=4)
def worker_store(url: str):
    """A store handle of this process for the pre-check (reads only)."""
    from incidex.store import open_store

    return open_store(url)


def warm_up() -> int:
    """Load the models now (run on every worker before the clock starts); returns the pid."""
    worker_extractor()
    return os.getpid()


def process_documents(docs: Iterable[RawDocument | ReadFailure], *, extractor=None, store=None,
                      chunk_size: int | None = None) -> Iterator[Prepared]:
    """The engine-neutral function: documents (and read failures) in, ``Prepared`` items out, in order.

    Extracts ``chunk_size`` articles at a time (one parser batch), so memory
    stays flat however long ``docs`` is.
    """
    ex = extractor or worker_extractor()
    size = chunk_size or int(load_settings()["ingest"].get("chunk_size", 32))
    chunk: list[RawDocument | ReadFailure] = []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= size:
            yield from prepare(chunk, ex, store)
            chunk = []
    if chunk:
        yield from prepare(chunk, ex, store)


@dataclass
class PartitionResult:
    """A processed partition and where and how it ran (for the run report and the benchmark)."""

    index: int
    items: list[Prepared]
    worker: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the worker process on this partition
    peak_rss_mb: float = 0.0
    from_part: bool = False  # read back from a Parquet part of an earlier run
    extra: dict[str, Any] = field(default_factory=dict)


def run_partition(part: Partition, store_url: str | None = None) -> PartitionResult:
    """Read and process one partition (the task every engine runs)."""
    t0, c0 = time.perf_counter(), time.process_time()
    settings = load_settings()
    store = worker_store(store_url) if store_url else None
    items = list(process_documents(read_partition(part, settings), store=store))
    return PartitionResult(part.index, items, worker=f"{socket.gethostname()}:{os.getpid()}",
                           seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0,
                           peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


# -- Parquet parts ---------------------------------------------------------------------

_ARTICLE_FIELDS = ("id", "body", "url", "source", "title", "author", "published", "language", "external_id",
                   "origin", "raw", "raw_kind", "fetched_at")


def _schema():
    import pyarrow as pa

    s = pa.string()
    return pa.schema([
        ("item_origin", s), ("status", s), ("failure", s), ("read", pa.bool_()), ("item_article_id", s),
        *[(f"article_{f}", s) for f in _ARTICLE_FIELDS],
        ("article_removed", pa.list_(s)), ("article_signature", pa.list_(pa.uint64())),
        ("duplicate_hint", s), ("extracted", pa.bool_()), ("incidents", s),
    ])


def _row(item: Prepared) -> dict[str, Any]:
    art = item.article
    status = "failed" if item.failure else "unchanged" if item.unchanged else "article"
    row: dict[str, Any] = {"item_origin": item.origin, "status": status,
                           "failure": item.failure.reason if item.failure else None, "read": item.read,
                           "item_article_id": item.article_id,
                           "extracted": item.result is not None,
                           "incidents": json.dumps([i.to_dict() for i in item.result.incidents], ensure_ascii=False)
                           if item.result is not None else None}
    for f in _ARTICLE_FIELDS:
        row[f"article_{f}"] = getattr(art, f) if art else None
    row["article_removed"] = list(art.removed or []) if art else None
    row["article_signature"] = list(art.signature) if art and art.signature else None
    row["duplicate_hint"] = art.duplicate_of if art else None
    return row


def _item(row: dict[str, Any]) -> Prepared:
    item = Prepared(row["item_origin"], unchanged=row["status"] == "unchanged", read=row["read"],
                    article_id=row["item_article_id"])
    if row["status"] == "failed":
        item.failure = ReadFailure(row["item_origin"], row["failure"] or "failed")
        return item
    if row["status"] != "article":
        return item
    art = Article(**{f: row[f"article_{f}"] for f in _ARTICLE_FIELDS})
    art.raw_kind = art.raw_kind or "text"
    art.removed = list(row["article_removed"] or [])
    art.signature = [int(v) for v in row["article_signature"]] if row["article_signature"] is not None else None
    art.duplicate_of = row["duplicate_hint"]
    item.article = art
    if row["extracted"]:
        item.result = ExtractionResult(art, [incident_from_dict(d) for d in json.loads(row["incidents"])])
    return item


def part_path(out_dir: Path, part: Partition) -> Path:
    return out_dir / "parts" / f"part-{part.key}.parquet"


def write_part(path: Path, items: list[Prepared]) -> None:
    """Write atomically (temporary file, then rename): a part that exists is complete."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    pq.write_table(pa.Table.from_pylist([_row(i) for i in items], schema=_schema()), tmp)
    os.replace(tmp, path)


def read_part(path: Path) -> list[Prepared]:
    import pyarrow.parquet as pq

    return [_item(r) for r in pq.read_table(path, schema=_schema()).to_pylist()]
