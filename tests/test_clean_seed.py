"""Acceptance: the seed fixtures in ../shared/fixtures/seed, read at run time.

For every ``*.txt`` with a ``*.gold.json``: the cleaned article has the gold
source, author and publication date, none of the gold ``not_body`` lines
survive in the body, and every other line of the input does.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from incidex.readers import read_articles
from incidex.records import Article

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "fixtures" / "seed"

pytestmark = pytest.mark.skipif(not SEED.is_dir(), reason=f"seed fixtures not found at {SEED} (../shared is absent)")


def _cases():
    if not SEED.is_dir():
        return []
    return sorted(p for p in SEED.glob("*.txt") if p.with_name(p.name[:-4] + ".gold.json").exists())


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.name)
def test_seed_article(path: Path):
    gold = json.loads(path.with_name(path.name[:-4] + ".gold.json").read_text("utf-8"))
    (art,) = list(read_articles([str(path)]))
    assert isinstance(art, Article), art
    if "source" in gold:
        assert art.source == gold["source"]
    if "author" in gold:
        assert art.author == gold["author"]
    if gold.get("published"):
        assert art.published and art.published.startswith(gold["published"])
        assert "T" not in art.published or art.published[-6] in "+-" or art.published.endswith("Z")

    not_body = gold.get("not_body", [])
    body_lines = [x for x in art.body.split("\n") if x.strip()]
    for junk in not_body:
        assert not any(junk in line for line in body_lines), f"not_body line survived: {junk!r}"
    for line in path.read_text("utf-8").split("\n"):
        line = line.strip()
        if line and not any(junk in line for junk in not_body):
            assert line in body_lines, f"news line was dropped: {line!r}"


def test_seed_000_exact_metadata():
    path = SEED / "000_5eeeb7d2d1c4546a.txt"
    if not path.exists():
        pytest.skip(f"{path} not present")
    (art,) = list(read_articles([str(path)]))
    assert art.source == "therecord.media"
    assert art.published == "2023-12-27T18:15:22+00:00"
    assert art.author == "Daryna Antoniuk"
    assert art.language == "en"
