"""CI acceptance: the seed article scored with the shared scorer (slot F1 >= 0.85)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema


def _incidex() -> list[str]:
    return [sys.executable, "-m", "incidex"]


def test_seed_scores_at_least_085_with_no_forbidden_victims(shared: Path, tmp_path: Path):
    seed = shared / "fixtures" / "seed" / "000_5eeeb7d2d1c4546a.txt"
    gold = shared / "fixtures" / "seed" / "000_5eeeb7d2d1c4546a.gold.json"
    res = subprocess.run(_incidex() + ["extract", "--format", "json", str(seed)], capture_output=True, text=True, check=True)
    (tmp_path / "seed-000.json").write_text(res.stdout)
    obj = json.loads(res.stdout)
    schema = json.loads((shared / "schema" / "incident.schema.json").read_text())
    jsonschema.validate(obj, schema)
    score = subprocess.run([sys.executable, str(shared / "tools" / "score_incidents.py"), str(gold), str(tmp_path), "--json"],
                           capture_output=True, text=True, check=True)
    figures = json.loads(score.stdout)
    assert figures["slot_f1"] >= 0.85, figures
    assert figures["forbidden_victims"] == 0
    assert figures["matched_incidents"] == 3


def test_seed_facts_and_evidence(shared: Path, extractor):
    from incidex.api import extract

    text = (shared / "fixtures" / "seed" / "000_5eeeb7d2d1c4546a.txt").read_text()
    res = extract(text, extractor=extractor)
    body = res.article.body
    assert res.article.source == "therecord.media"
    incs = sorted(res.incidents, key=lambda i: i.date.value if i.date else "")
    assert [i.date.value[:7] for i in incs] == ["2022-07", "2022-09", "2023-12"]
    july, sept, dec = incs
    assert dec.attackers[0].name == "Homeland Justice" and dec.attackers[0].state_link == "IR"
    assert dec.attribution.status == "claimed" and dec.outcome == "attempted"
    assert {v.sector for v in dec.victims} == {"legislature", "telecom", "aviation"}
    assert {(r.kind, r.by, r.against) for r in july.responses} == {("diplomatic", "AL", "IR"), ("sanctions", "US", "IR")}
    assert sept.attackers[0].kind == "state" and sept.attackers[0].state_link == "IR"
    assert july.background and sept.background and not dec.background
    for inc in res.incidents:
        assert inc.evidence
        for ev in inc.evidence:
            assert 0 <= ev.start < ev.end <= len(body)
            assert body[ev.start:ev.end] == ev.text
