"""JSON Lines and .json lists (invented records)."""
from __future__ import annotations

import json

from fixtures_ingest import SECOND_STORY, STORY, STORY_LINES, article_page, make_settings

from incidex.readers import read, read_articles
from incidex.records import RawDocument, ReadFailure


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_jsonl_good_bad_and_html_lines(tmp_path):
    p = tmp_path / "batch.jsonl"
    _write_lines(p, [
        json.dumps({"id": "wire-1", "text": STORY, "url": "https://www.pellworth-gazette.test/a",
                    "title": "Hospital hit", "published": "2024-03-05", "source": "pellworth-gazette.test",
                    "author": "Mara Quill"}),
        json.dumps({"id": 2, "text": SECOND_STORY, "date": "Thu, 07 Mar 2024 09:00:00 +0000"}),
        '{"id": "wire-3", "text": "unterminated',
        json.dumps({"id": "wire-4", "title": "no text here"}),
        "",
        json.dumps({"id": "wire-6", "html": article_page("Hospital hit", STORY_LINES),
                    "url": "https://news.invented.test/h"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "wire-8", "text": "   "}),
    ])
    results = list(read([str(p)]))
    by_origin = {r.origin: r for r in results}
    first = by_origin[f"{p}:1"]
    assert isinstance(first, RawDocument)
    assert (first.external_id, first.url, first.title, first.published, first.source, first.author) == (
        "wire-1", "https://www.pellworth-gazette.test/a", "Hospital hit", "2024-03-05", "pellworth-gazette.test",
        "Mara Quill")
    assert first.content == STORY
    second = by_origin[f"{p}:2"]
    assert second.external_id == "2" and second.published == "Thu, 07 Mar 2024 09:00:00 +0000"
    bad = by_origin[f"{p}:3"]
    assert isinstance(bad, ReadFailure) and bad.reason.startswith("invalid JSON on line 3: Unterminated string")
    assert by_origin[f"{p}:4"].reason == "line 4 has neither 'text' nor 'html'"
    assert f"{p}:5" not in by_origin  # blank lines are skipped
    html_doc = by_origin[f"{p}:6"]
    assert isinstance(html_doc, RawDocument) and html_doc.raw.startswith("<!DOCTYPE html>")
    assert STORY_LINES[1] in html_doc.content and "Podcasts" not in html_doc.content
    assert html_doc.url == "https://news.invented.test/h" and html_doc.external_id == "wire-6"
    assert by_origin[f"{p}:7"].reason == "line 7 is not a JSON object (found list)"
    assert by_origin[f"{p}:8"].reason == "line 8 has an empty 'text'"


def test_jsonl_articles_normalize_dates(tmp_path):
    p = tmp_path / "batch.ndjson"
    _write_lines(p, [json.dumps({"id": "x", "text": SECOND_STORY, "date": "Thu, 07 Mar 2024 09:00:00 +0000"})])
    (art,) = list(read_articles([str(p)]))
    assert art.published == "2024-03-07T09:00:00+00:00" and art.external_id == "x"


def test_json_list_file(tmp_path):
    p = tmp_path / "batch.json"
    p.write_text(json.dumps([{"id": "a", "text": STORY}, {"id": "b"}, {"id": "c", "text": SECOND_STORY}]),
                 encoding="utf-8")
    results = list(read([str(p)]))
    assert [type(r).__name__ for r in results] == ["RawDocument", "ReadFailure", "RawDocument"]
    assert results[1].origin == f"{p}[2]" and results[1].reason == "item 2 has neither 'text' nor 'html'"


def test_json_single_object_and_broken_json(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"id": "solo", "text": STORY}, indent=2), encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"text": "a"},\n {"text": ]', encoding="utf-8")
    doc, fail = list(read([str(one), str(broken)]))
    assert doc.external_id == "solo"
    assert fail.reason.startswith("invalid JSON on line 2")


def test_jsonl_oversized_line_reported_and_rest_read(tmp_path):
    p = tmp_path / "batch.jsonl"
    _write_lines(p, [json.dumps({"text": "x" * 5000}), json.dumps({"id": "ok", "text": STORY_LINES[0]})])
    results = list(read([str(p)], settings=make_settings(max_input_bytes=2000)))
    assert results[0].reason == "line 1 is larger than the 2 kB limit (max_input_bytes)"
    assert results[1].external_id == "ok"


def test_jsonl_text_too_short_becomes_failure_in_batch(tmp_path):
    p = tmp_path / "batch.jsonl"
    _write_lines(p, [json.dumps({"id": "tiny", "text": "Share this"}), json.dumps({"id": "ok", "text": STORY})])
    results = list(read_articles([str(p)]))
    assert isinstance(results[0], ReadFailure) and results[0].reason == "no article text after cleaning"
    assert results[0].origin == f"{p}:1"
    assert results[1].external_id == "ok"


def test_a_publication_date_no_reader_understands_is_a_warning(tmp_path):
    import incidex
    from incidex.store import open_store

    p = tmp_path / "dates.jsonl"
    _write_lines(p, [
        json.dumps({"id": "d-1", "text": STORY, "date": "sometime last spring"}),
        json.dumps({"id": "d-2", "text": SECOND_STORY, "date": "2017_01_03"}),
    ])
    store = open_store(tmp_path / "d.db")
    try:
        report = incidex.ingest([str(p)], store)
        assert report.new == 2 and report.failed == []
        assert len(report.warnings) == 1
        origin, warning = report.warnings[0]
        assert origin.endswith("dates.jsonl:1") and "'sometime last spring'" in warning and "published" in warning
        assert report.to_dict()["warnings"][0]["warning"] == warning
        again = incidex.ingest([str(p)], store)  # re-running stores nothing new and warns of nothing new
        assert again.unchanged == 2 and again.warnings == []
    finally:
        store.close()
