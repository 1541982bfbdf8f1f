"""Incident-level quality against hand-coded gold, by the definitions of the project's scorer.

The gold format and the figures are those of ``shared/tools/score_incidents.py`` (coding manual:
``shared/data/casie/INCIDENT_CODING.md``), reimplemented here so that ``incidex eval incidents``
needs nothing beside the package; ``tests/test_eval_incidents.py`` checks that both give the same
figures. Headline: slot F1, a micro F1 over every fact slot of every incident (victim names,
countries, sectors, attackers, attack types, date, outcome, attribution, response kinds, impact
numbers); slots of an unmatched incident count against it. Incidents are paired greedily by a
weighted overlap (victims 2, attackers 1.5, date 1, types 0.25; at least 1.5 to pair).
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

SLOTS = ("victim", "victim_country", "victim_sector", "attacker", "attack_type", "date", "outcome",
         "attribution", "response", "impact")
COUNT_KEYS = ("people_affected", "records_affected", "ransom_usd")
_STOP = {"the", "a", "an", "of", "and", "in", "for", "on", "at", "to", "s", "its", "company", "group", "inc",
         "ltd", "llc", "corp", "co", "plc", "hackers", "hacker", "gang"}
_DEMONYMS = {
    "albanian": "albania", "iranian": "iran", "russian": "russia", "ukrainian": "ukraine", "american": "us",
    "british": "uk", "chinese": "china", "korean": "korea", "israeli": "israel", "german": "germany",
    "french": "france", "italian": "italy", "spanish": "spain", "danish": "denmark", "irish": "ireland",
    "australian": "australia", "canadian": "canada", "indian": "india", "japanese": "japan", "turkish": "turkey",
    "polish": "poland", "dutch": "netherlands", "swedish": "sweden", "norwegian": "norway", "finnish": "finland",
    "costa": "costa", "rican": "rica", "mexican": "mexico", "brazilian": "brazil", "national": "national",
}
_SYNONYMS = {"assembly": "parliament", "kuvendi": "parliament", "legislature": "parliament",
             "telecommunications": "telecom", "telecoms": "telecom", "operator": "telecom", "airline": "carrier",
             "airlines": "carrier", "air": "carrier", "state": "government", "governmental": "government"}
_GENERIC = {"national", "government", "system", "service", "online", "public", "agency", "ministry", "department",
            "office", "network", "computer", "website", "data", "international", "united", "new", "city", "state",
            "federal", "local", "north", "south"} | set(_DEMONYMS.values())
_COUNTRY_WORDS = {"IR": "iran", "AL": "albania", "RU": "russia", "CN": "china", "KP": "north korea",
                  "US": "united states", "UA": "ukraine", "IL": "israel", "GB": "united kingdom"}


class GoldError(ValueError):
    """A gold or prediction file that cannot be read; the message names the file."""


def tokens(s: str) -> set[str]:
    s = unicodedata.normalize("NFKD", s or "").encode("ascii", "ignore").decode().lower()
    out = set()
    for t in re.findall(r"[a-z0-9]+", s):
        t = _SYNONYMS.get(_DEMONYMS.get(t, t), _DEMONYMS.get(t, t))
        if t.endswith("s") and len(t) > 4:
            t = t[:-1]
        if t not in _STOP:
            out.add(t)
    return out


def names_match(gold: str, predicted: list[str]) -> bool:
    g = tokens(gold)
    if not g:
        return False
    for p in filter(None, predicted):
        pt = tokens(p)
        if not pt:
            continue
        inter = g & pt
        specific = inter - _GENERIC or (inter if not (g - _GENERIC) or not (pt - _GENERIC) else set())
        if specific and len(inter) / min(len(g), len(pt)) >= 0.5:
            return True
        if SequenceMatcher(None, " ".join(sorted(g)), " ".join(sorted(pt))).ratio() >= 0.8:
            return True
    return False


def _date(d) -> str | None:
    if d is None:
        return None
    return d.get("value") if isinstance(d, dict) else str(d)


def _dates_match(gold, pred) -> bool:
    g, p = _date(gold), _date(pred)
    if not g or not p:
        return False
    n = min(len(g), 7)  # at the gold's precision, at most the month
    return p[:n] == g[:n] and len(p) >= n


def _numbers(d) -> list[float]:
    out: list[float] = []
    if isinstance(d, dict):
        for k in COUNT_KEYS:
            v = d.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 and float(v) not in out:
                out.append(float(v))
    return out


def _known(value) -> list:
    return [value] if value not in (None, "unknown") else []


def slots(inc: dict, gold: bool) -> dict[str, list]:
    victims = inc.get("victims") or []
    out = {
        "victim": [v.get("name") for v in victims if v.get("name")],
        "victim_country": sorted({v.get("country") for v in victims if v.get("country")}),
        "victim_sector": sorted({v.get("sector") for v in victims if v.get("sector")}),
        "attacker": list(inc.get("attackers") or []),
        "attack_type": sorted(set(inc.get("attack_types") or [])),
        "outcome": _known(inc.get("outcome")),
        "response": sorted({r.get("kind") for r in inc.get("responses") or [] if isinstance(r, dict)}),
    }
    if gold:
        out["date"] = ([_date(inc.get("date"))] + [_date(d) for d in inc.get("date_acceptable") or []]
                       if inc.get("date") else [])
        out["attribution"] = _known(inc.get("attribution"))
        out["impact"] = _numbers(inc.get("impact_counts") or {})
    else:
        att = inc.get("attribution") or {}
        out["date"] = [inc.get("date")] if _date(inc.get("date")) else []
        out["attribution"] = _known(att.get("status") if isinstance(att, dict) else att)
        out["impact"] = _numbers(inc.get("impact") or {})
    return out


def _pair_off(g: list, p: list, same) -> int:
    used, tp = set(), 0
    for gv in g:
        for i, pv in enumerate(p):
            if i not in used and same(gv, pv):
                used.add(i)
                tp += 1
                break
    return tp


def _actor_hit(gold_name: str, pa) -> bool:
    if not isinstance(pa, dict):
        return names_match(gold_name, [str(pa)])
    names = [pa.get("name", ""), pa.get("mention", "")] + list(pa.get("aliases") or [])
    state = pa.get("state_link")
    return names_match(gold_name, [n for n in names if n]) or bool(
        state and tokens(gold_name) & tokens(_COUNTRY_WORDS.get(state.upper(), state)))


def count(slot: str, g: list, p: list) -> tuple[int, int, int]:
    """(tp, fp, fn) of one slot of one paired incident."""
    if slot == "victim":
        tp = _pair_off(g, p, lambda a, b: names_match(a, [b]))
    elif slot == "attacker":
        tp = _pair_off(g, p, _actor_hit)
    elif slot == "impact":
        tp = _pair_off(g, p, lambda a, b: abs(b - a) <= 0.01 * a)
    elif slot == "date":
        if g and p:
            return (1, 0, 0) if any(_dates_match(x, p[0]) for x in g) else (0, 1, 1)
        return 0, min(len(p), 1), min(len(g), 1)  # a gold date and its variants are one fact
    else:
        gs, ps = set(g), set(p)
        return len(gs & ps), len(ps - gs), len(gs - ps)
    return tp, len(p) - tp, len(g) - tp


def pair_score(g: dict, p: dict) -> float:
    gs, ps = slots(g, True), slots(p, False)
    s = 2.0 * count("victim", gs["victim"], ps["victim"])[0] + 1.5 * count("attacker", gs["attacker"], ps["attacker"])[0]
    if gs["date"] and ps["date"] and any(_dates_match(x, ps["date"][0]) for x in gs["date"]):
        s += 1.0
    return s + 0.25 * len(set(gs["attack_type"]) & set(ps["attack_type"]))


def score_article(gold: dict, pred: dict | None, totals: dict, detail: list[str]) -> None:
    g_incs, p_incs = gold.get("incidents") or [], (pred or {}).get("incidents") or []
    pairs = sorted(((pair_score(g, p), gi, pi) for gi, g in enumerate(g_incs) for pi, p in enumerate(p_incs)),
                   reverse=True)
    g_used, p_used, matched = set(), set(), []
    for s, gi, pi in pairs:
        if s >= 1.5 and gi not in g_used and pi not in p_used:
            g_used.add(gi)
            p_used.add(pi)
            matched.append((gi, pi))
    coded = gold.get("impact_coded", any("impact_counts" in g for g in g_incs))
    totals["gold_incidents"] += len(g_incs)
    totals["pred_incidents"] += len(p_incs)
    totals["matched_incidents"] += len(matched)
    for gi, pi in matched:
        gs, ps = slots(g_incs[gi], True), slots(p_incs[pi], False)
        extra = set(g_incs[gi].get("attack_types_acceptable_extra") or [])
        ps["attack_type"] = [t for t in ps["attack_type"] if t not in extra or t in gs["attack_type"]]
        for slot in SLOTS:
            if slot == "impact" and not coded:
                continue
            for k, v in zip(("tp", "fp", "fn"), count(slot, gs[slot], ps[slot])):
                totals[f"{slot}.{k}"] += v
    for gi, g in enumerate(g_incs):
        if gi not in g_used:
            for slot, vals in slots(g, True).items():
                totals[slot + ".fn"] += min(len(vals), 1) if slot == "date" else len(vals)
            detail.append(f"{gold.get('id')}: missed gold incident {g.get('incident_key')}")
    for pi, p in enumerate(p_incs):
        if pi not in p_used:
            for slot, vals in slots(p, False).items():
                if slot != "impact" or coded:
                    totals[slot + ".fp"] += len(vals)
            detail.append(f"{gold.get('id')}: unmatched predicted incident, "
                          f"victims={[v.get('name') for v in p.get('victims') or []]}")
    for p in p_incs:
        for v in p.get("victims") or []:
            for f in gold.get("must_not_be_victims") or []:
                if names_match(f, [v.get("name", "")]):
                    totals["forbidden_victims"] += 1
                    detail.append(f"{gold.get('id')}: forbidden victim {v.get('name')!r}")


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def load_gold(path: Path) -> list[dict]:
    files = sorted(path.glob("*.gold.json")) if path.is_dir() else [path]
    if not files:
        raise GoldError(f"{path}: no *.gold.json files in this directory")
    items: list[dict] = []
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise GoldError(f"{f}: not a readable gold JSON file ({e})") from None
        data = data if isinstance(data, list) else [data]
        if not all(isinstance(x, dict) and isinstance(x.get("incidents", []), list) for x in data):
            raise GoldError(f"{f}: gold articles must be objects with an 'incidents' list")
        items.extend(data)
    return items


def index_predictions(results: list[dict], stems: list[str | None] | None = None) -> dict[str, dict]:
    """Predictions by article id, external id, url and file stem (the scorer's keys)."""
    out: dict[str, dict] = {}
    for k, obj in enumerate(results):
        art = obj.get("article") or {}
        stem = stems[k] if stems else None
        for key in (art.get("id"), art.get("external_id"), art.get("url"), stem):
            if key:
                out.setdefault(str(key), obj)
    return out


def score(golds: list[dict], preds: dict[str, dict]) -> tuple[dict[str, Any], list[str]]:
    totals: dict = defaultdict(int)
    detail: list[str] = []
    missing = 0
    for g in golds:
        p = next((preds[str(k)] for k in (g.get("id"), g.get("url"), Path(g.get("file", "")).stem)
                  if k and str(k) in preds), None)
        if p is None:
            missing += 1
            detail.append(f"{g.get('id')}: no prediction found")
        score_article(g, p, totals, detail)
    res: dict[str, Any] = {"articles": len(golds), "articles_without_prediction": missing}
    tp, fp, fn = (sum(totals[f"{s}.{k}"] for s in SLOTS) for k in ("tp", "fp", "fn"))
    res["slot_p"], res["slot_r"], res["slot_f1"] = prf(tp, fp, fn)
    m = totals["matched_incidents"]
    ip, ir, if1 = prf(m, totals["pred_incidents"] - m, totals["gold_incidents"] - m)
    res.update(incident_p=ip, incident_r=ir, incident_f1=if1, gold_incidents=totals["gold_incidents"],
               pred_incidents=totals["pred_incidents"], matched_incidents=m,
               forbidden_victims=totals["forbidden_victims"])
    for s in SLOTS:
        scored = totals[f"{s}.tp"] + totals[f"{s}.fp"] + totals[f"{s}.fn"]
        res[s + "_f1"] = prf(totals[f"{s}.tp"], totals[f"{s}.fp"], totals[f"{s}.fn"])[2]
        res.setdefault("_scored", {})[s] = bool(scored)
    return res, detail
