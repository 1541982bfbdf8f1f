"""Every input a fuzzer (fuzz/fuzz.py) crashed or hung on, replayed through its target.

The files in tests/data/fuzz are the fuzzers' own artifacts, named
``<target>-<what it broke>.bin``; docs/reliability.md says what each broke and
how it was fixed. A new one is added with its fix.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

import targets  # noqa: E402

CASES = sorted((Path(__file__).parent / "data" / "fuzz").glob("*.bin"))


def test_there_are_cases():
    assert CASES


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fuzzer_finding_stays_fixed(path):
    target = path.name.split("-", 1)[0]
    targets.TARGETS[target](path.read_bytes())
