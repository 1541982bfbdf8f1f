"""Evaluate cross-article resolution on a multi-outlet article set.

The set is a directory with ``articles/`` and ``gold.json`` (``clusters``: id ->
``articles``; optional ``background_links``: article -> cluster). Articles are
ingested in file-name order (publication order) into a fresh store; each
article's *main incident* is the incident its first extracted incident was
resolved into (a syndicated copy takes its original's). Pairwise clustering:
two articles form a predicted pair when their main incidents are the same, a
gold pair when they are in the same gold cluster; precision and recall are
over pairs. A background link is right when the article is linked to the
incident that holds most of the gold cluster's articles.
"""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from itertools import combinations
from pathlib import Path


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "tp": tp, "fp": fp, "fn": fn}


def evaluate(set_dir: Path, db_url: str | None = None) -> dict:
    from incidex.api import ingest
    from incidex.readers import read
    from incidex.cleaning import clean
    from incidex.store import open_store

    gold = json.loads((set_dir / "gold.json").read_text(encoding="utf-8"))
    files = sorted((set_dir / "articles").glob("*.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(db_url or str(Path(tmp) / "resolve-eval.db"))
        report = ingest([str(f) for f in files], store, chunk_size=1)
        ids = {f.name: clean(next(iter(read([str(f)])))).id for f in files}  # each file read once
        main: dict[str, str] = {}
        for f in files:
            stored = store.get_article(ids[f.name])
            aid = stored.duplicate_of if stored and stored.duplicate_of else ids[f.name]
            ms = store.mentions_for_article(aid)
            primary = [m for m in ms if m.role == "primary"] or ms
            main[f.name] = primary[0].incident_id if primary else f"none:{f.name}"
        cluster_of = {a: c for c, spec in gold["clusters"].items() for a in spec["articles"]}
        tp = fp = fn = 0
        names = [f.name for f in files]
        for a, b in combinations(names, 2):
            same_gold = cluster_of.get(a) is not None and cluster_of.get(a) == cluster_of.get(b)
            same_pred = main[a] == main[b] and not main[a].startswith("none:")
            tp += same_gold and same_pred
            fp += same_pred and not same_gold
            fn += same_gold and not same_pred
        links_ok, links = 0, gold.get("background_links") or []
        for link in links:
            members = [main[a] for a in gold["clusters"][link["links_to"]]["articles"] if a in main]
            target = Counter(members).most_common(1)[0][0] if members else None
            linked = {m.incident_id for m in store.mentions_for_article(ids[link["article"]])}
            links_ok += target in linked
        predicted_clusters = len(set(main.values()))
        store.close()
    return {
        "articles": len(files), "gold_clusters": len(gold["clusters"]), "predicted_incidents": predicted_clusters,
        "pairwise": _prf(tp, fp, fn),
        "background_links": {"gold": len(links), "linked": links_ok},
        "ingest": report.to_dict() | {"failures": []},
        "main_incident": main,
    }
