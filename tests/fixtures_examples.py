"""A real store of the project's example articles (``examples/articles``), and the shipped MISP galaxies.

The 30 example articles cover every attack type, attribution status and date
precision the extractor produces, so exports of this store are what the
interoperability tests (stix2-validator, pymisp against the galaxy files)
check. Built once per session, on SQLite (the export code does not depend on
the backend; ``fixtures_export`` runs the format tests on both).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from incidex.store import open_store

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(str(p) for p in (REPO / "examples" / "articles").glob("*.txt"))
#: The MISP galaxy cluster files the knowledge base is built from (scripts/build_kb.py --src).
GALAXY_DIR = REPO.parent / "shared" / "data" / "kb" / "misp-galaxy"


@pytest.fixture(scope="session")
def examples_db(tmp_path_factory) -> Path:
    """Path of a SQLite store holding the example articles' incidents (do not write to it)."""
    path = tmp_path_factory.mktemp("examples") / "examples.db"
    report = ingest_into(path, EXAMPLES)
    assert report.failed == [] and report.incidents >= 25, report.to_dict()
    return path


def ingest_into(path: Path, inputs: list[str]):
    """Ingest ``inputs`` into a new SQLite store at ``path``; the ingest report."""
    import incidex

    store = open_store(path)
    try:
        return incidex.ingest(inputs, store)
    finally:
        store.close()


@pytest.fixture()
def examples_store(examples_db):
    store = open_store(examples_db)
    yield store
    store.close()


@pytest.fixture(scope="session")
def shipped_galaxies() -> dict[str, dict]:
    """``galaxy type -> {"uuid": galaxy uuid, "clusters": {cluster uuid: value}}`` from the galaxy files."""
    if not GALAXY_DIR.exists():
        pytest.skip(f"the MISP galaxy files are not at {GALAXY_DIR}")
    out = {}
    for path in sorted(GALAXY_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[data["type"]] = {"uuid": data["uuid"], "clusters": {v["uuid"]: v["value"] for v in data["values"]}}
    return out


#: CASIE train (real news, 2017-2019): the first articles of it, ingested as a JSONL archive.
CASIE_TRAIN = REPO.parent / "shared" / "data" / "casie" / "train.jsonl"
CASIE_SLICE = 150


@pytest.fixture(scope="session")
def casie_db(tmp_path_factory) -> Path:
    """Path of a SQLite store of the first CASIE_SLICE CASIE train articles (do not write to it)."""
    if not CASIE_TRAIN.exists():
        pytest.skip(f"CASIE train is not at {CASIE_TRAIN}")
    folder = tmp_path_factory.mktemp("casie")
    lines = CASIE_TRAIN.read_text(encoding="utf-8").splitlines()[:CASIE_SLICE]
    archive = folder / "train-slice.jsonl"
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = folder / "casie.db"
    report = ingest_into(path, [str(archive)])
    assert report.read == CASIE_SLICE and report.incidents >= 40, report.to_dict()
    return path
