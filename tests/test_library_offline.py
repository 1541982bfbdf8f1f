"""The library surface, and extraction loading offline from the installed package."""
from __future__ import annotations

from fixtures_process import extract_offline

ARTICLE = (
    "Hackers linked to North Korea's government stole about $12 million in cryptocurrency from Pellucid, "
    "a Seoul-based digital asset exchange, on Tuesday, the company said on Thursday.\n"
    "Pellucid said the attackers had compromised a hot wallet and that customer deposits were safe.\n"
    "South Korean police attributed the theft to the Lazarus Group.\n"
)


def test_extract_uses_the_given_publication_date(extractor):
    import incidex

    res = incidex.extract(ARTICLE, published="2024-05-09", extractor=extractor)
    assert res.article.published == "2024-05-09"
    assert len(res.incidents) == 1
    inc = res.incidents[0]
    assert inc.date.value == "2024-05-07" and inc.date.precision == "day"
    assert any(v.name.endswith("Pellucid") and v.country == "KR" for v in inc.victims)
    assert any(a.name == "Lazarus Group" and a.state_link == "KP" for a in inc.attackers)
    assert inc.attribution.status == "attributed"


def test_no_publication_date_means_no_invented_date(extractor):
    import incidex

    res = incidex.extract(ARTICLE, extractor=extractor)
    assert res.article.published is None
    assert all(i.date is None for i in res.incidents)


def test_extraction_loads_and_runs_with_networking_disabled(tmp_path):
    """Any socket use (a model hub, a download) would raise here."""
    doc = extract_offline(ARTICLE, "2024-05-09", tmp_path)
    assert doc["incidents"] and doc["incidents"][0]["attackers"][0]["name"] == "Lazarus Group"
