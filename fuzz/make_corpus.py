"""Write the seed corpus of every fuzz target from the project's own example files.

    python fuzz/make_corpus.py        # rewrites fuzz/corpus/<target>/

Seeds: the example articles (examples/articles, examples/multi_outlet,
tests/data) as plain text, as web pages, as JSON lines and as RSS / Atom
feeds, so the fuzzers start from inputs that reach deep into each reader.
"""
from __future__ import annotations

import hashlib
import html
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "corpus"
SOURCES = [ROOT / "examples" / "articles", ROOT / "examples" / "multi_outlet" / "articles", ROOT / "tests" / "data"]


def articles() -> list[tuple[str, str]]:
    out = []
    for src in SOURCES:
        for p in sorted(src.rglob("*.txt")):
            out.append((p.stem, p.read_text("utf-8")))
    return out


def _title_body(text: str) -> tuple[str, list[str]]:
    lines = [x for x in text.splitlines() if x.strip()]
    head = [x for x in lines if ":" in x[:12]]
    title = next((x.split(":", 1)[1].strip() for x in head if x.lower().startswith("title:")), lines[0][:80])
    body = [x for x in lines if x not in head] or lines
    return title, body


def page(text: str) -> str:
    title, body = _title_body(text)
    paras = "\n".join(f"<p>{html.escape(x)}</p>" for x in body)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta property="article:published_time" content="2024-03-12T09:30:00Z">'
            f'<meta property="og:site_name" content="Example News"></head><body><nav><a href="/">Home</a></nav>'
            f"<article><h1>{html.escape(title)}</h1>{paras}</article><footer>(c) Example News</footer></body></html>")


def feed(items: list[tuple[str, str]], atom: bool) -> str:
    """An RSS 2.0 (or Atom) feed with one entry per article, the text as escaped HTML."""
    parts = []
    for i, (name, text) in enumerate(items):
        title, body = _title_body(text)
        t, content = html.escape(title), html.escape("".join(f"<p>{x}</p>" for x in body))
        link = f"https://news.example.org/{name}"
        parts.append(f'<entry><title>{t}</title><id>urn:{name}</id><link href="{link}"/><updated>2024-03-12T09:30:00Z'
                     f'</updated><content type="html">{content}</content></entry>' if atom else
                     f"<item><title>{t}</title><link>{link}</link><guid>{name}</guid>"
                     f"<pubDate>Tue, 12 Mar 2024 09:{i:02d}:00 +0000</pubDate><description>{content}</description></item>")
    if atom:
        return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f'<title>Example News</title><id>urn:example</id>{"".join(parts)}</feed>')
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Example News</title>'
            f'<link>https://news.example.org/</link>{"".join(parts)}</channel></rss>')


def jsonl(items: list[tuple[str, str]]) -> str:
    lines = []
    for i, (name, text) in enumerate(items):
        title, body = _title_body(text)
        rec = {"id": name, "title": title, "url": f"https://news.example.org/{name}", "published": "2024-03-12"}
        rec["html" if i % 2 else "text"] = page(text) if i % 2 else "\n".join(body)
        lines.append(json.dumps(rec, ensure_ascii=bool(i % 3 == 0)))
    return "\n".join(lines) + "\n"


def _write(target: str, name: str, data: str) -> None:
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}-{hashlib.sha1(data.encode()).hexdigest()[:8]}").write_text(data, "utf-8")


def main() -> None:
    arts = articles()
    if OUT.exists():
        shutil.rmtree(OUT)
    for name, text in arts:
        _write("text", name, text)
        _write("extract", name, text)
    for name, text in arts[::2]:
        _write("html", name, page(text))
    for k in range(0, len(arts), 4):
        chunk = arts[k:k + 4]
        _write("jsonl", f"lines{k}", jsonl(chunk))
        _write("feed", f"feed{k}", feed(chunk, atom=k % 8 != 0))
    for target in sorted(p.name for p in OUT.iterdir()):
        files = list((OUT / target).iterdir())
        print(f"{target}: {len(files)} seeds, {sum(f.stat().st_size for f in files) // 1024} kB")


if __name__ == "__main__":
    main()
