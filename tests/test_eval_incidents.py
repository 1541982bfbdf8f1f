"""`incidex eval incidents`: the figures of the shared scorer, from the package alone."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from incidex.cli import app
from incidex.evaluation.incidents import index_predictions, load_gold, score

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def shared_scorer(shared: Path, gold: Path, pred: Path) -> dict:
    out = subprocess.run([sys.executable, str(shared / "tools" / "score_incidents.py"), str(gold), str(pred), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def ours(gold: Path, pred: Path) -> dict:
    results = [json.loads(x) for x in pred.read_text().splitlines() if x.strip()]
    res, _ = score(load_gold(gold), index_predictions(results))
    res.pop("_scored")
    return res


def synthetic(tmp_path: Path) -> tuple[Path, Path]:
    """A gold article and predictions with a right victim, a wrong one, a spare incident, a forbidden
    victim, an acceptable date variant, impact numbers within and outside 1%."""
    gold = [{"id": "g1", "url": "https://news.test/a", "impact_coded": True, "must_not_be_victims": ["Quarrytel"],
             "incidents": [
                 {"incident_key": "a", "attackers": ["Ember Bear"], "attribution": "attributed",
                  "victims": [{"name": "Port of Kessler", "country": "NL", "sector": "transport"}],
                  "attack_types": ["ddos"], "attack_types_acceptable_extra": ["other"], "date": "2025-03-02",
                  "date_acceptable": ["2025-02"], "outcome": "successful", "responses": [{"kind": "statement"}],
                  "impact_counts": {"people_affected": 12000, "records_affected": None, "ransom_usd": None}},
                 {"incident_key": "b", "attackers": [], "attribution": "unknown",
                  "victims": [{"name": "Glenmoor Water Authority", "country": None, "sector": "utilities"}],
                  "attack_types": ["ransomware"], "date": None, "outcome": "successful", "responses": []}]},
            {"id": "g2", "incidents": [], "must_not_be_victims": []}]
    preds = [{"article": {"id": "x1", "url": "https://news.test/a"}, "incidents": [
                 {"victims": [{"name": "Kessler port", "country": "NL", "sector": "transport"},
                              {"name": "Quarrytel", "country": None, "sector": "telecom"}],
                  "attackers": [{"name": "Ember Bear", "aliases": ["UAC-0056"]}], "attack_types": ["ddos", "other"],
                  "date": {"value": "2025-02-27", "precision": "day"}, "outcome": "successful",
                  "attribution": {"status": "suspected"}, "responses": [{"kind": "statement"}],
                  "impact": {"people_affected": 12050, "records_affected": 99}},
                 {"victims": [{"name": "Harbor & Finch"}], "attackers": [], "attack_types": ["phishing"],
                  "date": None, "outcome": "unknown", "attribution": {"status": "unknown"}, "responses": [],
                  "impact": {}}]},
             {"article": {"id": "g2"}, "incidents": [{"victims": [{"name": "Nobody Ltd"}], "attack_types": ["other"],
                                                      "outcome": "successful", "attribution": "unknown"}]}]
    g, p = tmp_path / "gold.json", tmp_path / "pred.jsonl"
    g.write_text(json.dumps(gold))
    p.write_text("".join(json.dumps(x) + "\n" for x in preds))
    return g, p


def test_same_figures_as_the_shared_scorer_on_synthetic_predictions(shared: Path, tmp_path: Path):
    g, p = synthetic(tmp_path)
    mine = ours(g, p)
    assert mine == shared_scorer(shared, g, p)
    assert mine["forbidden_victims"] == 1 and mine["matched_incidents"] == 1 and mine["pred_incidents"] == 3
    assert 0 < mine["slot_f1"] < 1


def test_same_figures_on_the_seed_and_the_project_corpus(shared: Path, tmp_path: Path):
    """Extracted by `eval incidents` and by `incidex extract -o DIR` scored with the shared scorer
    (gold directories name articles by file stem, as the scorer matches them)."""
    seed_gold = shared / "fixtures" / "seed" / "000_5eeeb7d2d1c4546a.gold.json"
    for gold, inputs in ((seed_gold, shared / "fixtures" / "seed"), (ROOT / "tests" / "gold", ROOT / "examples" / "articles")):
        r = runner.invoke(app, ["eval", "incidents", str(gold), str(inputs), "-f", "json"])
        assert r.exit_code == 0, r.output
        printed = json.loads(r.stdout.strip().splitlines()[-1])
        out_dir = tmp_path / gold.stem
        r = runner.invoke(app, ["extract", str(inputs), "-o", str(out_dir)])
        assert r.exit_code == 0, r.output
        assert printed == shared_scorer(shared, gold, out_dir)
    assert printed["slot_f1"] >= 0.80  # the project corpus (docs/evaluation.md)


def test_readable_table_and_predictions_mode(shared: Path, tmp_path: Path):
    g, p = synthetic(tmp_path)
    r = runner.invoke(app, ["eval", "incidents", str(g), "--predictions", str(p), "--verbose"])
    assert r.exit_code == 0, r.output
    assert "slot (headline)" in r.output and "forbidden victims: 1" in r.output
    assert "g1: forbidden victim 'Quarrytel'" in r.output and "unmatched predicted incident" in r.output


def test_bad_gold_and_missing_inputs_give_one_line(tmp_path: Path):
    bad = tmp_path / "gold.json"
    bad.write_text("{not json")
    r = runner.invoke(app, ["eval", "incidents", str(bad), "--predictions", str(bad)])
    assert r.exit_code == 2 and str(bad) in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["eval", "incidents", str(tmp_path / "nothing.json"), "x.jsonl"])
    assert r.exit_code == 2 and "nothing.json" in r.output
    good, _ = synthetic(tmp_path)
    r = runner.invoke(app, ["eval", "incidents", str(good)])
    assert r.exit_code == 2 and "--predictions" in r.output
