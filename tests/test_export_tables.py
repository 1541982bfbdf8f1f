"""CSV and Parquet tables (and the native JSON/JSONL exports) over a real store of the test articles.

Read back with pandas and DuckDB; the columns must be the documented ones.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fixtures_export import export_db, export_store  # noqa: F401  (fixtures)
from incidex.cli import app
from incidex.export import EXPORTERS, export, select_incidents
from incidex.export.tables import COLUMNS, LIST_SEPARATOR, TABLES, table_paths

DOCS = Path(__file__).resolve().parent.parent / "docs" / "exports.md"


def documented_columns() -> dict[str, list[str]]:
    """Column names per table from the tables in docs/exports.md (``### table `name` `` headings)."""
    text = DOCS.read_text()
    out: dict[str, list[str]] = {}
    for m in re.finditer(r"^### Table `(\w+)`\n(.*?)(?=^#)", text, re.S | re.M):
        out[m.group(1)] = re.findall(r"^\| `(\w+)` \|", m.group(2), re.M)
    return out


def run(fmt: str, store, path: Path, **filters):
    return export(fmt, select_incidents(store, **filters), store, path)


def test_registry_has_every_format():
    assert set(EXPORTERS) == {"json", "jsonl", "stix", "misp", "csv", "parquet"}


def test_docs_document_every_column():
    assert documented_columns() == {t: [c[0] for c in COLUMNS[t]] for t in TABLES}


def test_table_paths():
    p = table_paths(Path("/x/out.csv"), ".csv")
    assert p == {"incidents": Path("/x/out.csv"), "victims": Path("/x/out.victims.csv"),
                 "attackers": Path("/x/out.attackers.csv"), "sources": Path("/x/out.sources.csv")}
    assert table_paths(Path("/x/out"), ".parquet")["sources"] == Path("/x/out.sources.parquet")


def test_parquet_reads_back_in_pandas(export_store, tmp_path):
    result = run("parquet", export_store, tmp_path / "out.parquet")
    assert result.count == 5 and [p.name for p in result.files] == [
        "out.parquet", "out.victims.parquet", "out.attackers.parquet", "out.sources.parquet"]
    frames = {t: pd.read_parquet(p) for t, p in table_paths(tmp_path / "out.parquet", ".parquet").items()}
    for t, df in frames.items():
        assert list(df.columns) == [c[0] for c in COLUMNS[t]], t
    inc = frames["incidents"].set_index("incident_id")
    assert len(inc) == 5
    assert len(frames["sources"]) == 6  # one incident has a syndicated copy
    assert len(frames["attackers"]) == 5
    assert len(frames["victims"]) == int(inc["victims"].map(len).sum())
    hospital = inc[inc["summary"].str.contains("Carrow Valley")].iloc[0]
    assert "ransomware" in list(hospital["attack_types"])  # and data-breach: the gang claims stolen records
    assert list(hospital["victim_countries"]) == ["GB"] and hospital["source_count"] == 2
    assert hospital["ransom_usd"] == 2_000_000 and hospital["data_leaked"]
    assert hospital["first_published"] == pd.Timestamp("2024-02-14", tz="UTC")
    apt29 = inc[inc["attackers"].map(lambda a: "APT29" in list(a))].iloc[0]
    assert apt29["date"] == "2024-03" and apt29["date_precision"] == "month"
    assert apt29["date_from"] == dt.date(2024, 3, 1) and apt29["date_to"] == dt.date(2024, 3, 31)
    assert list(apt29["attacker_state_links"]) == ["RU"]
    att = frames["attackers"]
    assert att[att["name"] == "APT29"].iloc[0]["kb_id"] == "attack:G0016"
    src = frames["sources"]
    assert set(src["role"]) == {"primary", "syndicated"}
    assert str(src["published_at"].dtype).startswith("datetime64") and str(src["published_at"].dt.tz) == "UTC"


def test_csv_reads_back_in_pandas(export_store, tmp_path):
    result = run("csv", export_store, tmp_path / "out.csv")
    assert [p.name for p in result.files] == ["out.csv", "out.victims.csv", "out.attackers.csv", "out.sources.csv"]
    frames = {t: pd.read_csv(p) for t, p in table_paths(tmp_path / "out.csv", ".csv").items()}
    for t, df in frames.items():
        assert list(df.columns) == [c[0] for c in COLUMNS[t]], t
    inc = frames["incidents"]
    assert len(inc) == 5 and len(frames["sources"]) == 6
    hospital = inc[inc["summary"].str.contains("Carrow Valley")].iloc[0]
    assert hospital["techniques"].split(LIST_SEPARATOR) == ["T1486", "T1566"]
    assert bool(hospital["background"]) is False and hospital["source_count"] == 2
    assert frames["victims"]["named"].dtype == bool
    # the same rows as the Parquet export
    run("parquet", export_store, tmp_path / "out.parquet")
    pq = pd.read_parquet(tmp_path / "out.parquet")
    assert list(pq["incident_id"]) == list(inc["incident_id"])


def test_duckdb_reads_the_parquet(export_store, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    run("parquet", export_store, tmp_path / "out.parquet")
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT v.country, count(*) AS n
            FROM read_parquet('{tmp_path / 'out.parquet'}') i
            JOIN read_parquet('{tmp_path / 'out.victims.parquet'}') v USING (incident_id)
            GROUP BY v.country ORDER BY v.country""").fetchall()
    assert ("GB", 1) in rows and "DK" in {c for c, _ in rows}
    (n,) = con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path / 'out.parquet'}') "
                       f"WHERE list_contains(attack_types, 'ransomware')").fetchone()
    assert n == 2
    con.close()


def test_empty_tables(export_store, tmp_path):
    run("parquet", export_store, tmp_path / "none.parquet", actor="nobody at all")
    df = pd.read_parquet(tmp_path / "none.parquet")
    assert len(df) == 0 and list(df.columns) == [c[0] for c in COLUMNS["incidents"]]


def test_cli_tables(export_db, tmp_path, monkeypatch):
    monkeypatch.delenv("INCIDEX_DB", raising=False)
    runner = CliRunner()
    res = runner.invoke(app, ["export", "--db", str(export_db), "-f", "csv", "-o", str(tmp_path / "t.csv"),
                              "--sector", "healthcare"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.attackers.csv", "t.csv", "t.sources.csv", "t.victims.csv"]
    assert len(pd.read_csv(tmp_path / "t.csv")) == 1
    res = runner.invoke(app, ["export", "--db", str(export_db), "-f", "parquet"])
    assert res.exit_code == 2  # several files: -o is required
    res = runner.invoke(app, ["export", "--db", str(export_db), "-f", "csv", "--limit", "2"])
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0].startswith("incident_id,summary,")
    assert len(res.stdout.splitlines()) == 3
    res = runner.invoke(app, ["export", "--db", str(export_db), "-f", "xml"])
    assert res.exit_code == 2


def test_json_and_jsonl_keep_the_incident_shape(export_db, monkeypatch):
    monkeypatch.delenv("INCIDEX_DB", raising=False)
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["incidents", "--db", str(export_db), "-f", "json", "--limit", "100"]).stdout)
    doc = json.loads(runner.invoke(app, ["export", "--db", str(export_db)]).stdout)
    assert doc == {"incidents": listed}
    lines = runner.invoke(app, ["export", "--db", str(export_db), "-f", "jsonl"]).stdout.splitlines()
    assert [json.loads(x) for x in lines] == listed
    assert {"article_id", "role", "url", "source", "published"} == set(listed[0]["sources"][0])
    filtered = json.loads(runner.invoke(app, ["export", "--db", str(export_db), "--country", "gb"]).stdout)
    assert [i["victims"][0]["country"] for i in filtered["incidents"]] == ["GB"]
