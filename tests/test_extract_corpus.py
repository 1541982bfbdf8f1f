"""Extraction over the project's own example articles (examples/articles), checked
against their hand-coded gold facts (tests/gold), category by category.

The gold files were coded from the articles' text alone; the shared scorer
(../shared/tools/score_incidents.py) gives the aggregate figures.
"""
from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import EXAMPLES, GOLD, SHARED


@lru_cache(maxsize=1)
def results() -> dict[str, dict]:
    from incidex.api import extract_inputs
    from incidex.records import ReadFailure

    out = {}
    for res in extract_inputs([str(EXAMPLES)]):
        assert not isinstance(res, ReadFailure), res
        out[Path(res.article.origin).stem] = res.to_dict()
    return out


def gold(stem: str) -> dict:
    return json.loads((GOLD / f"{stem}.gold.json").read_text())


def stems(prefixes: tuple[str, ...]) -> list[str]:
    return sorted(p.name[:-len(".gold.json")] for p in GOLD.glob("*.gold.json") if p.name.startswith(prefixes))


def scorer():
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the repository (CI always has it)")
    sys.path.insert(0, str(SHARED / "tools"))
    import score_incidents

    return score_incidents


def matched(stem: str) -> list[tuple[dict, dict]]:
    """Gold incidents paired with the predicted incident the shared scorer would pair."""
    s = scorer()
    g, p = gold(stem), results()[stem]
    pairs = sorted(((s.pair_score(gi, pi), a, b) for a, gi in enumerate(g["incidents"])
                    for b, pi in enumerate(p["incidents"])), reverse=True)
    used_g, used_p, out = set(), set(), []
    for score, a, b in pairs:
        if score >= 1.5 and a not in used_g and b not in used_p:
            used_g.add(a)
            used_p.add(b)
            out.append((g["incidents"][a], p["incidents"][b]))
    assert len(out) == len(g["incidents"]), f"{stem}: matched {len(out)} of {len(g['incidents'])} gold incidents"
    return out


def test_corpus_has_at_least_25_articles_with_gold():
    assert len(list(EXAMPLES.glob("*.txt"))) >= 25
    assert {p.stem for p in EXAMPLES.glob("*.txt")} == {p.name[:-len(".gold.json")] for p in GOLD.glob("*.gold.json")}


def test_aggregate_scores_on_the_corpus(tmp_path):
    s = scorer()
    for stem, res in results().items():
        (tmp_path / f"{stem}.json").write_text(json.dumps(res))
    golds = s.load_gold(GOLD)
    preds = s.load_preds(tmp_path)
    from collections import defaultdict

    totals, detail = defaultdict(int), []
    for g in golds:
        s.score_article(g, preds.get(g["id"]), totals, detail)
    tp = sum(totals[k + ".tp"] for k in s.SLOTS)
    fp = sum(totals[k + ".fp"] for k in s.SLOTS)
    fn = sum(totals[k + ".fn"] for k in s.SLOTS)
    slot_f1 = s.prf(tp, fp, fn)[2]
    m = totals["matched_incidents"]
    inc_f1 = s.prf(m, totals["pred_incidents"] - m, totals["gold_incidents"] - m)[2]
    assert slot_f1 >= 0.80, (slot_f1, detail)
    assert inc_f1 >= 0.90, (inc_f1, detail)
    assert totals["forbidden_victims"] == 0, detail


@pytest.mark.parametrize("stem", stems(("001", "002", "003")))
def test_ransomware_with_ransom_amount(stem):
    for g, p in matched(stem):
        assert "ransomware" in p["attack_types"]
        assert p["impact"]["ransom_usd"] == pytest.approx(g["ransom_usd"], rel=0.01)
        assert p["attribution"]["status"] == "claimed"
        assert any(a["name"].lower() == g["attackers"][0].lower() or (a.get("mention") or "").lower() == g["attackers"][0].lower()
                   for a in p["attackers"])


@pytest.mark.parametrize("stem", stems(("004", "005", "006")))
def test_data_breach_with_record_counts(stem):
    for g, p in matched(stem):
        assert p["attack_types"] == ["data-breach"]
        counts = {p["impact"]["records_affected"], p["impact"]["people_affected"]}
        assert g["records_affected"] in counts
        assert p["victims"][0]["country"] == g["victims"][0]["country"]
        assert p["victims"][0]["sector"] == g["victims"][0]["sector"]


@pytest.mark.parametrize("stem", stems(("007", "008")))
def test_hacktivist_ddos_claimed(stem):
    for g, p in matched(stem):
        assert p["attack_types"] == ["ddos"]
        assert p["attribution"]["status"] == "claimed"
        assert p["outcome"] == "successful"
        assert {v["country"] for v in p["victims"]} == {g["victims"][0]["country"]}


@pytest.mark.parametrize("stem", stems(("009", "010")))
def test_state_espionage_followed_by_sanctions(stem):
    for g, p in matched(stem):
        assert "espionage" in p["attack_types"]
        assert p["attribution"]["status"] == "attributed"
        assert p["attackers"][0]["state_link"] == g["attacker_state_link"]
        assert "sanctions" in {r["kind"] for r in p["responses"]}


@pytest.mark.parametrize("stem", stems(("011", "012")))
def test_claimed_attack_the_government_denies(stem):
    for g, p in matched(stem):
        assert p["attribution"]["status"] == "claimed"
        assert p["outcome"] == "unknown"


@pytest.mark.parametrize("stem", stems(("013", "014")))
def test_failed_attempt(stem):
    for g, p in matched(stem):
        assert p["outcome"] == "attempted"
        assert p["victims"][0]["country"] == g["victims"][0]["country"]


@pytest.mark.parametrize("stem", stems(("015", "016")))
def test_two_incidents_in_one_article(stem):
    pairs = matched(stem)
    assert len(results()[stem]["incidents"]) == 2
    for g, p in pairs:
        assert p["date"]["value"][:7] == g["date"][:7]


@pytest.mark.parametrize("stem", stems(("017", "018")))
def test_background_incident_from_an_earlier_year(stem):
    pairs = matched(stem)
    years = sorted(p["date"]["value"][:4] for _, p in pairs)
    assert years[0] < years[-1]
    for g, p in pairs:
        assert p["background"] == (g["date"][:4] < results()[stem]["article"]["published"][:4])


@pytest.mark.parametrize("stem", stems(("024", "025", "026", "027")))
def test_no_incident_at_all(stem):
    assert results()[stem]["incidents"] == []


@pytest.mark.parametrize("stem", stems(("028", "029")))
def test_non_english_is_detected_not_misread(stem):
    res = results()[stem]
    assert res["article"]["language"] == gold(stem)["language"] != "en"
    assert res["incidents"] == []


@pytest.mark.parametrize("stem", stems(("019", "020", "021", "022", "023")))
def test_other_attack_types(stem):
    for g, p in matched(stem):
        assert set(g["attack_types"]) <= set(p["attack_types"])


def test_every_evidence_span_is_a_slice_of_the_body():
    from incidex.api import extract

    for path in sorted(EXAMPLES.glob("*.txt")):
        res = extract(path.read_text(encoding="utf-8"))
        for inc in res.incidents:
            for ev in inc.evidence:
                assert res.article.body[ev.start:ev.end] == ev.text
