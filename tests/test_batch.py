"""``incidex batch`` on Dask: the same answers as ``incidex ingest``, resumable, JSONL and Parquet.

The input is a JSONL archive made from the project's own test articles
(tests/data/exports and tests/data/resolve, written for the tests) plus copies
of them: an exact copy and a syndicated copy (a line added) that land in
other partitions than their originals, three outlets reporting one incident
in different partitions, a line that is not JSON and a record without text.
Partitions of 3 lines on 2 local Dask workers make every cross-partition case
happen. Runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from conftest import ROOT, new_db_url

DATA = ROOT / "tests" / "data"


def records() -> list[dict]:
    def rec(path: Path, rid: str, suffix: str = "") -> dict:
        return {"id": rid, "text": path.read_text(encoding="utf-8") + suffix, "source": f"{rid}.example"}

    exports = sorted((DATA / "exports").glob("0*.txt"))
    resolve = [DATA / "resolve" / n for n in ("a1.txt", "a2.txt", "a3.txt", "b1.txt")]
    out = [rec(p, f"x{i}") for i, p in enumerate(exports)]
    out.insert(2, rec(resolve[0], "r1"))
    out.insert(5, rec(resolve[1], "r2"))
    out.append(rec(resolve[2], "r3"))
    out.append(rec(resolve[3], "r4"))
    out.append(rec(exports[1], "copy-exact"))  # the same body again: unchanged
    out.append(rec(exports[3], "copy-syndicated",
                   "\nRepublished with permission."))
    return out


def write_jsonl(path: Path, recs: list[dict]) -> Path:
    lines = [json.dumps(r) for r in recs]
    lines.insert(4, "{this is not json")
    lines.insert(7, json.dumps({"id": "no-text", "title": "A record without any text"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(url: str) -> dict:
    """Everything a run stored, without timestamps (and, with ``origins=False``, without origins)."""
    from incidex.store import open_store

    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            def rows(sql: str) -> list:
                return [tuple(r) for r in conn.execute(sa.text(sql))]

            articles = rows("SELECT id, external_id, origin, source, title, published, body, signature, duplicate_of "
                            "FROM articles ORDER BY seq")
            links = rows("SELECT incident_id, article_id, role FROM incident_articles ORDER BY incident_id, article_id")
            mentions = [(m[0], m[1], m[2], m[3]) for m in
                        rows("SELECT id, incident_id, article_id, role FROM incident_mentions ORDER BY id")]
            aliases = rows("SELECT entity_id, alias, country_key FROM entity_aliases ORDER BY entity_id, alias")
            failures = sorted(rows("SELECT origin, reason FROM failures"))
        incidents = [i.to_dict() for i in store.list_incidents(limit=1000)]
        mention_docs = {m[0]: store.get_mention(m[0]).incident.to_dict() for m in mentions}
    finally:
        store.close()
    return {"articles": articles, "incidents": incidents, "links": links, "mentions": mentions,
            "mention_docs": mention_docs, "aliases": aliases, "failures": failures}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("batch") / "archive.jsonl", records())


def run_cli_plain(*args: str) -> str:
    from typer.testing import CliRunner

    from incidex.cli import app

    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.stdout


def run_cli(*args: str, code: int = 0) -> dict:
    from typer.testing import CliRunner

    from incidex.cli import app

    res = CliRunner().invoke(app, [*args, "--format", "json"])
    assert res.exit_code == code, res.output
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_batch_on_dask_equals_ingest(archive, backend, request, tmp_path):
    ingest_db = new_db_url(backend, request, tmp_path, "ingest.db")
    batch_db = new_db_url(backend, request, tmp_path, "batch.db")
    ingested = run_cli("ingest", str(archive), "--db", ingest_db)
    batched = run_cli("batch", str(archive), "--engine", "dask", "--workers", "2", "--partition-size", "3",
                      "--db", batch_db, "--out", str(tmp_path / "out"))
    for key in ("read", "new", "duplicate", "unchanged", "failed", "incidents", "merged"):
        assert batched[key] == ingested[key], key
    assert batched["partitions"] == 5 and batched["duplicate"] == 2 and batched["unchanged"] == 1
    assert batched["failed"] == 2 and batched["merged"] >= 2  # the three outlets became one incident
    assert len(batched["workers"]) == 2  # both workers took partitions
    expected, got = snapshot(ingest_db), snapshot(batch_db)
    assert got["articles"] == expected["articles"]
    assert got == expected
    assert len({a[0] for a in got["articles"]}) == len(got["articles"])
    # the resolved incidents as Parquet tables, readable by any Parquet tool, as `incidex export` writes them
    table = pq.read_table(tmp_path / "out" / "incidents.parquet")
    assert table.num_rows == len(expected["incidents"]) > 3
    run_cli_plain("export", "--db", batch_db, "--format", "parquet", "-o", str(tmp_path / "exported.parquet"))
    for name in ("incidents", "victims", "attackers", "sources"):
        suffix = "" if name == "incidents" else f".{name}"
        a = pq.read_table(tmp_path / "out" / f"incidents{suffix}.parquet")
        b = pq.read_table(tmp_path / f"exported{suffix}.parquet")
        assert a.schema == b.schema and a.to_pylist() == b.to_pylist(), name


def test_batch_resumes_from_parts_and_the_store(archive, tmp_path):
    from incidex.batch import run_batch
    from incidex.batch.core import read_part
    from incidex.store import open_store

    out = tmp_path / "out"
    db = str(tmp_path / "resume.db")
    first = run_cli("batch", str(archive), "--engine", "serial", "--partition-size", "3", "--out", str(out))
    assert first["new"] == 9 and first["resumed"] == 0
    parts = sorted((out / "parts").glob("part-*.parquet"))
    assert len(parts) == 5  # 14 lines in slices of 3
    items = [i for p in parts for i in read_part(p)]
    assert sum(1 for i in items if i.result is not None) == 9  # copies were not extracted
    before = snapshot(str(out / "incidex.db"))

    # the same run again: every part is read back, nothing extracted, nothing stored twice
    again = run_cli("batch", str(archive), "--engine", "serial", "--partition-size", "3", "--out", str(out))
    assert again["resumed"] == 5 and again["new"] == 0 and again["unchanged"] == first["new"] + first["duplicate"] + first["unchanged"]
    after = snapshot(str(out / "incidex.db"))
    assert after.pop("failures") == sorted(before.pop("failures") * 2)  # reported again, as ingest does on a re-run
    assert after == before

    # into a database already holding half of the articles: they are skipped before extraction
    store = open_store(db)
    try:
        import incidex

        half = tmp_path / "half.jsonl"
        half.write_text("\n".join(archive.read_text(encoding="utf-8").splitlines()[:6]) + "\n", encoding="utf-8")
        incidex.ingest([str(half)], store)
        calls = []
        report = run_batch([str(archive)], store=store, engine="serial", partition_size=3, store_url=db,
                           on_partition=lambda r: calls.append(sum(1 for i in r.items if i.result is not None)))
    finally:
        store.close()
    assert report.unchanged >= 5 and report.new == 9 - 5
    assert sum(calls) == report.new  # only the articles not yet stored were extracted
    with pytest.raises(Exception, match="other inputs"):
        run_batch([str(archive), str(half)], store=open_store(db), out_dir=out, engine="serial", partition_size=3)


def test_parquet_archive_gives_the_same_incidents(archive, tmp_path):
    recs = records()
    path = tmp_path / "archive.parquet"
    pq.write_table(pa.Table.from_pylist(recs), path, row_group_size=4)
    from_jsonl = tmp_path / "plain.jsonl"
    from_jsonl.write_text("\n".join(json.dumps(r) for r in recs) + "\n", encoding="utf-8")
    a = run_cli("batch", str(path), "--engine", "serial", "--partition-size", "3", "--db", str(tmp_path / "p.db"))
    b = run_cli("ingest", str(from_jsonl), "--db", str(tmp_path / "j.db"))
    assert a["partitions"] == 6  # 3 row groups of 4 rows, each cut into 3 + 1
    for key in ("new", "duplicate", "unchanged", "failed", "incidents", "merged"):
        assert a[key] == b[key], key
    pa_snap, j_snap = snapshot(str(tmp_path / "p.db")), snapshot(str(tmp_path / "j.db"))
    assert [r[2] for r in pa_snap["articles"]][:2] == [f"{path}:1", f"{path}:2"]
    strip = lambda rows: [r[:2] + r[3:] for r in rows]  # noqa: E731  (origins name other files)
    assert strip(pa_snap["articles"]) == strip(j_snap["articles"])
    assert pa_snap["incidents"] == j_snap["incidents"]


def test_batch_refuses_other_inputs_and_reports_unreadable_ones(tmp_path):
    (tmp_path / "notes.txt").write_text("A plain text file is for incidex ingest.", encoding="utf-8")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 but not really")
    report = run_cli("batch", str(tmp_path), "--engine", "serial", "--db", str(tmp_path / "x.db"), code=1)
    reasons = {f["origin"].rsplit("/", 1)[-1]: f["reason"] for f in report["failures"]}
    assert "incidex ingest" in reasons["notes.txt"]
    assert reasons["empty.jsonl"] == "empty file (no JSON lines)"
    assert "Parquet" in reasons["broken.parquet"]


def test_map_only_then_store_from_the_parts_equals_ingest(archive, tmp_path):
    out = tmp_path / "out"
    mapped = run_cli("batch", str(archive), "--engine", "serial", "--partition-size", "3", "--out", str(out),
                     "--map-only")
    assert mapped["extracted"] >= 9 and mapped["new"] == 0 and mapped["failed"] == 2
    assert not (out / "incidex.db").exists() and len(list((out / "parts").glob("*.parquet"))) == 5
    stored = run_cli("batch", str(archive), "--engine", "serial", "--partition-size", "3", "--out", str(out),
                     "--db", str(tmp_path / "stored.db"))
    assert stored["resumed"] == 5 and stored["extracted"] == 0 and stored["new"] == 9
    run_cli("ingest", str(archive), "--db", str(tmp_path / "ingest.db"))
    assert snapshot(str(tmp_path / "stored.db")) == snapshot(str(tmp_path / "ingest.db"))


def test_batch_on_an_existing_dask_cluster(archive, tmp_path):
    """``--scheduler``: the workers of a running cluster (here one started by the test, on 127.0.0.1)."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        got = run_cli("batch", str(archive), "--engine", "dask", "--scheduler", cluster.scheduler_address,
                      "--partition-size", "5", "--db", str(tmp_path / "remote.db"))
    assert got["partitions"] == 3 and got["new"] == 9 and got["duplicate"] == 2 and got["failed"] == 2
    assert len(got["workers"]) == 1
    run_cli("batch", str(tmp_path / "missing.jsonl"), "--engine", "serial", "--db", str(tmp_path / "m.db"), code=1)


def test_a_changed_input_file_is_processed_again(tmp_path):
    src = write_jsonl(tmp_path / "a.jsonl", records()[:4])
    out = tmp_path / "out"
    first = run_cli("batch", str(src), "--engine", "serial", "--partition-size", "2", "--out", str(out), "--map-only")
    again = run_cli("batch", str(src), "--engine", "serial", "--partition-size", "2", "--out", str(out), "--map-only")
    assert first["resumed"] == 0 and again["resumed"] == again["partitions"] == first["partitions"]
    lines = src.read_text(encoding="utf-8").splitlines()
    lines[0] = json.dumps({"id": "x0", "text": (DATA / "resolve" / "b1.txt").read_text(encoding="utf-8")})
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    changed = run_cli("batch", str(src), "--engine", "serial", "--partition-size", "2", "--out", str(out),
                      "--map-only")
    assert changed["resumed"] == 0 and changed["extracted"] >= 1  # same path, new content: no stale parts
