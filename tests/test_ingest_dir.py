"""Directory ingest reads article files only, says in one line what it skipped, and counts up front.

Every article here is invented (made-up firms and groups).
"""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from incidex.cli import app
from incidex.readers import plan, read
from incidex.readers.select import skip_reason, skip_summary

ROOT = Path(__file__).resolve().parent.parent
STORY = """Title: Wiper attack hits Ostrava grain exchange
Date: 2024-06-04
Source: silo-news.test

The Ostrava Grain Exchange said on Tuesday that a wiper attack had erased trading servers overnight, halting \
trading for a day. A group calling itself Dun Heron claimed the attack. Backups were used to restore systems.
"""


def _tree(tmp_path: Path) -> Path:
    d = tmp_path / "set"
    (d / "articles").mkdir(parents=True)
    (d / "articles" / "001_wiper.txt").write_text(STORY)
    (d / "README.md").write_text("# A test set\n\n| id | victim |\n| --- | --- |\n| 1 | Ostrava Grain Exchange |\n")
    (d / "LICENSE").write_text("Permission is hereby granted, free of charge, to any person...\n")
    (d / "CHANGELOG.md").write_text("## 1.0\n- first release of the set\n")
    (d / "articles" / "001_wiper.gold.json").write_text(json.dumps({"victims": ["Ostrava Grain Exchange"]}))
    (d / "labels.json").write_text(json.dumps({"clusters": {"A": ["001_wiper.txt"]}}))
    (d / "make_set.py").write_text("print('hello')\n")
    (d / "archive.json").write_text(json.dumps([{"title": "One", "text": STORY}, {"title": "Two", "body": STORY}]))
    (d / "feed.jsonl").write_text(json.dumps({"text": STORY}) + "\n" + json.dumps({"text": STORY + " More."}) + "\n")
    return d


def test_only_article_files_are_read(tmp_path):
    d = _tree(tmp_path)
    skipped: list[tuple[str, str]] = []
    items, total = plan([str(d)], on_skip=lambda p, why: skipped.append((p, why)))
    assert sorted(Path(i).name for i in items) == ["001_wiper.txt", "archive.json", "feed.jsonl"]
    assert total == 1 + 2 + 2  # a text file, a JSON list of two, two JSONL lines
    reasons = {Path(p).name: why for p, why in skipped}
    assert reasons == {"README.md": "project file", "LICENSE": "project file", "CHANGELOG.md": "project file",
                       "001_wiper.gold.json": "gold/annotation data",
                       "labels.json": "JSON that is not an article archive (no text/body/content field)",
                       "make_set.py": "not an article file type (.py)"}
    line = skip_summary(skipped)
    assert line.startswith("skipped 6 files that are not articles: project file: ") and "\n" not in line
    # read() of the directory skips the same files
    docs = list(read([str(d)], on_skip=lambda p, why: None))
    assert len(docs) == total and all(not d.origin.endswith(("README.md", "LICENSE", ".py")) for d in docs)


def test_a_file_named_explicitly_is_still_read(tmp_path):
    d = _tree(tmp_path)
    assert skip_reason(d / "README.md") == "project file"
    docs = list(read([str(d / "README.md")]))
    assert len(docs) == 1 and docs[0].origin.endswith("README.md")


def test_cli_ingest_of_multi_outlet_skips_its_readme(tmp_path):
    db = str(tmp_path / "m.db")
    r = CliRunner().invoke(app, ["ingest", str(ROOT / "examples" / "multi_outlet"), "--db", db, "--format", "json"])
    assert r.exit_code == 0, r.output
    mo = ROOT / "examples" / "multi_outlet"
    assert f"skipped 2 files that are not articles: project file: {mo / 'README.md'}; " \
           f"gold/annotation data: {mo / 'gold.json'}\n" == r.stderr.splitlines(keepends=True)[0]
    report = json.loads(r.stdout)
    assert {Path(s["origin"]).name for s in report["skipped"]} == {"README.md", "gold.json"}
    assert report["failed"] == 0 and report["read"] == len(list((ROOT / "examples/multi_outlet/articles").iterdir()))
    r = CliRunner().invoke(app, ["articles", "--db", db, "--format", "json", "--limit", "100"])
    assert not [a for a in json.loads(r.stdout) if (a.get("origin") or "").endswith("README.md")]
