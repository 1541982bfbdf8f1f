"""Cutting JSONL and Parquet archives into partitions, and reading one partition.

A partition is a slice of one file small enough to process in one task: a
run of ``size`` lines of a JSONL file (found by one pass over the file, which
records the byte offset where each slice starts) or of ``size`` rows of a
Parquet row group. Partitions are numbered in input order; that order is the
order in which the batch stores articles, so duplicates resolve as in
``incidex ingest``.

Origins are the ones ``incidex ingest`` gives: ``path:line`` for JSONL
(the path as given on the command line, or as found below a given
directory), ``path:row`` for Parquet rows (1-based).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from incidex.readers import _bounded_lines, walk
from incidex.readers.decode import binary_reason
from incidex.readers.jsonl import read_jsonl, record_to_document
from incidex.readers.sniff import BINARY_EXTENSIONS, by_extension
from incidex.records import RawDocument, ReadFailure

PARQUET = (".parquet", ".pq")


@dataclass(frozen=True)
class Partition:
    """``count`` lines (JSONL) or rows (Parquet) of ``path`` starting at ``start``.

    JSONL: ``start`` is a byte offset and ``first`` the number of its first
    line; Parquet: ``start`` is the row group and ``first`` the row offset in
    it (``row`` the 1-based number of that row in the file). ``failure`` is set
    instead for an input that cannot be read at all.
    """

    index: int
    path: str
    kind: str  # "jsonl" | "parquet" | "failure"
    start: int = 0
    first: int = 1
    count: int = 0
    row: int = 1
    whole_file: bool = False
    failure: str | None = None
    stamp: str = ""  # size and modification time of the file: a changed file gets new parts

    @property
    def key(self) -> str:
        """Stable name of this slice of this version of the file (its Parquet part)."""
        h = hashlib.sha1(json.dumps([self.path, self.stamp, self.kind, self.start, self.first, self.count]).encode())
        return f"{self.index:06d}-{h.hexdigest()[:10]}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def input_files(inputs: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """``(path, why not)`` for every file named or found below a named directory, in input order."""
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in walk(p):
                if f.suffix.lower() not in BINARY_EXTENSIONS or f.suffix.lower() in PARQUET:
                    yield str(f), _unsupported(f)
        elif not p.exists():
            yield item, "no such file or directory"
        else:
            yield item, _unsupported(p)


def expected_items(inputs: Iterable[str]) -> int:
    """How many items a run over ``inputs`` reads, counted up front for the progress bar's total
    and ETA: the lines of each JSONL file (a fast byte scan), the rows of each Parquet file (its
    footer), 1 for a file that will be reported as unsupported."""
    from incidex.readers import count_lines

    n = 0
    for path, why in input_files(inputs):
        try:
            if why is not None:
                n += 1
            elif Path(path).suffix.lower() in PARQUET:
                import pyarrow.parquet as pq

                n += pq.ParquetFile(path).metadata.num_rows
            else:
                n += count_lines(Path(path))
        except Exception:  # unreadable: reported as one failure when the run reaches it
            n += 1
    return n


def _unsupported(p: Path) -> str | None:
    if p.suffix.lower() in PARQUET or by_extension(p.name) == "jsonl":
        return None
    return "not a JSONL (.jsonl, .ndjson) or Parquet (.parquet) archive: read it with `incidex ingest`"


def plan(inputs: Iterable[str], size: int, settings: dict[str, Any]) -> Iterator[Partition]:
    """Partitions of every input, numbered in input order (one pass over each JSONL file)."""
    index = 0
    for path, why in input_files(inputs):
        if why is not None:
            yield Partition(index, path, "failure", failure=why)
            index += 1
            continue
        parts = _plan_parquet(path, size) if Path(path).suffix.lower() in PARQUET else _plan_jsonl(path, size, settings)
        try:
            st = Path(path).stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = ""
        for p in parts:
            yield Partition(index, stamp=stamp, **p)
            index += 1


def _plan_jsonl(path: str, size: int, settings: dict[str, Any]) -> list[dict[str, Any]]:
    max_bytes = int(settings["ingest"].get("max_input_bytes", 10_000_000))
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
            why = binary_reason(head) if head else None
            if why:
                return [{"path": path, "kind": "failure", "failure": why}]
            fh.seek(0)
            parts: list[dict[str, Any]] = []
            start, line, blank_file = 0, 0, True
            for raw in _bounded_lines(fh, max_bytes):
                line += 1
                blank_file = blank_file and not raw.strip()
                if line % size == 0:
                    parts.append({"path": path, "kind": "jsonl", "start": start, "first": line - size + 1,
                                  "count": size})
                    start = fh.tell()
            if line % size:
                parts.append({"path": path, "kind": "jsonl", "start": start, "first": line - line % size + 1,
                              "count": line % size})
    except OSError as exc:
        return [{"path": path, "kind": "failure", "failure": f"cannot read: {exc.strerror or exc}"}]
    if blank_file:  # read whole, so the reader reports the empty file as ingest does
        return [{"path": path, "kind": "jsonl", "start": 0, "first": 1, "count": max(line, 0), "whole_file": True}]
    return parts


def _plan_parquet(path: str, size: int) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:  # not Parquet, truncated, unreadable
        return [{"path": path, "kind": "failure", "failure": f"cannot read as Parquet: {exc}"}]
    parts, row = [], 1
    for rg in range(meta.num_row_groups):
        n = meta.row_group(rg).num_rows
        for offset in range(0, n, size):
            count = min(size, n - offset)
            parts.append({"path": path, "kind": "parquet", "start": rg, "first": offset, "count": count,
                          "row": row + offset})
        row += n
    if not parts:
        return [{"path": path, "kind": "failure", "failure": "empty Parquet file (no rows)"}]
    return parts


def read_partition(part: Partition, settings: dict[str, Any]) -> Iterator[RawDocument | ReadFailure]:
    """The documents (and failures) of one partition, as ``incidex ingest`` reads them."""
    if part.kind == "failure":
        yield ReadFailure(part.path, part.failure or "cannot read")
        return
    if part.kind == "jsonl":
        yield from _read_jsonl(part, settings)
        return
    yield from _read_parquet(part, settings)


def _read_jsonl(part: Partition, settings: dict[str, Any]) -> Iterator[RawDocument | ReadFailure]:
    max_bytes = int(settings["ingest"].get("max_input_bytes", 10_000_000))
    try:
        with open(part.path, "rb") as fh:
            fh.seek(part.start)
            lines = _take(_bounded_lines(fh, max_bytes), part.count)
            yield from read_jsonl(lines, part.path, settings, first_line=part.first, report_empty=part.whole_file)
    except OSError as exc:
        yield ReadFailure(part.path, f"cannot read: {exc.strerror or exc}")


def _take(it: Iterator[bytes], n: int) -> Iterator[bytes]:
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x


def _read_parquet(part: Partition, settings: dict[str, Any]) -> Iterator[RawDocument | ReadFailure]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(part.path).read_row_group(part.start).slice(part.first, part.count)
    except Exception as exc:
        yield ReadFailure(part.path, f"cannot read row group {part.start}: {exc}")
        return
    for i, row in enumerate(table.to_pylist()):
        n = part.row + i
        yield record_to_document(row, f"{part.path}:{n}", f"row {n}", settings)
