"""Resolve stage: duplicate detection now, cross-article incident matching later.

``incidex.resolve.duplicates`` finds exact and syndicated copies of an article
(MinHash signatures + an LSH index persisted in the store).
"""
from __future__ import annotations

__all__ = ["duplicates"]
