"""Exports: incidents from the store in the formats analysts' tools read.

``EXPORTERS[format](incidents, store, output=None, stream=None) -> ExportResult``
writes ``incidents`` (any iterable, e.g. ``select_incidents(store, country="GB")``)
to the file ``output`` (tables: that file and its siblings) or, for the
single-document formats, to ``stream``. One module per format:

=========  =====================  ============================================
format     module                 output
=========  =====================  ============================================
json       ``jsonfmt``            ``{"incidents": [incident + sources, ...]}``
jsonl      ``jsonfmt``            one incident + sources per line
stix       ``stix``               a STIX 2.1 bundle
misp       ``misp``               a JSON list of MISP ``{"Event": ...}``
csv        ``tables``             main table + victims/attackers/sources tables
parquet    ``tables``             the same tables as Parquet files
=========  =====================  ============================================

``taxii`` serves the STIX objects as a TAXII 2.1 collection (see
``incidex.serve.app``). Columns, the STIX mapping and the choices behind them
are documented in ``docs/exports.md``.
"""
from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from incidex.export.common import select_incidents
from incidex.records import Incident

__all__ = ["EXPORTERS", "ExportResult", "export", "select_incidents"]


@dataclass
class ExportResult:
    count: int = 0  # incidents exported
    files: list[Path] = field(default_factory=list)  # files written (empty when written to a stream)


class _Counted:
    """Counts incidents as an exporter consumes them."""

    def __init__(self, incidents: Iterable[Incident]):
        self._it, self.n = iter(incidents), 0

    def __iter__(self):
        for inc in self._it:
            self.n += 1
            yield inc


def _document(writer: Callable[[Iterable[Incident], Any, TextIO], int]):
    """A single-document format: to ``output`` (written whole at the end) or ``stream``."""

    def run(incidents: Iterable[Incident], store: Any, output: Path | None = None,
            stream: TextIO | None = None) -> ExportResult:
        counted = _Counted(incidents)
        if output is None:
            writer(counted, store, stream or sys.stdout)
            return ExportResult(counted.n)
        buf = io.StringIO()
        writer(counted, store, buf)
        output.write_text(buf.getvalue(), encoding="utf-8")
        return ExportResult(counted.n, [output])

    run.__doc__ = writer.__doc__
    return run


def _tables(writer: Callable[..., list[Path]]):
    def run(incidents: Iterable[Incident], store: Any, output: Path | None = None,
            stream: TextIO | None = None) -> ExportResult:
        counted = _Counted(incidents)
        files = writer(counted, store, output, stream or sys.stdout)
        return ExportResult(counted.n, files)

    run.__doc__ = writer.__doc__
    return run


def _jsonfmt(name: str):
    def writer(incidents, store, out):
        from incidex.export import jsonfmt

        return getattr(jsonfmt, name)(incidents, store, out)
    return writer


def _stix(incidents, store, out):
    from incidex.export import stix

    return stix.write(incidents, store, out)


def _misp(incidents, store, out):
    from incidex.export import misp

    return misp.write(incidents, store, out)


def _csv(incidents, store, output, stream):
    from incidex.export import tables

    return tables.write_csv(incidents, store, output, stream)


def _parquet(incidents, store, output, stream):
    from incidex.export import tables

    return tables.write_parquet(incidents, store, output, stream)


#: format name -> exporter(incidents, store, output=None, stream=None) -> ExportResult
EXPORTERS: dict[str, Callable[..., ExportResult]] = {
    "json": _document(_jsonfmt("write_json")),
    "jsonl": _document(_jsonfmt("write_jsonl")),
    "stix": _document(_stix),
    "misp": _document(_misp),
    "csv": _tables(_csv),
    "parquet": _tables(_parquet),
}


def export(fmt: str, incidents: Iterable[Incident], store: Any, output: Path | None = None,
           stream: TextIO | None = None) -> ExportResult:
    """Run the exporter of ``fmt`` (a key of ``EXPORTERS``)."""
    try:
        exporter = EXPORTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORTERS)}") from None
    return exporter(incidents, store, output, stream)
