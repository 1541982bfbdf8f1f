"""Duplicate detection: exact copies by id, syndicated copies by MinHash + LSH.

The same story is routinely republished by several outlets with a new intro
line, a different byline or an "originally appeared on ..." footer. Such a copy
has a different article id (the id hashes the whole normalized body) but almost
all of its word 5-grams are shared with the first copy, so we compare sets of
shingles rather than whole texts.

How it works, and why these numbers (all in ``settings.toml`` ``[dedup]``):

* ``signature(body)``: a datasketch ("affine32") MinHash with ``num_perm`` (128)
  permutations over ``shingle_words`` (5) word shingles of the lowercased
  words of the body, computed here in one numpy step with the same values.
  Seeded and hashed with CRC-32, so the same body gives the same signature in
  every process; the store keeps it with the article.
* ``bands(signature)``: LSH banding. The signature is cut into ``b`` bands of
  ``r`` rows with datasketch's optimal ``(b, r)`` for ``lsh_threshold`` (0.5)
  and ``num_perm`` -- (25, 5) for 128 permutations -- and each band is hashed
  (blake2b) to a non-negative 63-bit integer. The store indexes
  ``(band, hash)``, so finding candidates is an indexed lookup that survives
  restarts instead of an in-memory all-pairs comparison.
* ``find_duplicate``: two articles sharing any band are only *candidates*;
  each is verified by the estimated Jaccard similarity of the two signatures
  (the fraction of equal MinHash values) which must reach
  ``jaccard_duplicate`` (0.7).

Why a low LSH threshold plus a verification step: measured on a synthetic
corpus with planted near-duplicates (shared/MEASUREMENTS.md), threshold 0.5
plus a Jaccard check found every planted pair with no false positive, while an
LSH threshold of 0.8 on its own missed 39% of them (a new intro and footer on a
short article already pull the Jaccard well below 0.8). The low threshold buys
recall; the 0.7 check removes the extra candidates it lets through.
See ``docs/duplicates.md``.
"""
from __future__ import annotations

import hashlib
import math
import operator
import re
import struct
import zlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Sequence

from datasketch import MinHash

from incidex.settings import load_settings

if TYPE_CHECKING:  # pragma: no cover
    from incidex.records import Article
    from incidex.store.base import Store

__all__ = ["signature", "bands", "lsh_params", "jaccard", "find_duplicate", "params_fingerprint",
           "ChunkCandidates", "ChunkCopies"]

_WORD = re.compile(r"\w+", re.UNICODE)
# MinHash scheme pinned so signatures stored today stay comparable when
# datasketch changes its default (2.0 introduced "affine32" as the default).
_SCHEME = "affine32"
_SEED = 1


def _dedup(settings: dict[str, Any] | None) -> dict[str, Any]:
    return (settings or load_settings())["dedup"]


def _words(body: str) -> list[str]:
    return _WORD.findall(body.casefold())


def _shingles(body: str, size: int) -> list[bytes]:
    words = _words(body)
    if not words:
        return []
    if len(words) <= size:
        return [" ".join(words).encode("utf-8")]
    return [" ".join(words[i:i + size]).encode("utf-8") for i in range(len(words) - size + 1)]


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> Any:
    """The seeded permutation parameters, made once: generating them took longer than hashing an article."""
    try:
        return MinHash(num_perm=num_perm, seed=_SEED, scheme=_SCHEME).permutations
    except TypeError:  # datasketch < 2.0: no scheme parameter, let it generate them
        return None


def _crc32(data: bytes) -> int:
    """The shingle hash: zlib's CRC-32 is stable across processes and ~5x faster
    than datasketch's default SHA-1 (MinHash signature 1.4 ms -> 0.5 ms an
    article, benchmarks/ingest.py --breakdown); MinHash's permutations supply
    the independence, the base hash only has to spread shingles over 32 bits."""
    return zlib.crc32(data)


def _minhash(num_perm: int, hashvalues: Sequence[int] | None = None) -> MinHash:
    kwargs: dict[str, Any] = {"num_perm": num_perm, "seed": _SEED, "hashfunc": _crc32}
    if hashvalues is not None:
        kwargs["hashvalues"] = list(hashvalues)
    perms = _permutations(num_perm)
    if perms is not None:
        return MinHash(scheme=_SCHEME, permutations=perms, **kwargs)
    try:
        return MinHash(scheme=_SCHEME, **kwargs)
    except TypeError:  # datasketch < 2.0 has a single scheme and no parameter
        return MinHash(**kwargs)


def signature(body: str, settings: dict[str, Any] | None = None) -> list[int]:
    """The MinHash signature of ``body``: ``num_perm`` ints, equal across processes.

    Words are lowercased ``\\w+`` runs, so punctuation, case and whitespace
    changes made by different publishers do not change the signature.
    """
    cfg = _dedup(settings)
    num_perm, size = int(cfg["num_perm"]), int(cfg["shingle_words"])
    perms = _permutations(num_perm)
    if perms is not None and _SCHEME == "affine32":
        return _affine32_signature(_shingle_hashes(body, size), perms)
    m = _minhash(num_perm)
    shingles = _shingles(body, size)
    if shingles:
        m.update_batch(shingles)
    return [int(v) for v in m.hashvalues]


_WORD_ASCII = re.compile(rb"\w+")


def _shingle_hashes(body: str, size: int) -> Any:
    """CRC-32 of every shingle of ``_shingles(body, size)``, as a uint32 array.

    The same bytes as ``_shingles`` hashes, built without a Python loop: the
    words as UTF-8 bytes (an ASCII body is matched as bytes directly, where
    ``\\w`` means the same), then shingles joined from shifted word lists.
    """
    import numpy as np

    if body.isascii():
        words = _WORD_ASCII.findall(body.lower().encode("ascii"))
    else:
        words = " ".join(_words(body)).encode("utf-8").split(b" ")
        if words == [b""]:
            words = []
    if len(words) <= size:
        shingles: Any = [b" ".join(words)] if words else []
    else:
        shingles = map(b" ".join, zip(*(words[i:] for i in range(size))))
    return np.fromiter(map(zlib.crc32, shingles), dtype=np.uint32)


def _affine32_signature(hv: Any, perms: Any) -> list[int]:
    """datasketch's "affine32" MinHash of the hashes ``hv`` (``MinHash.update_batch``),
    computed in one matrix step: murmur3's finalizer, then ``a * h + b`` mod 2^32
    per permutation, minimum per permutation (2^32 - 1 when there is nothing)."""
    import numpy as np

    a, b = perms
    if not len(hv):
        return [0xFFFFFFFF] * len(a)
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    hv = hv ^ (hv >> np.uint32(16))
    return (hv[:, None] * a + b).min(axis=0).tolist()


def _fp(threshold: float, b: int, r: int) -> float:
    return _integrate(lambda s: 1 - (1 - s ** r) ** b, 0.0, threshold)


def _fn(threshold: float, b: int, r: int) -> float:
    return _integrate(lambda s: 1 - (1 - (1 - s ** r) ** b), threshold, 1.0)


def _integrate(f: Any, a: float, b: float, n: int = 200) -> float:
    h = (b - a) / n
    return h * (f(a) / 2 + f(b) / 2 + sum(f(a + i * h) for i in range(1, n)))


@lru_cache(maxsize=16)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands ``b`` and rows ``r``, the same choice datasketch's MinHashLSH makes.

    Uses datasketch's own optimiser when present (equal false positive and
    false negative weights) so our persisted index behaves like the measured
    in-memory ``MinHashLSH(threshold=0.5)``.
    """
    try:
        from datasketch.lsh import _optimal_param
    except ImportError:  # pragma: no cover - private helper moved
        best, opt = math.inf, (1, 1)
        for b in range(1, num_perm + 1):
            for r in range(1, num_perm // b + 1):
                err = 0.5 * _fp(threshold, b, r) + 0.5 * _fn(threshold, b, r)
                if err < best:
                    best, opt = err, (b, r)
        return opt
    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


def _params(settings: dict[str, Any] | None) -> tuple[int, int]:
    cfg = _dedup(settings)
    return lsh_params(float(cfg["lsh_threshold"]), int(cfg["num_perm"]))


def params_fingerprint(settings: dict[str, Any] | None = None) -> str:
    """A string that changes whenever stored signatures or bands would change.

    The store keeps it, so a change of ``[dedup]`` settings can be detected and
    the persisted signatures and bands rebuilt instead of silently mismatching.
    """
    cfg = _dedup(settings)
    b, r = _params(settings)
    scheme = getattr(_minhash(1), "scheme", "legacy")  # "legacy" on datasketch < 2.0
    return f"minhash:{scheme}:crc32:seed{_SEED}:perm{int(cfg['num_perm'])}:w{int(cfg['shingle_words'])}:lsh{b}x{r}"


def bands(sig: Sequence[int], settings: dict[str, Any] | None = None) -> list[tuple[int, int]]:
    """``(band index, 63-bit hash)`` pairs for the LSH index of one signature.

    Two signatures that agree on all ``r`` rows of some band get the same pair
    for that band. blake2b keeps the hash stable across processes and
    platforms (Python's ``hash`` is salted); 63 bits fit a signed BIGINT.
    """
    b, r = _params(settings)
    if len(sig) < b * r:
        raise ValueError(f"signature has {len(sig)} values, LSH needs {b * r}")
    # cached: ingest asks for the bands of one signature twice (lookup, then store)
    return list(_band_hashes(tuple(map(int, sig[:b * r])), b, r))


@lru_cache(maxsize=64)
def _band_hashes(sig: tuple[int, ...], b: int, r: int) -> tuple[tuple[int, int], ...]:
    out = []
    for i in range(b):
        chunk = struct.pack(f"<{r}Q", *sig[i * r:(i + 1) * r])
        digest = hashlib.blake2b(chunk, digest_size=8, person=b"incidex-lsh", salt=struct.pack("<Q", i)).digest()
        out.append((i, int.from_bytes(digest, "big") >> 1))
    return tuple(out)


def jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures: the share of equal values."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(map(operator.eq, a, b)) / len(a)


def find_duplicate(article: "Article", store: "Store", settings: dict[str, Any] | None = None,
                   *, check_exact: bool = True, candidates: list[str] | None = None) -> str | None:
    """Id of the first stored copy of ``article``, or None if it is new.

    * Same id already stored: that article (or, if it is itself a copy, the
      article it copies).
    * Otherwise LSH candidates from the store, each verified by estimated
      Jaccard >= ``jaccard_duplicate``; the best match wins and is followed
      along ``duplicate_of`` to the original, so every copy points at the
      first stored article of its story, never at another copy.

    ``candidates``: the LSH candidates when already known (``ChunkCandidates``),
    exactly what ``store.near_duplicate_candidates`` would answer now.
    """
    if check_exact and store.has_article(article.id):
        return _root(store, article.id)
    cfg = _dedup(settings)
    sig = article.signature or signature(article.body, settings)
    if candidates is None:
        candidates = store.near_duplicate_candidates(bands(sig, settings))
    if not candidates:
        return None
    info = store.dedup_info(candidates)
    threshold = float(cfg["jaccard_duplicate"])
    best_id, best_score = None, -1.0
    for cid in candidates:  # ordered: earliest stored first, so ties keep the oldest
        stored_sig, _ = info.get(cid, (None, None))
        if stored_sig is None:
            continue
        score = jaccard(sig, stored_sig)
        if score >= threshold and score > best_score:
            best_id, best_score = cid, score
    return _root(store, best_id) if best_id else None


class ChunkCandidates:
    """LSH candidates for articles checked one after another, from one store lookup.

    ``candidates(k)`` is what ``store.near_duplicate_candidates`` answers for
    the ``k``-th signature at the moment it is asked, as long as every article
    stored since the lookup is reported with ``stored(k, id)``: the store's
    candidates at lookup time, merged with the articles stored since that
    share a band (newer than every stored one, so after them among equal
    counts, in the order they were stored). ``commit_prepared`` makes the
    lookup inside its transaction, after taking the write lock, so nothing
    else is stored meanwhile; ``prepare`` uses it without ``stored``, as a
    pre-check. One query per chunk instead of one per article.
    """

    def __init__(self, store: "Store", signatures: Sequence[Sequence[int] | None],
                 settings: dict[str, Any] | None = None):
        self._bands = [frozenset(bands(sig, settings)) if sig else frozenset() for sig in signatures]
        asked = [k for k, sig in enumerate(signatures) if sig]
        found = store.near_duplicate_candidates_many([self._bands[k] for k in asked]) if asked else []
        self._found = dict(zip(asked, found))
        self._since: list[tuple[str, frozenset]] = []  # (id, bands) of the articles stored since the lookup
        self._limit = int(_dedup(settings).get("max_candidates", 100))

    def candidates(self, k: int) -> list[str]:
        mine = self._bands[k]
        found = self._found.get(k, [])
        if self._since:
            since = [(aid, len(mine & other)) for aid, other in self._since]
            # a stable sort keeps the store's order and puts the newer articles after equal counts
            found = sorted(found + [hit for hit in since if hit[1]], key=lambda hit: -hit[1])[:self._limit]
        return [aid for aid, _ in found]

    def stored(self, k: int, article_id: str) -> None:
        """The ``k``-th article was stored (committed in the transaction of the lookup)."""
        self._since.append((article_id, self._bands[k]))


class ChunkCopies:
    """Copies within a batch: ``first(k)`` is the first earlier signature, among
    those marked with ``keep``, that ``is_near_duplicate`` pairs with the
    ``k``-th -- the same answer as asking pair by pair, from one comparison of
    the signature with all earlier ones at once."""

    def __init__(self, signatures: Sequence[Sequence[int] | None], settings: dict[str, Any] | None = None):
        import numpy as np

        self._sigs = list(signatures)
        self._settings = settings
        self._threshold = float(_dedup(settings)["jaccard_duplicate"])
        widths = {len(sig) if sig else 0 for sig in self._sigs}
        # one width and no empty signature: a matrix (otherwise pair by pair, as is_near_duplicate)
        self._matrix = (np.array(self._sigs, dtype=np.uint64) if self._sigs and len(widths) == 1 and 0 not in widths
                        else None)
        self._kept: list[int] = []

    def keep(self, k: int) -> None:
        self._kept.append(k)

    def first(self, k: int) -> int | None:
        earlier = [j for j in self._kept if j < k]
        if not earlier:
            return None
        if self._matrix is None:
            return next((j for j in earlier if is_near_duplicate(self._sigs[k], self._sigs[j], self._settings)), None)
        equal = (self._matrix[earlier] == self._matrix[k]).sum(axis=1).tolist()
        width = self._matrix.shape[1]
        return next((j for j, same in zip(earlier, equal) if same / width >= self._threshold), None)


def is_near_duplicate(a: list[int] | None, b: list[int] | None, settings: dict[str, Any] | None = None) -> bool:
    """Two signatures estimated at or above the duplicate threshold."""
    if not a or not b:
        return False
    return jaccard(a, b) >= float(_dedup(settings)["jaccard_duplicate"])


def _root(store: "Store", article_id: str) -> str:
    seen = {article_id}
    current = article_id
    while True:
        _, parent = store.dedup_info([current]).get(current, (None, None))
        if not parent or parent in seen:
            return current
        seen.add(parent)
        current = parent
