"""Evaluate extraction on CASIE (cyber-event annotated news).

Definitions (also in docs/evaluation.md):

* **Incident detection** is judged per article: gold positive when the article
  has at least one Attack event (Databreach, Phishing, Ransom) of realis
  Actual; predicted positive when extraction returns at least one incident.
* **Arguments** (Attacker, Victim, Time, Place): gold spans are the arguments
  of the Attack events with realis Actual. Predicted spans are the mention
  offsets incidex records as evidence (``attackers[i].mention``,
  ``victims[i].mention``, ``date.mention``, ``place``). A predicted span
  matches a gold span of the same role when the two overlap by at least one
  character (*overlap*), or when both ends agree within one character
  (*exact*; CASIE has ~3% spans off by one). Precision counts distinct
  predicted spans that match; recall counts gold spans that are matched.

The article body is CASIE's ``text`` as it is (no cleaning), so offsets align.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from ..records import Article

ROLES = ("Attacker", "Victim", "Time", "Place")
FIELD_ROLE = {"attackers": "Attacker", "victims": "Victim", "date.mention": "Time", "place": "Place"}


def _role_of(field: str) -> str | None:
    if field.endswith(".mention"):
        base = field.split("[")[0]
        return FIELD_ROLE.get(base) or FIELD_ROLE.get(field)
    return FIELD_ROLE.get(field) if field in ("place",) else None


def _prf(tp_p: int, n_p: int, tp_g: int, n_g: int) -> dict:
    p = tp_p / n_p if n_p else 0.0
    r = tp_g / n_g if n_g else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "pred": n_p, "gold": n_g}


def _match(a: tuple[int, int], b: tuple[int, int], kind: str) -> bool:
    if kind == "exact":
        return abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) <= 1
    return a[0] < b[1] and b[0] < a[1]


def load_casie(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(docs: list[dict], extract_article: Callable, progress: Callable[[int], None] | None = None) -> dict:
    det = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    counts = {k: defaultdict(int) for k in ("overlap", "exact")}
    for n, d in enumerate(docs):
        date = d.get("date", "").replace("_", "-") or None
        art = Article(id=f"casie-{d['id']}", body=d["text"], title=d.get("title"), url=d.get("url"),
                      published=date, language="en")
        res = extract_article(art)
        gold_events = [e for e in d.get("events", []) if e.get("type") == "Attack" and e.get("realis") == "Actual"]
        gold_pos = bool(gold_events)
        pred_pos = bool(res.incidents)
        det["tp" if gold_pos and pred_pos else "fp" if pred_pos else "fn" if gold_pos else "tn"] += 1
        gold: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for e in gold_events:
            for a in e.get("arguments", []):
                if a["role"] in ROLES:
                    gold[a["role"]].add(tuple(a["span"]))
        pred: dict[str, set[tuple[int, int]]] = defaultdict(set)
        for inc in res.incidents:
            for ev in inc.evidence:
                role = _role_of(ev.field)
                if role:
                    pred[role].add((ev.start, ev.end))
        for kind in ("overlap", "exact"):
            c = counts[kind]
            for role in ROLES:
                g, p = gold[role], pred[role]
                c[role + ".gold"] += len(g)
                c[role + ".pred"] += len(p)
                c[role + ".tp_p"] += sum(1 for x in p if any(_match(x, y, kind) for y in g))
                c[role + ".tp_g"] += sum(1 for y in g if any(_match(x, y, kind) for x in p))
        if progress:
            progress(n + 1)
    tp, fp, fn = det["tp"], det["fp"], det["fn"]
    result = {
        "articles": len(docs),
        "detection": _prf(tp, tp + fp, tp, tp + fn),
        "arguments": {},
    }
    for kind in ("overlap", "exact"):
        c = counts[kind]
        per = {}
        for role in ROLES:
            per[role] = _prf(c[role + ".tp_p"], c[role + ".pred"], c[role + ".tp_g"], c[role + ".gold"])
        av = ("Attacker", "Victim")
        per["Attacker+Victim"] = _prf(sum(c[r + ".tp_p"] for r in av), sum(c[r + ".pred"] for r in av),
                                      sum(c[r + ".tp_g"] for r in av), sum(c[r + ".gold"] for r in av))
        result["arguments"][kind] = per
    return result
