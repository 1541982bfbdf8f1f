"""Ingest throughput and peak memory into the embedded SQLite store.

    .venv/bin/python benchmarks/ingest.py [-n 300] [--kinds text,jsonl,html] [--json]
    .venv/bin/python benchmarks/ingest.py --breakdown text      # ms/article per ingest-stage step
    .venv/bin/python benchmarks/ingest.py --profile html        # cProfile of one ingest-stage run

Runs ``incidex.api.ingest`` with a real store in a temporary directory over
three input kinds, all generated here from project-written sentence templates
filled with random names and numbers (about 600 words an article, no shared
data):

* ``text``:  N plain-text files with header lines (Title/Date/URL/Source);
* ``jsonl``: one JSONL archive with N records;
* ``html``:  N web pages (navigation, related links, footer around the story).

Each kind runs twice: with the default extractor ("full") and with a no-op
extractor that returns no incidents ("ingest stage": read, clean, dedup
signature and LSH lookup, store commit), so the ingest stage is visible apart
from extraction. Every run is a child process pinned to one core
(``os.sched_setaffinity``), so the rate is articles/s per core and the peak RSS
is that run's own. A short warm-up (3 other articles into a throw-away store)
loads lazy models and libraries before the clock starts.

Targets (ingest stage): >= 300 articles/s per core for text and JSONL, >= 50 for
HTML. With extraction the extractor dominates.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = ("text", "jsonl", "html")
TARGETS = {"text": 300, "jsonl": 300, "html": 50}

# --------------------------------------------------------------------------------------------
# Synthetic articles. Everything below is written for this benchmark: invented towns,
# companies, people and groups. ``(a|b|c)`` picks one alternative, ``{slot}`` is filled from
# the story's cast or a random value, so two articles share few word 5-grams.

_SYL_A = ["var", "quor", "bel", "tam", "ost", "kel", "mir", "dra", "fen", "lum", "sor", "hal", "brin", "cael",
          "dun", "ev", "gar", "hol", "jor", "kas", "lon", "mar", "nor", "pel", "ral", "sil", "tor", "ul", "wen", "zer"]
_SYL_B = ["en", "a", "o", "i", "ar", "el", "on", "is", "um", "et", "ia", "ow", "ue", "ir"]
_SYL_C = ["ford", "vale", "mouth", "ton", "wick", "stead", "brook", "haven", "ridge", "field", "port", "moor"]
_ORG_KIND = ["Logistics", "Health", "Medical Center", "Water Authority", "Savings Bank", "Foods", "Telecom",
             "Energy", "Freight", "University", "School District", "Insurance", "Pharmaceuticals", "Metals",
             "Credit Union", "Airport", "Port Authority", "Hotels", "Software", "Textiles"]
_SECTOR = {"Logistics": "logistics", "Health": "healthcare", "Medical Center": "healthcare",
           "Water Authority": "utilities", "Savings Bank": "finance", "Foods": "food production",
           "Telecom": "telecommunications", "Energy": "energy", "Freight": "transport", "University": "education",
           "School District": "education", "Insurance": "insurance", "Pharmaceuticals": "pharmaceuticals",
           "Metals": "manufacturing", "Credit Union": "finance", "Airport": "aviation",
           "Port Authority": "maritime", "Hotels": "hospitality", "Software": "technology",
           "Textiles": "manufacturing"}
_FIRST = ["Mara", "Tobias", "Ilse", "Renata", "Oskar", "Priya", "Dmitri", "Hana", "Lucan", "Ines", "Femi",
          "Greta", "Arjun", "Noor", "Elio", "Sunniva", "Kofi", "Mirela", "Teodor", "Yara", "Bastian", "Leona"]
_LAST = ["Quill", "Hartigan", "Vossberg", "Okafor", "Lindqvist", "Marchetti", "Brandt", "Castellan", "Nyberg",
         "Adeyemi", "Roswell", "Taverner", "Kowalczyk", "Ferreira", "Halloran", "Ivers", "Sato", "Weller"]
_GROUP_A = ["Copper", "Silent", "Ashen", "Velvet", "Hollow", "Crimson", "Glass", "Iron", "Pale", "Storm",
            "Amber", "Night", "Salt", "Frost", "Cinder", "Umber"]
_GROUP_B = ["Heron", "Mantis", "Lantern", "Jackal", "Orchid", "Spider", "Kestrel", "Viper", "Badger", "Moth",
            "Otter", "Raven", "Wolf", "Marten", "Lynx", "Pike"]
_COUNTRY = ["Norway", "Portugal", "Canada", "Kenya", "Poland", "Chile", "Australia", "Ireland", "Estonia",
            "Belgium", "Japan", "Austria", "Finland", "Brazil", "Denmark", "New Zealand"]
_ROLE = ["chief executive", "spokesperson", "chief information officer", "head of security", "board chair",
         "operations director", "general counsel", "press officer"]
_DAY = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTH = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
_ATTACK = ["ransomware attack", "data breach", "network intrusion", "cyberattack", "security incident",
           "phishing campaign", "denial-of-service attack", "data theft"]
_SYSTEM = ["billing portal", "email servers", "payroll system", "booking platform", "patient records system",
           "warehouse management software", "customer app", "file servers", "VPN gateway", "scheduling tools"]
_DATA = ["customer names and addresses", "employee tax records", "scanned passports", "bank account details",
         "medical histories", "internal emails", "contract documents", "login credentials", "student records"]
_FIRM = ["forensic firm", "incident response company", "security consultancy", "outside investigators"]

_TEMPLATES = [
    "A {attack} (disrupted|knocked out|crippled|hit) the {system} of {org} on {day}, the (company|organisation) "
    "said in a statement (posted|published|released) on its website.",
    "{org}, which (employs|has) about {n3} (staff|people|workers) in {city}, said it (noticed|detected|spotted) "
    "unusual activity on its {system} early on {day} and (shut|took) it (down|offline) as a precaution.",
    "A (criminal|ransomware|extortion) group calling itself {group} (claimed|took) responsibility for the attack "
    "on its leak site and (threatened|promised) to publish {data} within {n1} days.",
    "(Researchers|Analysts) at {firm2} said {group} has been (linked|tied) to at least {n2} attacks on "
    "{sector} (organisations|companies|providers) in {country} since {month} {year}.",
    "The (attackers|intruders|hackers) (demanded|asked for) a ransom of {money} in (bitcoin|cryptocurrency), "
    "according to (two|three|several) people (familiar with|briefed on) the (matter|investigation).",
    "{person}, the {role} of {org}, told (reporters|local media|staff) that (operations|services|deliveries) would "
    "resume (gradually|step by step|in stages) over the (coming|next) {n1} days.",
    "(About|Roughly|Nearly) {n4} {people} may have had their {data} (exposed|copied|stolen), the {org2} "
    "(estimated|said|reported) in a (filing|notice|letter) on {day}.",
    "The (company|organisation) said it had (hired|brought in|engaged) a {firm} and (informed|notified|alerted) "
    "the data protection regulator in {country} within {n2} hours.",
    "(Officials|Police|Investigators) in {city} said the (case|incident|attack) was (being handled|under "
    "investigation) by a specialised cybercrime (unit|team|squad) and (declined|refused) to comment further.",
    "{org} (stressed|insisted|said) that its {system2} runs on a (separate|segregated|different) network and was "
    "not (affected|touched|reached) by the {attack}.",
    "In {month} {year}, a (similar|comparable|related) {attack2} at {org3} in {city2} (forced|led) the "
    "(business|operator|firm) to (suspend|halt|pause) {sector} services for {n1} (days|weeks).",
    "(Customers|Clients|Residents) reported (long queues|failed payments|missed appointments|cancelled orders) "
    "on {day} as (staff|employees|workers) fell back on (paper forms|manual processes|telephone bookings).",
    "{person2}, a (security|threat|malware) researcher at {firm2}, said the (tooling|malware|techniques) used "
    "(matched|resembled|overlapped with) those seen in {n2} earlier (cases|incidents|intrusions).",
    "The {org2} (said|confirmed) it had (reset|rotated|changed) {n3} (passwords|credentials|access keys) and "
    "(added|rolled out|enabled) (two-factor|multi-factor) (login|authentication) for (all|remote) staff.",
    "(Shares|Stock) in {org} (fell|dropped|slid) {pct} per cent on {day} before (recovering|trimming losses|"
    "closing) {pctsmall} per cent (lower|down) in {city} trading.",
    "{group} (first|initially) (appeared|surfaced|emerged) in {month} {year} and (usually|typically|often) "
    "(gets in|gains access|breaks in) through (stolen|leaked|reused) (passwords|credentials) or (unpatched|"
    "outdated) {system2}.",
    "A (notice|banner|message) on the {org2} website (asked|told) (visitors|customers|users) to (expect|allow "
    "for) (delays|slower replies|limited service) until {weekday2} at the (earliest|latest).",
    "The national cyber security (centre|agency|office) of {country} (said|confirmed) it was (aware of|"
    "investigating|looking into) the {attack} and (urged|advised|encouraged) {sector} operators to review "
    "their (backups|remote access|patch levels).",
    "({org} did not|The company did not|A spokesperson for {org} did not) (say|disclose|confirm) whether it "
    "(intended to pay|had paid|would negotiate), (noting|adding|saying) only that (talks|discussions|"
    "contacts) with the (attackers|group|criminals) were (not planned|a matter for police).",
    "(Local|Regional) (lawmakers|councillors|officials) in {city} (called|asked) for a (review|inquiry|hearing) "
    "into how {n2} (contractors|suppliers|vendors) (accessed|connected to|managed) the {system}.",
    "Backups kept (offline|off-site|in a separate vault) allowed {org} to restore (about|roughly|some) {pct} "
    "per cent of its (files|systems|servers) by {weekday2}, the {role} said.",
    "({person}|{person2}) (said|added|noted) that the (cost|bill|expense) of the (recovery|clean-up|response) "
    "could (reach|exceed|top) {money}, not counting (lost sales|fines|legal fees).",
    "(Insurers|Underwriters|Brokers) in {country} said (claims|payouts|premiums) for {sector} (firms|"
    "businesses|operators) rose {pct} per cent in {year} as (attacks|intrusions|extortion cases) (grew|"
    "multiplied|spread).",
    "The {attack2} at {org3} (came|happened|followed) {n1} (weeks|months) after {group2} (listed|named|posted) "
    "{n2} (victims|organisations|companies) from {country2} on its (site|blog|channel).",
    "(Staff|Employees|Workers) at the {city} (site|office|plant) were (told|asked|instructed) to (stay home|"
    "work remotely|use personal phones) while (engineers|technicians|contractors) (rebuilt|reinstalled|"
    "checked) {n3} (laptops|computers|workstations).",
    "{org} (expects|hopes|plans) to (publish|release|share) a (fuller|more detailed|final) (account|report|"
    "update) of the incident (by|before|in) {month}, the statement said.",
]
_PEOPLE = ["customers", "patients", "employees", "students", "account holders", "passengers", "members"]


def _choice(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))]


def _place(rng: random.Random) -> str:
    return (_choice(rng, _SYL_A) + _choice(rng, _SYL_B) + _choice(rng, _SYL_C)).capitalize()


def _org(rng: random.Random) -> tuple[str, str]:
    kind = _choice(rng, _ORG_KIND)
    stem = (_choice(rng, _SYL_A) + _choice(rng, _SYL_B) + _choice(rng, _SYL_A)).capitalize()
    return f"{stem} {kind}", _SECTOR[kind]


def _person(rng: random.Random) -> str:
    return f"{_choice(rng, _FIRST)} {_choice(rng, _LAST)}"


def _group(rng: random.Random) -> str:
    return f"{_choice(rng, _GROUP_A)} {_choice(rng, _GROUP_B)}"


_ALT = re.compile(r"\(([^()]*\|[^()]*)\)")
_SLOT = re.compile(r"\{(\w+)\}")


def _fill(template: str, cast: dict[str, str], rng: random.Random) -> str:
    text = _ALT.sub(lambda m: _choice(rng, m.group(1).split("|")), template)

    def slot(m: re.Match) -> str:
        k = m.group(1)
        if k in cast:
            return cast[k]
        return {
            "n1": lambda: str(rng.randint(2, 14)),
            "n2": lambda: str(rng.randint(3, 60)),
            "n3": lambda: f"{rng.randint(120, 9800):,}",
            "n4": lambda: f"{rng.randint(2000, 950000):,}",
            "pct": lambda: str(rng.randint(3, 48)),
            "pctsmall": lambda: f"{rng.randint(1, 9)}.{rng.randint(0, 9)}",
            "money": lambda: f"${rng.randint(1, 40)}.{rng.randint(0, 9)} million",
            "day": lambda: _choice(rng, _DAY),
            "weekday2": lambda: _choice(rng, _DAY),
            "month": lambda: _choice(rng, _MONTH),
            "year": lambda: str(rng.randint(2019, 2024)),
            "attack2": lambda: _choice(rng, _ATTACK),
            "system2": lambda: _choice(rng, _SYSTEM),
            "firm": lambda: _choice(rng, _FIRM),
            "people": lambda: _choice(rng, _PEOPLE),
            "data": lambda: _choice(rng, _DATA),
            "org3": lambda: _org(rng)[0],
            "city2": lambda: _place(rng),
            "country2": lambda: _choice(rng, _COUNTRY),
            "group2": lambda: _group(rng),
        }[k]()

    return _SLOT.sub(slot, text)


def make_article(i: int, seed: int = 0) -> dict:
    """One synthetic news story of about 600 words, with its metadata."""
    rng = random.Random(seed * 1_000_003 + i)
    org, sector = _org(rng)
    cast = {
        "org": org, "org2": org, "sector": sector, "city": _place(rng), "country": _choice(rng, _COUNTRY),
        "group": _group(rng), "person": _person(rng), "person2": _person(rng), "role": _choice(rng, _ROLE),
        "attack": _choice(rng, _ATTACK[:5]), "system": _choice(rng, _SYSTEM),
        "firm2": f"{_choice(rng, _SYL_A).capitalize()}{_choice(rng, _SYL_B)} {_choice(rng, ['Labs', 'Security', 'Research', 'Intelligence'])}",
    }
    # lead sentence first, then the other templates in random order (each once, reused only if short)
    order = [rng.randrange(2)]
    order += rng.sample([i for i in range(len(_TEMPLATES)) if i not in order], len(_TEMPLATES) - 1)
    sentences, words = [], 0
    while words < 600:
        s = _fill(_TEMPLATES[order[len(sentences) % len(order)]], cast, rng)
        sentences.append(s)
        words += len(s.split())
    paras, k = [], 0
    while k < len(sentences):
        step = rng.randint(3, 5)
        paras.append(" ".join(sentences[k:k + step]))
        k += step
    y, mo, d = rng.randint(2021, 2024), rng.randint(1, 12), rng.randint(1, 28)
    slug = re.sub(r"\W+", "-", f"{org} {cast['attack']} {i}".lower()).strip("-")
    source = f"{_choice(rng, _SYL_A)}{_choice(rng, _SYL_B)}-{_choice(rng, ['gazette', 'herald', 'post', 'wire', 'times'])}.test"
    return {
        "id": f"bench-{seed}-{i}",
        "title": f"{cast['attack'].capitalize()} hits {org} in {cast['city']}",
        "published": f"{y:04d}-{mo:02d}-{d:02d}",
        "url": f"https://{source}/{y}/{mo:02d}/{slug}",
        "source": source,
        "author": _person(rng),
        "paragraphs": paras,
    }


def to_text(a: dict) -> str:
    head = f"Title: {a['title']}\nDate: {a['published']}\nURL: {a['url']}\nSource: {a['source']}\nAuthor: {a['author']}\n\n"
    return head + "\n\n".join(a["paragraphs"]) + "\n"


def to_jsonl_record(a: dict) -> str:
    return json.dumps({"id": a["id"], "title": a["title"], "published": a["published"], "url": a["url"],
                       "source": a["source"], "author": a["author"], "text": "\n\n".join(a["paragraphs"])},
                      ensure_ascii=False)


def to_html(a: dict, rng: random.Random) -> str:
    from html import escape as e

    related = "".join(f'<li><a href="/news/{rng.randint(1000, 9999)}">{e(_choice(rng, _ATTACK).capitalize())} '
                      f'reported at {e(_org(rng)[0])}</a></li>' for _ in range(6))
    nav = "".join(f'<li><a href="/{s.lower()}">{s}</a></li>' for s in ("News", "Business", "Technology", "Opinion", "Sport"))
    body = "".join(f"<p>{e(p)}</p>\n" for p in a["paragraphs"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(a['title'])} | {e(a['source'])}</title>
<meta property="og:title" content="{e(a['title'])}">
<meta property="og:site_name" content="{e(a['source'])}">
<meta property="article:published_time" content="{a['published']}T08:30:00Z">
<meta name="author" content="{e(a['author'])}">
<link rel="canonical" href="{e(a['url'])}">
<style>body{{font-family:serif}} .nav li{{display:inline}}</style>
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"page": "article"}});</script>
</head><body>
<header><div class="logo">{e(a['source'])}</div><nav class="nav"><ul>{nav}</ul></nav></header>
<main><article>
<h1>{e(a['title'])}</h1>
<div class="byline">By <span class="author">{e(a['author'])}</span> - <time datetime="{a['published']}">{a['published']}</time></div>
{body}
<div class="share">Share this story: <a href="#">Email</a> <a href="#">Print</a></div>
</article>
<aside><h2>Related stories</h2><ul>{related}</ul></aside>
</main>
<footer><p>Copyright {a['published'][:4]} {e(a['source'])}. All rights reserved.</p>
<ul><li><a href="/privacy">Privacy</a></li><li><a href="/terms">Terms</a></li></ul></footer>
</body></html>
"""


def write_inputs(kind: str, n: int, dest: Path, seed: int = 0) -> tuple[list[str], int]:
    """Write ``n`` articles of ``kind`` under ``dest``; returns (inputs for ingest, total words)."""
    dest.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + 7)
    arts = [make_article(i, seed) for i in range(n)]
    words = sum(len(" ".join(a["paragraphs"]).split()) for a in arts)
    if kind == "jsonl":
        path = dest / "archive.jsonl"
        path.write_text("".join(to_jsonl_record(a) + "\n" for a in arts), encoding="utf-8")
        return [str(path)], words
    for i, a in enumerate(arts):
        if kind == "text":
            (dest / f"{i:05d}.txt").write_text(to_text(a), encoding="utf-8")
        else:
            (dest / f"{i:05d}.html").write_text(to_html(a, rng), encoding="utf-8")
    return [str(dest)], words


# --------------------------------------------------------------------------------------------
# Measurement (in the child process)

class NoopExtractor:
    """Stands in for the extractor: no incidents, so only the ingest stage is timed."""

    def extract_article(self, article):
        from incidex.records import ExtractionResult

        return ExtractionResult(article, [])


# Steps timed by --breakdown: (module, attribute, label). Patched by name, so a step
# that moves is simply left out of the breakdown.
_STEPS = [
    ("incidex.api", "ingest_documents", "per-article pipeline after reading"),
    ("incidex.api", "clean", "clean (whole)"),
    ("incidex.cleaning", "detect_language", "  of which language id"),
    ("incidex.api", "signature", "MinHash signature"),
    ("incidex.store.sql:SqlStore", "near_duplicate_candidates_many", "LSH candidate lookups (2 a chunk)"),
    ("incidex.store.sql:SqlStore", "dedup_info", "stored-ids lookups (2 a chunk)"),
    ("incidex.api", "find_duplicate", "find_duplicate (verification)"),
    ("incidex.resolve.duplicates:ChunkCopies", "first", "copies within the chunk (pre-check)"),
    ("incidex.store.sql:SqlStore", "add_article", "add_article (insert + FTS + bands)"),
    ("incidex.api", "lsh_bands", "LSH bands"),
]


def _install_timers() -> dict[str, float]:
    import importlib

    acc: dict[str, float] = {}
    for target, name, label in _STEPS:
        mod_name, _, cls = target.partition(":")
        owner = importlib.import_module(mod_name)
        if cls:
            owner = getattr(owner, cls)
        f = getattr(owner, name, None)
        if f is None:
            continue

        def timed(*args, __f=f, __label=label, **kw):
            t = time.perf_counter()
            try:
                return __f(*args, **kw)
            finally:
                acc[__label] = acc.get(__label, 0.0) + time.perf_counter() - t

        setattr(owner, name, timed)
    return acc


def run_child(kind: str, extraction: bool, inputs: list[str], warm: list[str], profile: bool = False,
              breakdown: bool = False) -> dict:
    if hasattr(os, "sched_setaffinity"):  # Linux: one core, so the rate is per core
        os.sched_setaffinity(0, {0})
    from incidex.api import ingest
    from incidex.store import open_store

    acc = _install_timers() if breakdown else None

    if extraction:
        from incidex.extraction.pipeline import default_extractor

        ex = default_extractor()
    else:
        ex = NoopExtractor()
    with tempfile.TemporaryDirectory(prefix="incidex-bench-db-") as tmp:
        wstore = open_store(os.path.join(tmp, "warm.db"))
        ingest(warm, wstore, extractor=ex)  # loads trafilatura / spaCy / lexicons before the clock
        wstore.close()
        store = open_store(os.path.join(tmp, "bench.db"))
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        if acc is not None:
            acc.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        report = ingest(inputs, store, extractor=ex)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        if acc is not None:
            n = max(1, report.read)
            print(f"{kind}, ingest stage: {dt * 1000 / n:.2f} ms/article wall, {cpu * 1000 / n:.2f} ms CPU", file=sys.stderr)
            doc = acc.pop("per-article pipeline after reading", dt)
            rows = [("read + decode (+ HTML text extraction)", dt - doc)]
            rows += [(label, acc[label]) for _, _, label in _STEPS if label in acc]
            named = sum(v for k, v in acc.items() if not k.startswith(" "))
            rows.append(("savepoints, commit, glue", doc - named))
            for label, v in rows:
                print(f"  {label:<40} {v * 1000 / n:6.2f} ms  {v / dt:4.0%}", file=sys.stderr)
        if prof:
            prof.disable()
            import pstats

            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
            pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        stored = store.count_articles()
        store.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = report.read
    return {"kind": kind, "stage": "full" if extraction else "ingest", "articles": n, "new": report.new,
            "duplicate": report.duplicate, "failed": len(report.failed), "stored": stored,
            "incidents": report.incidents, "seconds": round(dt, 2), "cpu_seconds": round(cpu, 2),
            "articles_per_s": round(n / dt, 1), "articles_per_cpu_s": round(n / cpu, 1) if cpu else None,
            "peak_rss_mb": round(rss_mb)}


# --------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=300, help="articles per input kind (default 300)")
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of text,jsonl,html")
    ap.add_argument("--stages", default="ingest,full", help="ingest (no-op extractor), full (default extractor)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--repeat", type=int, default=1, help="run each mode N times (fresh process each), keep the fastest")
    ap.add_argument("--profile", metavar="KIND", help="cProfile one ingest-stage run of KIND (to stderr) and exit")
    ap.add_argument("--breakdown", metavar="KIND", help="time each ingest-stage step of KIND (ms/article, to stderr) and exit")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "STAGE"), help=argparse.SUPPRESS)
    ap.add_argument("--inputs", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--warm", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.child:
        kind, stage = a.child
        print(json.dumps(run_child(kind, stage == "full", a.inputs, a.warm)))
        return 0

    kinds = [k for k in a.kinds.split(",") if k]
    stages = [s for s in a.stages.split(",") if s]
    bad = [k for k in kinds if k not in KINDS] + [s for s in stages if s not in ("ingest", "full")]
    if bad:
        ap.error(f"unknown kind/stage: {', '.join(bad)}")
    root = Path(tempfile.mkdtemp(prefix="incidex-bench-"))
    try:
        one = a.profile or a.breakdown
        if one:
            if one not in KINDS:
                ap.error(f"unknown kind: {one}")
            inputs, _ = write_inputs(one, a.n, root / one, a.seed)
            warm, _ = write_inputs(one, 3, root / "warm", a.seed + 1)
            print(json.dumps(run_child(one, False, inputs, warm, profile=bool(a.profile), breakdown=bool(a.breakdown))))
            return 0
        rows = []
        words = {}
        for kind in kinds:
            inputs, words[kind] = write_inputs(kind, a.n, root / kind, a.seed)
            warm, _ = write_inputs(kind, 3, root / f"warm-{kind}", a.seed + 1)
            for stage in stages:
                cmd = [sys.executable, __file__, "--child", kind, stage, "--inputs", *inputs, "--warm", *warm]
                runs = []
                for _ in range(max(1, a.repeat)):
                    res = subprocess.run(cmd, capture_output=True, text=True)
                    if res.returncode:
                        sys.stderr.write(res.stderr)
                        return 1
                    runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
                row = min(runs, key=lambda r: r["seconds"])
                row["runs"] = len(runs)
                row["words_per_article"] = round(words[kind] / a.n)
                if stage == "ingest":
                    row["target_per_s"] = TARGETS[kind]
                rows.append(row)
                if not a.json:
                    print(f"  done {kind}/{stage}: {row['articles_per_s']} articles/s", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{a.n} articles per kind, ~{round(sum(words.values()) / (a.n * len(words)))} words each; "
          f"one core per run, best of {max(1, a.repeat)}; 'ingest' = no-op extractor")
    hdr = f"{'kind':<6} {'stage':<7} {'art/s/core':>10} {'art/CPU-s':>9} {'target':>6} {'peak RSS MB':>11} {'seconds':>8} {'new':>5} {'dup':>4} {'failed':>6}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        target = f">={r['target_per_s']}" if "target_per_s" in r else ""
        print(f"{r['kind']:<6} {r['stage']:<7} {r['articles_per_s']:>10} {r['articles_per_cpu_s']:>9} {target:>6} "
              f"{r['peak_rss_mb']:>11} {r['seconds']:>8} {r['new']:>5} {r['duplicate']:>4} {r['failed']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
