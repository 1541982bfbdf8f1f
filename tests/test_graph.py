"""The graph view: attackers -> incidents -> victims laid out by networkx (fixed seed) as SVG.

The page runs on SQLite and PostgreSQL over the incidents of ``test_facets``;
the layout is checked on 300 invented incidents (over 500 nodes) for a fixed
picture, every node in the box, names only beside the hubs, and a link per node.
"""
from __future__ import annotations

import random
import re
import time

import pytest
from lxml import html as lhtml

from incidex.records import Actor, Incident, Victim
from incidex.serve import graph
from test_facets import fill, filled_client


def many(n: int = 300) -> list[Incident]:
    rnd = random.Random(5)
    return [Incident(id=f"g{i}", summary=f"incident {i}", attack_types=[rnd.choice(["ransomware", "ddos", "wiper"])],
                     attackers=[Actor(name=f"Group {rnd.randrange(40)}")],
                     victims=[Victim(name=f"Victim {rnd.randrange(240)}", country="GB") for _ in range(rnd.choice([1, 1, 2]))])
            for i in range(n)]


def draw(incidents):
    g = graph.build(incidents, lambda a: "name:" + a.name.lower(), lambda aid, name: name)
    return g, graph.layout(g)


def test_three_hundred_incidents_draw_the_same_readable_picture():
    incidents = many()
    started = time.perf_counter()
    g, pos = draw(incidents)
    seconds = time.perf_counter() - started
    kinds = [d["kind"] for _, d in g.nodes(data=True)]
    assert kinds.count("incident") == 300 and kinds.count("actor") == 40
    victims = {(v.name, v.country) for i in incidents for v in i.victims}
    assert kinds.count("victim") == len(victims) and g.number_of_nodes() > 500
    assert g.number_of_edges() == 300 + sum(len({v.name for v in i.victims}) for i in incidents)
    assert pos == draw(incidents)[1]  # fixed seed: the same incidents, the same picture
    assert all(0 <= x <= graph.SIZE and 0 <= y <= graph.SIZE for x, y in pos.values())
    assert seconds < 20, seconds  # about 0.5 s unloaded (docs/ui.md, "Graph")
    svg = str(graph.svg(g, pos))
    assert len(re.findall(r"<a href=", svg)) == g.number_of_nodes()
    labelled = len(re.findall(r"<text ", svg))
    hubs = sum(1 for n, d in g.nodes(data=True)
               if (d["kind"], g.degree(n) >= 2) == ("actor", True) or (d["kind"], g.degree(n) >= 3) == ("victim", True))
    assert labelled == hubs < g.number_of_nodes() / 3
    # a leaf victim sits beside its one incident
    leaf = next(n for n, d in g.nodes(data=True) if d["kind"] == "victim" and g.degree(n) == 1)
    (x, y), (ix, iy) = pos[leaf], pos[next(iter(g[leaf]))]
    assert abs(x - ix) <= 17 and abs(y - iy) <= 17


def test_user_text_in_the_graph_is_escaped():
    g, pos = draw([Incident(id="x", summary="<b>hi</b>", attackers=[Actor(name="<script>x</script>")],
                            victims=[Victim(name='A "quoted" & co')])])
    svg = str(graph.svg(g, pos))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&quot;quoted&quot; &amp; co" in svg


@pytest.fixture()
def client(db_url):
    with filled_client(db_url, fill) as c:
        yield c


def test_graph_page_of_a_filter(client):
    r = client.get("/graph")
    assert r.status_code == 200
    doc = lhtml.fromstring(r.text)
    # 8 incidents; 6 attackers (p1 has none, d1 and d2 share NoName057(16)); 9 victims (r3 has two)
    assert doc.cssselect("h1")[0].text_content().startswith("Graph · 8 incidents, 6 attackers, 9 victims")
    assert len(doc.cssselect("svg.graph a.k-incident")) == 8
    for a in doc.cssselect("svg.graph a.node"):
        assert client.get(a.get("href")).status_code == 200, a.get("href")
    assert client.get("/graph").text == r.text  # drawn once, then from the cache
    ddos = lhtml.fromstring(client.get("/graph?type=ddos&not_country=DK").text)
    assert ddos.cssselect("h1")[0].text_content().startswith("Graph · 1 incident, 1 attacker, 1 victim")
    some = lhtml.fromstring(client.get("/graph?limit=3").text)
    assert "The latest 3 of 8 matching incidents" in some.text_content()
    assert client.get("/graph?type=ransom").status_code == 400
