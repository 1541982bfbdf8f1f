"""Engines: map ``core.run_partition`` over partitions and hand results back in input order.

An engine is a function ``(partitions, store_url, ...) -> iterator of
PartitionResult`` that yields results in partition order, whatever order
they finish in, and never holds more than ``window`` partitions (in flight
plus finished but waiting for an earlier one), so the memory of the process
that stores them stays flat. Two engines:

* ``dask``: Dask distributed. Without ``scheduler`` a ``LocalCluster`` of
  ``workers`` processes (one thread each: extraction holds the GIL) bound to
  127.0.0.1 only, dashboard on a random local port; with ``scheduler`` the
  workers of an existing cluster (they need incidex installed and, for the
  pre-check of stored articles, access to the database). Models are loaded on
  every worker before the first partition (``core.warm_up``), then once per
  worker process; a failed task is retried twice before its partition is
  reported as failed.
* ``serial``: the same function in this process, for debugging and as the
  reference the parallel engine must agree with.
"""
from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from incidex.api import Prepared
from incidex.records import IncidexError, ReadFailure

from .core import PartitionResult, run_partition
from .partitions import Partition

log = logging.getLogger(__name__)

ENGINES = ("dask", "serial")
#: ``skip(partition) -> PartitionResult | None``: a result known without running the partition
Skip = Callable[[Partition], "PartitionResult | None"]


def failed_partition(part: Partition, why: str) -> PartitionResult:
    where = f"{part.path}:{part.row if part.kind == 'parquet' else part.first}"
    return PartitionResult(part.index, [Prepared(where, failure=ReadFailure(
        where, f"partition of {part.count} items from here failed: {why}"))])


def run_serial(partitions: Iterable[Partition], store_url: str | None, skip: Skip, **_: Any) -> Iterator[PartitionResult]:
    for part in partitions:
        done = skip(part)
        if done is not None:
            yield done
            continue
        try:
            yield run_partition(part, store_url)
        except Exception as exc:  # a bug in one partition must not stop the run
            log.exception("partition %s failed", part.index)
            yield failed_partition(part, f"{type(exc).__name__}: {exc}")


def run_dask(partitions: Iterable[Partition], store_url: str | None, skip: Skip, *, scheduler: str | None = None,
             workers: int | None = None, window: int | None = None,
             on_cluster: Callable[[dict[str, Any]], None] | None = None) -> Iterator[PartitionResult]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise IncidexError(f"the dask engine needs dask[distributed]: pip install 'dask[distributed]' ({exc})")
    import dask

    cluster = None
    with dask.config.set({"logging.distributed": "error"}):
        if scheduler:
            try:
                client = Client(scheduler, timeout="30s")
            except (OSError, TimeoutError) as exc:
                raise IncidexError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        else:
            n = workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
            client = Client(cluster)
        try:
            from .core import warm_up

            pids = client.run(warm_up)  # models loaded once per worker, before the first partition
            if on_cluster:
                on_cluster({"workers": len(pids), "dashboard": client.dashboard_link,
                            "scheduler": client.scheduler.address})
            yield from _ordered(client, as_completed, partitions, store_url, skip,
                                window or 2 * max(1, len(pids)))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _ordered(client, as_completed, partitions: Iterable[Partition], store_url: str | None, skip: Skip,
             window: int) -> Iterator[PartitionResult]:
    """Submit partitions, at most ``window`` held at once; yield results in partition order."""
    source = iter(partitions)
    held: dict[int, PartitionResult | None] = {}  # index -> result (None while running)
    parts: dict[Any, Partition] = {}
    running = as_completed()
    next_index, exhausted = None, False
    run = uuid.uuid4().hex[:8]  # task keys unique per run: a shared scheduler merges equal keys across clients

    def fill() -> None:
        nonlocal exhausted, next_index
        while not exhausted and len(held) < window:
            part = next(source, None)
            if part is None:
                exhausted = True
                return
            if next_index is None:
                next_index = part.index
            done = skip(part)
            if done is not None:
                held[part.index] = done
                continue
            fut = client.submit(run_partition, part, store_url, key=f"incidex-{run}-{part.key}", pure=False,
                                retries=2)
            parts[fut.key] = part
            held[part.index] = None
            running.add(fut)

    fill()
    while held:
        while next_index in held and held[next_index] is not None:
            result = held.pop(next_index)
            next_index += 1
            yield result
            fill()
        if not held:
            break
        fut = next(running)
        part = parts.pop(fut.key)
        try:
            held[part.index] = fut.result()
        except Exception as exc:
            log.error("partition %s failed on the cluster: %s", part.index, exc)
            held[part.index] = failed_partition(part, f"{type(exc).__name__}: {exc}")
        finally:
            fut.release()
