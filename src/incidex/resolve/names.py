"""Organisation names: keys that survive rewording, and how alike two names are.

"Albanian parliament", "Parliament of Albania", "Assembly of the Republic of
Albania" and "Kuvendi" should meet; "Valemont Health" and "Valemont Health
System" should meet; "Ministry of Interior" and "Ministry of Defence" must not.
Names become token sets with countries folded to ISO codes and institution
synonyms folded to one word (``lexicons/aliases.yaml``); the *distinctive*
tokens (not generic words such as "health", "system", "ministry") decide.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

import yaml

from incidex.textfold import fold_string

STOP = {"the", "of", "and", "for", "inc", "ltd", "llc", "plc", "corp", "corporation", "co", "sa", "ag", "gmbh", "nv",
        "bv", "srl", "spa", "ab", "oy", "as", "its", "a", "an", "republic", "&", "de", "la", "el", "del", "der", "die"}


@lru_cache(maxsize=1)
def _lexicon() -> dict:
    text = resources.files("incidex.resolve").joinpath("lexicons/aliases.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@lru_cache(maxsize=1)
def _country_words() -> dict[str, str]:
    """Lower-case country names and demonyms -> ISO2, from the knowledge base."""
    from incidex.extraction.kb import load_kb

    kb = load_kb()
    out: dict[str, str] = {}
    for surface, kind, iso, _cs in kb.gazetteer_entries():
        if kind in ("country", "demonym") and " " not in surface.strip() and len(surface) > 3:
            out.setdefault(surface.lower(), iso.lower())
    return out


def _fold(s: str) -> str:
    # look-alike letters first ("Vаlemont" with a Cyrillic а), then accents go
    s = unicodedata.normalize("NFKD", fold_string(s)).encode("ascii", "ignore").decode()
    return s.lower()


def _stem(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


@lru_cache(maxsize=65536)  # resolution compares the same few names thousands of times
def tokens(name: str, country: str | None = None) -> frozenset[str]:
    """The comparable words of a name: folded, stemmed, synonyms and countries unified."""
    lex = _lexicon()
    syn = lex.get("synonyms", {})
    whole = lex.get("institutions", {})
    low = _fold(name).strip()
    if low in whole:  # "kuvendi" -> "al parliament"
        return frozenset(whole[low].split())
    words = [w for w in re.findall(r"[a-z0-9]+", low) if w not in STOP]
    cw = _country_words()
    out = set()
    for w in words:
        w = cw.get(w, w)
        w = syn.get(w, w)
        out.add(_stem(w))
    if country and out & set(lex.get("generic", [])) == out:
        out.add(country.lower())  # "telecom company" in AL vs in RS
    return frozenset(out)


@lru_cache(maxsize=1)
def generic_words() -> frozenset[str]:
    return frozenset(_lexicon().get("generic", [])) | frozenset(_country_words().values())


def distinctive(toks: frozenset[str]) -> frozenset[str]:
    return toks - generic_words()


def key(name: str, country: str | None = None) -> str:
    """A stable key for an organisation name (sorted tokens)."""
    return " ".join(sorted(tokens(name, country)))


@lru_cache(maxsize=65536)
def similarity(a: str, b: str, country_a: str | None = None, country_b: str | None = None) -> float:
    """0..1: shared distinctive words decide; generic-only names need the same words."""
    ta, tb = tokens(a, country_a), tokens(b, country_b)
    if not ta or not tb:
        return 0.0
    if ta == tb:
        return 1.0
    da, db = distinctive(ta), distinctive(tb)
    if da and db:
        shared = da & db
        if not shared:
            return 0.0
        return len(shared) / min(len(da), len(db))
    if da or db:
        return 0.0  # a named organisation vs a generic description
    return len(ta & tb) / len(ta | tb)
