"""Shared test fixtures: paths to ../shared and the repo's example corpus."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples" / "articles"
GOLD = ROOT / "tests" / "gold"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the repository (CI always has it)")
    return SHARED


@pytest.fixture(scope="session")
def extractor():
    from incidex.extraction.pipeline import default_extractor

    return default_extractor()
