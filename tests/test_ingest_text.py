"""Plain text, decoding, directories and stdin (all articles invented)."""
from __future__ import annotations

import codecs
import io
import sys

import pytest
from fixtures_ingest import STORY, STORY_LINES, TEXT_WITH_HEADERS, make_settings

from incidex.readers import read, read_articles
from incidex.readers.decode import decode_bytes
from incidex.records import InputError, RawDocument, ReadFailure


def docs(results):
    return [r for r in results if isinstance(r, RawDocument)]


def failures(results):
    return [r for r in results if isinstance(r, ReadFailure)]


def test_text_header_lines_become_hints(tmp_path):
    p = tmp_path / "story.txt"
    p.write_text(TEXT_WITH_HEADERS, encoding="utf-8")
    (doc,) = list(read([str(p)]))
    assert doc.title == "Ransomware attack hits Pellworth County Hospital"
    assert doc.url == "https://www.pellworth-gazette.test/news/hospital-ransomware"
    assert doc.published == "2024-03-05T14:20:00-05:00"
    assert doc.author == "Mara Quill"
    assert doc.source == "pellworth-gazette.test"
    assert doc.content == STORY
    assert "Title:" not in doc.content and doc.raw == TEXT_WITH_HEADERS
    assert doc.origin == str(p)


def test_text_headers_flow_into_article(tmp_path):
    p = tmp_path / "story.txt"
    p.write_text(TEXT_WITH_HEADERS, encoding="utf-8")
    (art,) = list(read_articles([str(p)]))
    assert art.body == STORY
    assert art.source == "pellworth-gazette.test"
    assert art.published == "2024-03-05T14:20:00-05:00"
    assert art.author == "Mara Quill"
    assert art.language == "en"


def test_header_like_line_inside_text_is_kept(tmp_path):
    p = tmp_path / "story.txt"
    p.write_text(STORY_LINES[0] + "\nSource: an internal memo seen by reporters.\n" + STORY_LINES[1], encoding="utf-8")
    (doc,) = list(read([str(p)]))
    assert "Source: an internal memo" in doc.content and doc.source is None


def test_markdown_is_flattened(tmp_path):
    p = tmp_path / "story.md"
    p.write_text("# Hospital hit by ransomware\n\n" + STORY_LINES[0] +
                 "\n\n## What happened\n\nThe **hospital** said [in a statement](https://x.test/s) it was recovering.\n",
                 encoding="utf-8")
    (doc,) = list(read([str(p)]))
    assert doc.title == "Hospital hit by ransomware"
    assert "What happened" in doc.content and "##" not in doc.content
    assert "The hospital said in a statement it was recovering." in doc.content


def test_latin1_file_decodes_accents(tmp_path):
    text = ("Des pirates ont paralysé le réseau informatique de la mairie de Verbois-sur-Lèze, "
            "a déclaré mercredi la préfecture. Les données de près de 3 000 administrés ont été dérobées, "
            "selon l'élu chargé du numérique, qui évoque une « attaque très ciblée ».")
    p = tmp_path / "mairie.txt"
    p.write_bytes(text.encode("latin-1"))
    (doc,) = list(read([str(p)]))
    assert doc.content == text
    assert "paralysé" in doc.content and "Lèze" in doc.content and "« attaque" in doc.content


@pytest.mark.parametrize("bom,enc", [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                                     (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_boms_are_stripped(bom, enc):
    assert decode_bytes(bom + "Zürich hack".encode(enc), "x") == "Zürich hack"


def test_stray_nul_and_lone_surrogates_removed():
    data = (STORY + "\x00 end").encode("utf-8")
    assert "\x00" not in decode_bytes(data, "x")
    from incidex.readers.decode import clean_text
    assert clean_text("a\ud800b") == "ab"


@pytest.mark.parametrize("data,reason", [
    (b"", "empty file"),
    (b"   \n\t\n", "empty file (only whitespace)"),
    (b"\x00\x01\x02\x03binary\x00\x00\x00" * 20, "binary file (NUL bytes)"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "binary file (PDF document)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (PNG image)"),
    (bytes(range(1, 32)) * 20, "binary file (control characters)"),
])
def test_decode_refuses(data, reason):
    with pytest.raises(InputError) as ei:
        decode_bytes(data, "f")
    assert ei.value.reason == reason


def test_oversized_file_reported(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text(STORY * 20, encoding="utf-8")
    (f,) = list(read([str(p)], settings=make_settings(max_input_bytes=1000)))
    assert isinstance(f, ReadFailure)
    assert f.reason == "larger than the 1 kB limit (max_input_bytes)"
    (f,) = list(read([str(p)], settings=make_settings(max_input_bytes=2_000)))
    assert "2 kB limit" in f.reason


def test_default_limit_message():
    from incidex.readers.decode import too_large
    assert too_large(10_000_000) == "larger than the 10 MB limit (max_input_bytes)"


def test_missing_path_reported():
    (f,) = list(read(["/nonexistent/dir/story.txt"]))
    assert isinstance(f, ReadFailure) and f.reason == "no such file or directory"


def test_directory_recursion(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "good.txt").write_text(STORY, encoding="utf-8")
    (tmp_path / "a" / "b" / "latin.txt").write_bytes(
        "Le fournisseur d'énergie de Château-Brévent a confirmé une intrusion dans son réseau.".encode("latin-1"))
    (tmp_path / "a" / "b" / "notes").write_text(STORY, encoding="utf-8")  # no extension: sniffed
    (tmp_path / "blob.txt").write_bytes(b"\x00\x10\xff\xfe" * 300)
    (tmp_path / "blob.dat").write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 200)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)  # skipped silently
    (tmp_path / ".hidden.txt").write_text(STORY, encoding="utf-8")  # skipped
    (tmp_path / ".git" / "HEAD.txt").write_text(STORY, encoding="utf-8")  # hidden dir skipped

    results = list(read([str(tmp_path)]))
    got = {r.origin.replace(str(tmp_path) + "/", ""): r for r in results}
    assert set(got) == {"a/good.txt", "a/b/latin.txt", "a/b/notes", "blob.txt", "blob.dat", "empty.txt"}
    assert isinstance(got["a/good.txt"], RawDocument) and got["a/good.txt"].content == STORY
    assert "Château-Brévent" in got["a/b/latin.txt"].content and "énergie" in got["a/b/latin.txt"].content
    assert isinstance(got["a/b/notes"], RawDocument)
    assert got["blob.txt"].reason == "binary file (NUL bytes)"
    assert got["blob.dat"].reason == "binary file (ELF executable)"
    assert got["empty.txt"].reason == "empty file"


def test_one_bad_input_does_not_stop_the_rest(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(STORY, encoding="utf-8")
    results = list(read(["/nonexistent.txt", str(good), "ftp://example.test/x"]))
    assert [type(r).__name__ for r in results] == ["ReadFailure", "RawDocument", "ReadFailure"]
    assert "only http and https" in results[2].reason


def _stdin(monkeypatch, data: bytes):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_stdin_text(monkeypatch):
    _stdin(monkeypatch, TEXT_WITH_HEADERS.encode("utf-8"))
    (doc,) = list(read(["-"]))
    assert doc.origin == "<stdin>" and doc.title.startswith("Ransomware attack") and doc.content == STORY


def test_stdin_jsonl(monkeypatch):
    lines = [f'{{"id": "n{i}", "text": "{line}"}}' for i, line in enumerate(STORY_LINES)]
    _stdin(monkeypatch, ("\n".join(lines) + "\nnot json\n").encode("utf-8"))
    results = list(read(["-"]))
    assert [d.external_id for d in docs(results)] == ["n0", "n1", "n2", "n3", "n4"]
    (f,) = failures(results)
    assert f.origin == "<stdin>:6" and f.reason.startswith("invalid JSON on line 6")


def test_stdin_jsonl_longer_than_sniff_buffer(monkeypatch):
    rows = [f'{{"id": "r{i}", "text": "{STORY_LINES[i % 5]}"}}' for i in range(600)]  # > 64 KB
    _stdin(monkeypatch, "\n".join(rows).encode("utf-8"))
    results = list(read(["-"]))
    assert not failures(results) and len(results) == 600 and results[-1].external_id == "r599"


def test_stdin_html(monkeypatch):
    page = "<html><body><article>" + "".join(f"<p>{x}</p>" for x in STORY_LINES) + "</article></body></html>"
    _stdin(monkeypatch, page.encode("utf-8"))
    (doc,) = list(read(["-"]))
    assert doc.kind == "text" and doc.raw == page and STORY_LINES[2] in doc.content


def test_stdin_binary(monkeypatch):
    _stdin(monkeypatch, b"\x1f\x8b\x08\x00" + b"\x00" * 40)
    (f,) = list(read(["-"]))
    assert f.origin == "<stdin>" and f.reason == "binary input (gzip archive)"
