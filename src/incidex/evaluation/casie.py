"""Evaluate extraction on CASIE (cyber-event annotated news).

Definitions (also in docs/evaluation.md):

* **Incident detection** is judged per article: gold positive when the article
  has at least one Attack event (Databreach, Phishing, Ransom) of realis
  Actual; predicted positive when extraction returns at least one incident.
* **Arguments**, per role (Attacker, Victim, Time, Place, Tool, ...): gold
  spans are the distinct (span, role) arguments of every event in the article,
  as CASIE annotates them (mention level). Predicted spans are the trained
  model's argument mentions (``ExtractionResult.arguments``); with the model
  switched off, the mention offsets incident records keep as evidence
  (``attackers[i].mention``, ``victims[i].mention``, ``date.mention``,
  ``place``). A predicted span matches a gold span of the same role when the
  two overlap by at least one character (*overlap*), or when both ends agree
  within one character (*exact*; CASIE has ~3% spans off by one). Precision
  counts distinct predicted spans that match; recall counts gold spans matched.
* **Event type**: gold triggers (distinct spans with their subtype) against
  predicted triggers (``ExtractionResult.events``); a prediction is right when
  it overlaps a gold trigger of the same subtype. P/R/F1 per subtype and micro.
* **Realis accuracy**: over gold triggers overlapped by a predicted trigger,
  the share whose realis (Actual / Generic / Other) is the same.

The article body is CASIE's ``text`` as it is (no cleaning), so offsets align.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from ..extraction.mentions import SUBTYPES
from ..records import Article, ExtractionResult

# The roles reported (issue 4's list); the JSON output carries every role seen.
ROLES = ("Attacker", "Victim", "Time", "Place", "Tool", "Attack-Pattern", "Compromised-Data",
         "Number-of-Data", "Number-of-Victim", "Damage-Amount")
FIELD_ROLE = {"attackers": "Attacker", "victims": "Victim", "date": "Time", "place": "Place"}
Span = tuple[int, int]


def _prf(tp_p: int, n_p: int, tp_g: int, n_g: int) -> dict:
    p = tp_p / n_p if n_p else 0.0
    r = tp_g / n_g if n_g else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "pred": n_p, "gold": n_g}


def _match(a: Span, b: Span, kind: str) -> bool:
    if kind == "exact":
        return abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) <= 1
    return a[0] < b[1] and b[0] < a[1]


def load_casie(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def predicted_arguments(res: ExtractionResult) -> dict[str, set[Span]]:
    """Role -> spans: the model's mentions, or the incident evidence when it is off."""
    pred: dict[str, set[Span]] = defaultdict(set)
    if res.arguments:
        for a in res.arguments:
            pred[a.role].add((a.start, a.end))
        return pred
    for inc in res.incidents:
        for ev in inc.evidence:
            base = ev.field.split("[")[0].split(".")[0]
            if base in FIELD_ROLE and (ev.field.endswith(".mention") or base == "place"):
                pred[FIELD_ROLE[base]].add((ev.start, ev.end))
    return pred


def gold_arguments(doc: dict) -> dict[str, set[Span]]:
    gold: dict[str, set[Span]] = defaultdict(set)
    for e in doc.get("events", []):
        for a in e.get("arguments", []):
            gold[a["role"]].add(tuple(a["span"]))
    return gold


class _Counts:
    """tp/pred/gold tallies per key, turned into P/R/F1 at the end."""

    def __init__(self) -> None:
        self.c: dict[str, int] = defaultdict(int)

    def add(self, key: str, pred: set[Span], gold: set[Span], kind: str = "overlap") -> None:
        self.c[key + ".pred"] += len(pred)
        self.c[key + ".gold"] += len(gold)
        self.c[key + ".tp_p"] += sum(1 for x in pred if any(_match(x, y, kind) for y in gold))
        self.c[key + ".tp_g"] += sum(1 for y in gold if any(_match(x, y, kind) for x in pred))

    def prf(self, *keys: str) -> dict:
        s = lambda part: sum(self.c[k + part] for k in keys)  # noqa: E731
        return _prf(s(".tp_p"), s(".pred"), s(".tp_g"), s(".gold"))


def evaluate(docs: list[dict], extract_article: Callable[[Article], ExtractionResult],
             progress: Callable[[int], None] | None = None) -> dict:
    det = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    args = {k: _Counts() for k in ("overlap", "exact")}
    types = _Counts()
    realis_seen = realis_right = 0
    roles: set[str] = set(ROLES)
    for n, d in enumerate(docs):
        date = d.get("date", "").replace("_", "-") or None
        art = Article(id=f"casie-{d['id']}", body=d["text"], title=d.get("title"), url=d.get("url"),
                      published=date, language="en")
        res = extract_article(art)
        gold_pos = any(e.get("type") == "Attack" and e.get("realis") == "Actual" for e in d.get("events", []))
        pred_pos = bool(res.incidents)
        det["tp" if gold_pos and pred_pos else "fp" if pred_pos else "fn" if gold_pos else "tn"] += 1

        gold, pred = gold_arguments(d), predicted_arguments(res)
        roles |= set(gold) | set(pred)
        for kind, counts in args.items():
            for role in roles:
                counts.add(role, pred.get(role, set()), gold.get(role, set()), kind)

        gold_trig: dict[Span, tuple[str, str]] = {tuple(e["trigger_span"]): (e["subtype"], e["realis"])
                                                  for e in d.get("events", [])}
        for sub in SUBTYPES:
            types.add(sub, {(e.start, e.end) for e in res.events if e.subtype == sub},
                      {s for s, (g, _) in gold_trig.items() if g == sub})
        for span, (_, realis) in gold_trig.items():
            hit = next((e for e in res.events if _match((e.start, e.end), span, "overlap")), None)
            if hit is not None:
                realis_seen += 1
                realis_right += hit.realis == realis
        if progress:
            progress(n + 1)
    tp, fp, fn = det["tp"], det["fp"], det["fn"]
    ordered = list(ROLES) + sorted(roles - set(ROLES))
    result = {"articles": len(docs), "detection": _prf(tp, tp + fp, tp, tp + fn), "arguments": {}}
    for kind, counts in args.items():
        per = {role: counts.prf(role) for role in ordered}
        per["Attacker+Victim"] = counts.prf("Attacker", "Victim")
        per["all roles"] = counts.prf(*ordered)
        result["arguments"][kind] = per
    result["event_type"] = {sub: types.prf(sub) for sub in SUBTYPES}
    result["event_type"]["micro"] = types.prf(*SUBTYPES)
    result["realis"] = {"accuracy": round(realis_right / realis_seen, 4) if realis_seen else 0.0,
                        "triggers_matched": realis_seen}
    return result
