"""The trained CASIE model: shipped in the package, loaded offline, folded into extraction."""
from __future__ import annotations

from fixtures_process import extract_offline

from incidex.extraction.mentions import ATTACK_TYPE, model_path

# Written for this test (not from any corpus).
ARTICLE = (
    "A ransomware gang calling itself Copper Lynx encrypted the file servers of Harwick County Hospital "
    "on Monday and demanded a ransom of 40 bitcoin, the hospital said.\n"
    "The attackers stole the medical records of about 120,000 patients before deploying the ransomware, "
    "according to a notice posted on the hospital's website.\n"
    "Hospital staff switched to paper charts while the IT team restored systems from backups.\n"
)


def test_the_model_ships_inside_the_package():
    path = model_path()
    assert (path / "config.cfg").is_file() and (path / "MODEL_CARD.md").is_file()
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    assert size <= 50 * 1024 * 1024


def test_model_loads_offline_and_tags_events_and_arguments(tmp_path):
    """Any socket use (a model hub, a download) would raise in the child process."""
    doc = extract_offline(ARTICLE, "2025-03-12", tmp_path, INCIDEX_MODEL="casie")
    body = ARTICLE
    roles = {a["role"] for a in doc["arguments"]}
    assert {"Attacker", "Victim"} <= roles
    for a in doc["arguments"]:
        assert body[a["start"]:a["end"]] == a["text"]
    ransom = [e for e in doc["events"] if e["subtype"] == "Ransom"]
    assert ransom and all(e["attack_type"] == ATTACK_TYPE["Ransom"] for e in ransom)
    assert any(e["realis"] == "Actual" for e in doc["events"])
    victims = [a["text"] for a in doc["arguments"] if a["role"] == "Victim"]
    assert any("Harwick County Hospital" in v or "file servers" in v for v in victims)


def test_switch_runs_the_rules_alone(extractor):
    """The rules alone still find the attack; no mention-level output then."""
    from incidex.extraction.pipeline import Extractor
    import incidex

    bare = Extractor(kb=extractor.kb, nlp=extractor.nlp, use_model=False)
    full = Extractor(kb=extractor.kb, nlp=extractor.nlp, use_model=True)
    assert bare.model is None and full.model is not None
    text = "Hackers linked to the Lazarus Group breached Pellucid, a Seoul-based exchange, on Tuesday.\n"
    res = incidex.extract(text, published="2025-03-12", extractor=bare)
    assert res.events == [] and res.arguments == [] and "events" not in res.to_dict()
    with_model = incidex.extract(text, published="2025-03-12", extractor=full)
    assert [i.victims for i in res.incidents] == [i.victims for i in with_model.incidents]
    assert incidex.extract(ARTICLE, published="2025-03-12", extractor=full).events
    assert res.incidents and res.incidents[0].attackers[0].name == "Lazarus Group"


def test_switches(monkeypatch):
    from incidex.extraction.mentions import model_enabled
    from incidex.settings import load_settings

    monkeypatch.delenv("INCIDEX_MODEL", raising=False)
    assert not model_enabled(load_settings())  # off by default: 5x the extraction time (docs/performance.md)
    assert model_enabled({"extract": {"model": "casie"}})
    monkeypatch.setenv("INCIDEX_MODEL", "none")
    assert not model_enabled({"extract": {"model": "casie"}})
    monkeypatch.setenv("INCIDEX_MODEL", "casie")
    assert model_enabled({"extract": {"model": "none"}})


def test_decode_bio_is_lenient():
    from incidex.extraction.mentions import decode_bio

    tags = ["O", "B-Attacker", "I-Attacker", "O", "I-Victim", "I-Victim",
            "B-EVENT:Ransom:Actual", "I-EVENT:Ransom:Other", "B-Time"]
    assert decode_bio(tags) == [(1, 3, "Attacker"), (4, 6, "Victim"), (6, 8, "EVENT:Ransom:Actual"), (8, 9, "Time")]


def test_eval_casie_reports_roles_event_types_and_realis():
    """Three CASIE dev articles through the evaluation: the figures are keyed as documented."""
    from pathlib import Path

    from incidex.evaluation.casie import ROLES, evaluate, load_casie
    from incidex.extraction.pipeline import Extractor

    dev = Path(__file__).resolve().parents[2] / "shared" / "data" / "casie" / "dev.jsonl"
    docs = load_casie(dev)[:3]
    res = evaluate(docs, Extractor(use_model=True).extract_article)
    for kind in ("overlap", "exact"):
        for role in (*ROLES, "Attacker+Victim", "all roles"):
            m = res["arguments"][kind][role]
            assert set(m) == {"precision", "recall", "f1", "pred", "gold"} and 0 <= m["f1"] <= 1
    assert res["arguments"]["overlap"]["Attacker+Victim"]["gold"] > 0
    # The model tags mentions, so something matches on real news.
    assert res["arguments"]["overlap"]["all roles"]["f1"] > 0
    assert res["event_type"]["micro"]["pred"] > 0 and 0 <= res["realis"]["accuracy"] <= 1
    bare = evaluate(docs, Extractor(use_model=False).extract_article)
    assert bare["event_type"]["micro"]["pred"] == 0
