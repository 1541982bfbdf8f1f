"""incidex: cyber-incident records from cyber-security news.

Library first: ``incidex.extract(text, published=...)`` returns the incidents of
one article; ``incidex.ingest(inputs, store)`` runs the whole pipeline into a
store opened with ``incidex.open_store(url)``.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["extract", "extract_inputs", "ingest", "open_store", "read", "clean", "__version__"]


def __getattr__(name: str):
    # Lazy: importing incidex must not load spaCy or the knowledge base.
    if name in ("extract", "extract_inputs", "ingest"):
        from . import api

        return getattr(api, name)
    if name == "open_store":
        from .store import open_store

        return open_store
    if name == "read":
        from .readers import read

        return read
    if name == "clean":
        from .cleaning import clean

        return clean
    raise AttributeError(name)
