"""Audit every regular expression of incidex for super-linear time on adversarial text.

Collects the patterns: module-level compiled patterns, the ones built at run
time (cue lexicon, IOC lexicon, cleaning rules, KB sector matcher) and literal
patterns passed to ``re.search`` & co. in the source. Each runs the way it is
used (``fullmatch`` for the line rules of the cleaner, ``match``/``fullmatch``
where its module only ever anchors it, else ``finditer``, the worst case) on
adversarial strings of growing length: runs of one character, of two, of
words, of the words the pattern itself holds, and near misses cut from its own
matches in sample text (a match's prefix repeated, a prefix followed by one
character repeated).

* exponential: 12 to 30 characters of an input are tried first; when each 6
  more characters multiply the time by over 4, twice in a row, the pattern
  backtracks exponentially (and no longer input is tried);
* polynomial: a linear pattern takes ~10x longer on 10x the text, a quadratic
  one ~100x. Flagged when the growth between the two longest inputs, scaled to
  a factor of 10, is over ``--ratio`` (default 60; noise on a busy machine
  reaches ~40) and the longest run takes over 50 ms. A size whose run would
  take minutes if the growth were quadratic is not run.

Each time is the best of three runs.

    python scripts/regex_audit.py                # audit, print flagged patterns
    python scripts/regex_audit.py --only trailer --json out.json

Findings, and why each flagged pattern is safe where it is used (bounded
input), are in docs/reliability.md.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import json
import math
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "incidex"
sys.path.insert(0, str(ROOT / "src"))

_RE_FUNCS = {"search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split", "compile"}
CHARS = list("aA1 .-<[(\"“@:/\t,_'’!#%&*+=?|\\>)]") + ["\u200b", "é", "\u00a0"]
PAIRS = ["a ", "a.", "A ", "1.", "a-", "1,", ". ", "a:", "[.]", "<a", "A.", "1 ", "a@", "a/", "(a", "a'", "aA",
         "A a", "Aa ", "a, ", "by ", "“a", "a\u200b"]
WORDS = ["the ", "and ", "of ", "ransomware ", "Hackers ", "January ", "said ", "version ", "CVE-", "http://",
         "hxxp[:]//", "0x", "deadbeef", "www.", "a.b.", "1.2.", "John Smith ", "By John ", "http://a.b/"]


# ----------------------------------------------------------------------------- collecting

def _patterns_in(obj, where: str, out: dict) -> None:
    if isinstance(obj, re.Pattern):
        out.setdefault((obj.pattern, obj.flags), (obj, where, None))
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, x in enumerate(obj):
            _patterns_in(x, f"{where}[{i}]", out)
    elif isinstance(obj, dict):
        for k, x in obj.items():
            _patterns_in(x, f"{where}[{k!r}]", out)


def collect() -> dict:
    """(pattern, flags) -> (compiled, where it comes from, usage)."""
    found: dict = {}
    # every module file (extraction/ is a namespace package: pkgutil would not list its modules)
    names = sorted(".".join(p.relative_to(SRC.parent).with_suffix("").parts) for p in SRC.rglob("*.py"))
    for name in names:
        name = name.removesuffix(".__init__")
        if name.endswith("__main__") or ".migrations." in name:
            continue
        try:
            m = importlib.import_module(name)
        except Exception as exc:  # an optional part that does not import here
            print(f"skip {name}: {exc}", file=sys.stderr)
            continue
        source = Path(m.__file__).read_text("utf-8") if getattr(m, "__file__", None) else ""
        for name, val in vars(m).items():
            if isinstance(val, re.Pattern) and (val.pattern, val.flags) not in found:
                found[(val.pattern, val.flags)] = (val, f"{m.__name__}.{name}", _usage(source, name))
                continue
            _patterns_in(val, f"{m.__name__}.{name}", found)
            if isinstance(val, type) and val.__module__ == m.__name__:
                for cname, cval in vars(val).items():
                    _patterns_in(cval, f"{m.__name__}.{name}.{cname}", found)
    # patterns built at run time from the lexicons
    from incidex.cleaning.rules import load_rules
    from incidex.extraction import iocs
    from incidex.extraction.cues import load_cues
    from incidex.extraction.kb import load_kb

    rules = load_rules()
    for field in ("footers", "boilerplate", "byline", "dateline", "bio_start", "bio_continuation",
                  "related_headings", "related_inline"):
        _patterns_in(getattr(rules, field), f"cleaning/rules.toml:{field}", found)
    for cat, (pat, _names) in load_cues()._compiled.items():
        _patterns_in(pat, f"lexicons/cues.yaml:{cat}", found)
    lex = iocs._lexicon()
    for attr in ("context_re", "version_before", "version_after", "attribution"):
        _patterns_in(getattr(lex, attr), f"lexicons/iocs.yaml:{attr}", found)
    kb = load_kb()
    kb.sector("telecom company")
    _patterns_in(kb._sector_re, "kb.sector", found)
    # literal patterns in calls such as re.search(r"...", text)
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _RE_FUNCS
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, (str, bytes))):
                flags = 0
                for kw in node.keywords:
                    if kw.arg == "flags":
                        flags = -1
                if len(node.args) > 2 and node.func.attr not in ("sub", "subn", "split"):
                    flags = -1
                try:
                    pat = re.compile(node.args[0].value) if flags != -1 else None
                except re.error:
                    pat = None
                if pat is not None:
                    how = {"match": ["match"], "fullmatch": ["fullmatch"]}.get(node.func.attr)
                    found.setdefault((pat.pattern, pat.flags), (pat, f"{path.relative_to(ROOT)}:{node.lineno}", how))
    return found


def _usage(source: str, name: str) -> list[str] | None:
    """How a module-level pattern is used in its module: ["match"], ["fullmatch"], or None
    (searched: finditer, the worst case)."""
    methods = set(re.findall(rf"\b{re.escape(name)}\.(\w+)\(", source))
    if methods and methods <= {"match", "fullmatch"}:
        return sorted(methods)
    return None


# ----------------------------------------------------------------------------- inputs

def _words_of(pattern) -> list[str]:
    src = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    words = re.findall(r"(?<!\\)[A-Za-z]{2,}", src)
    return sorted(set(words), key=lambda w: (-len(w), w))[:6]


def _prefix_of(pattern) -> str:
    src = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    m = re.match(r"(?:\(\?[a-zA-Z]+\)|\^|\\b|\(\?:|\(\?<[!=][^)]*\))*([A-Za-z][A-Za-z ]*)", src)
    return m.group(1) if m else ""


# Text the patterns are written for: each match found here is cut into near misses.
MARKUP = ["[the report](https://example.org/a_(b) \"t\") and **bold**, _em_, `code` and > quote",
          "<p class='x'>A <a href='https://x.org'>link</a></p><div><br/></div>", "<!DOCTYPE rss [<!ENTITY a 'b'>]>",
          "By Jane Roe, Senior Reporter | March 5, 2024", "Published on March 5, 2024 at 10:30 a.m. EST",
          "This article was originally published on example-news.com. Publication date: Tue, 12 Mar 2024",
          "Jane Roe is a reporter at Example News. She covers security for the paper.",
          "IOCs: 45.155.205[.]233, hxxps://evil[.]example/x?a=b, a[@]b[.]com, CVE-2024-1234, "
          "d41d8cd98f00b204e9800998ecf8427e, 2001:db8::1, invoice.pdf.exe, bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
          "The LockBit 3.0 ransomware gang, which U.S. officials linked to Russia, claimed $4.5 million on Monday."]


def _samples() -> list[str]:
    texts = list(MARKUP)
    for p in sorted((ROOT / "examples" / "articles").glob("*.txt")):
        texts.append(p.read_text("utf-8")[:4000])
    return texts


def _near_misses(pattern) -> list[tuple[str, str]]:
    """Units cut from the pattern's own matches in the sample text: a match's prefix
    repeated, a prefix followed by its next character repeated, the match without
    its last character repeated."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for text in _samples():
        hay = text.encode("utf-8") if isinstance(pattern.pattern, bytes) else text
        for m in pattern.finditer(hay):
            g = m.group(0)
            g = g.decode("utf-8", "replace") if isinstance(g, bytes) else g
            if len(g) < 2 or g in seen:
                continue
            seen.add(g)
            for k in sorted({1, 2, len(g) // 2, len(g) - 1}):
                if 0 < k < len(g):
                    out += [(f"near {g[:k]!r}*", g[:k]), (f"near {g[:k]!r}+{g[k]!r}*", (g[:k], g[k])),
                            (f"near {g[:k]!r}+' '", g[:k] + " ")]
            if len(seen) >= 4:
                return out
    return out


def inputs(pattern) -> list[tuple[str, str]]:
    """(label, unit) pairs: each unit is repeated to the wanted length."""
    units = [(f"char {c!r}", c) for c in CHARS] + [(f"pair {p!r}", p) for p in PAIRS]
    units += [(f"word {w!r}", w) for w in WORDS]
    for w in _words_of(pattern):
        units += [(f"own {w!r}", w + " "), (f"own {w!r} glued", w), (f"own {w!r} title", w.title() + " ")]
    pre = _prefix_of(pattern)
    if pre:
        units.append((f"prefix {pre!r}", pre + " "))
    return units + _near_misses(pattern)


def _make(unit: str | tuple[str, str], n: int, as_bytes: bool):
    """``unit`` repeated to ``n`` characters; a (head, char) pair is the head then the char repeated."""
    if isinstance(unit, tuple):
        s = (unit[0] + unit[1] * n)[:n]
    else:
        s = (unit * (n // max(1, len(unit)) + 1))[:n]
    return s.encode("utf-8", "surrogatepass") if as_bytes else s


def _exponential(pat, unit, how: str, as_bytes: bool) -> list[float] | None:
    """Times on 12..30 characters when each 6 more multiply the time by over 8 (backtracking
    that doubles with each character), else None. Run before any long input, which would never end."""
    times = []
    for n in (12, 18, 24, 30):
        times.append(_run(pat, _make(unit, n, as_bytes), how))
        if times[-1] > 0.5:
            break
    if (len(times) >= 3 and times[-1] > 0.005
            and all(b > 4 * max(a, 1e-6) for a, b in zip(times[-3:], times[-2:]))):
        return times  # two steps in a row, each more than 4x: backtracking that doubles per character
    return None


def _once(pat, text, how: str) -> float:
    t = time.perf_counter()
    if how == "fullmatch":
        pat.fullmatch(text)
    elif how == "match":
        pat.match(text)
    else:
        for _ in pat.finditer(text):
            pass
    return time.perf_counter() - t


def _run(pat, text, how: str) -> float:
    """The best of three runs (one when a run takes over half a second): the other
    processes of a shared machine only ever add time."""
    best = _once(pat, text, how)
    for _ in range(2):
        if best > 0.5:
            break
        best = min(best, _once(pat, text, how))
    return best


# ----------------------------------------------------------------------------- audit

def audit(sizes: list[int], ratio: float, min_seconds: float, only: str | None = None) -> list[dict]:
    flagged = []
    pats = collect()
    print(f"{len(pats)} distinct patterns", file=sys.stderr)
    t0 = time.time()
    for k, ((src, flags), (pat, where, usage)) in enumerate(sorted(pats.items(), key=lambda x: x[1][1])):
        if only and only not in where:
            continue
        as_bytes = isinstance(src, bytes)
        # the cleaning rules are only ever matched whole against one line (rules.toml)
        hows = ["fullmatch"] if where.startswith("cleaning/rules.toml") else (usage or ["finditer"])
        worst = None
        for label, unit in inputs(pat):
            for how in hows:
                exp = _exponential(pat, unit, how, as_bytes)
                if exp is not None:
                    worst = {"where": where, "pattern": src if isinstance(src, str) else src.decode("latin-1"),
                             "input": label, "usage": how, "sizes": [12, 18, 24, 30][:len(exp)],
                             "seconds": [round(x, 4) for x in exp], "growth": float("inf"), "kind": "exponential"}
                    break
                times: list[float] = []
                for k, n in enumerate(sizes):
                    if times and times[-1] * (n / sizes[k - 1]) ** 2 > 20:
                        break  # quadratic growth would take minutes: what was measured tells enough
                    times.append(_run(pat, _make(unit, n, as_bytes), how))
                # growth between the two longest inputs measured, scaled to a factor of 10 in size
                # (the shorter ones are dominated by fixed costs)
                growth = ((times[-1] / times[-2]) ** (1 / math.log10(sizes[len(times) - 1] / sizes[len(times) - 2]))
                          if len(times) > 1 and times[-2] > 2e-4 else 0.0)
                slow = times[-1] > min_seconds and growth > ratio
                if slow and (worst is None or growth > worst["growth"]):
                    worst = {"where": where, "pattern": src if isinstance(src, str) else src.decode("latin-1"),
                             "input": label, "usage": how, "sizes": sizes[:len(times)],
                             "seconds": [round(x, 4) for x in times], "growth": round(growth, 1),
                             "kind": "polynomial"}
            if worst is not None and worst["kind"] == "exponential":
                break
        if worst:
            flagged.append(worst)
            print(f"FLAG {worst['kind']} {worst['where']} {worst['usage']} on {worst['input']}: {worst['seconds']} s "
                  f"(x{worst['growth']})", file=sys.stderr)
        if k % 25 == 0:
            print(f"... {k}/{len(pats)} patterns, {time.time() - t0:.0f} s", file=sys.stderr)
    return flagged


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--ratio", type=float, default=60.0, help="flag growth above this for 10x input")
    ap.add_argument("--min-seconds", type=float, default=0.05, help="ignore runs faster than this")
    ap.add_argument("--only", help="audit only patterns whose origin contains this text")
    ap.add_argument("--json", type=Path, help="write the flagged patterns here")
    args = ap.parse_args()
    flagged = audit(args.sizes, args.ratio, args.min_seconds, args.only)
    n = len(collect())
    print(f"\n{n} patterns audited on sizes {args.sizes}; {len(flagged)} flagged")
    for f in flagged:
        print(f"- {f['kind']} {f['where']} ({f['usage']}, {f['input']}): sizes {f['sizes']}, {f['seconds']} s, "
              f"x{f['growth']}\n    {f['pattern'][:160]}")
    if args.json:
        args.json.write_text(json.dumps({"sizes": args.sizes, "patterns": n, "flagged": flagged}, indent=1))
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
