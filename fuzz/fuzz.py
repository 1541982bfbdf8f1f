"""One atheris (libFuzzer) fuzz target of incidex: ``python fuzz/fuzz.py TARGET [libFuzzer options] [CORPUS...]``.

TARGET is one of text, html, jsonl, feed, extract (see targets.py). Only
incidex's own modules are instrumented for coverage. A crash (any exception
but the documented ones) or an input slower than ``-timeout`` seconds makes
libFuzzer stop, write the input to ``-artifact_prefix`` and exit non-zero.
fuzz/run.py runs every target for a bounded time (CI does).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import atheris

logging.disable(logging.WARNING)  # "malformed feed ... reading its entries anyway" for every other input

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["incidex", "targets"]):
    import targets  # noqa: E402
    import incidex.readers  # noqa: E402,F401
    import incidex.cleaning  # noqa: E402,F401
    import incidex.extraction.pipeline  # noqa: E402,F401


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in targets.TARGETS:
        sys.exit(f"usage: fuzz.py {{{'|'.join(targets.TARGETS)}}} [libFuzzer options] [corpus dirs]")
    name = sys.argv.pop(1)
    target = targets.TARGETS[name]
    if name == "extract":
        targets.extractor()  # load the models before the clock starts

    def one_input(data: bytes) -> None:
        target(data)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
