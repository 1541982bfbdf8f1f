"""The graph view: attackers -> incidents -> victims of a filter, laid out on the server as SVG.

``build`` makes a networkx graph of the incidents (one node per incident,
attacker and victim; an attacker joins the incidents it is named in, an
incident the victims it names), ``layout`` places it with a spring layout of
fixed seed (the same filter draws the same picture, so an analyst can come
back to it), and ``svg`` draws it as inline SVG whose every node is a link to
its page. Nothing runs in the browser, as for the charts (``charts``): colours
come from the stylesheet's classes and every text is escaped.

Drawing stays readable with several hundred nodes: small marks, thin edges,
names written only beside the attackers and victims of several incidents
(``labelled``; every node still has its name as a tooltip and its link).
"""
from __future__ import annotations

import math
import zlib
from html import escape
from typing import Any
from urllib.parse import quote

import networkx as nx
from markupsafe import Markup

from incidex.store import codec

SEED = 17  # fixed: the same incidents always give the same picture
SIZE = 1000  # the SVG's coordinate box


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def build(incidents: list[Any], actor_id: Any, actor_label: Any) -> nx.Graph:
    """Nodes ``a:<actor id>``, ``i:<incident id>``, ``v:<victim key>|<country>`` with ``kind``,
    ``label``, ``href`` and (incidents) ``type``; edges attacker-incident and incident-victim."""
    g = nx.Graph()
    for inc in incidents:
        inode = f"i:{inc.id}"
        g.add_node(inode, kind="incident", label=inc.summary or inc.id, href=f"/incidents/{inc.id}",
                   type=(inc.attack_types or ["other"])[0])
        for a in inc.attackers:
            aid = actor_id(a)
            node = f"a:{aid}"
            if node not in g:
                g.add_node(node, kind="actor", label=actor_label(aid, a.name), href=f"/actors/{quote(aid, safe='')}")
            g.add_edge(node, inode)
        for v in inc.victims:
            key = codec.name_key(v.name)
            if not key:
                continue
            node = f"v:{key}|{v.country or ''}"
            if node not in g:
                href = f"/victims/{quote(v.name, safe='')}" + (f"?country={quote(v.country)}" if v.country else "")
                g.add_node(node, kind="victim", label=v.name + (f" ({v.country})" if v.country else ""), href=href)
            g.add_edge(inode, node)
    return g


def layout(g: nx.Graph) -> dict[str, tuple[float, float]]:
    """Positions in ``[0, SIZE]`` squared, the same for the same graph.

    The backbone (attackers, incidents, and victims of two incidents or more)
    gets networkx's spring layout with a fixed ``SEED``; a victim named in one
    incident only (most of them) is a leaf whose place follows from its
    incident's, so it is set beside it afterwards, the leaves of one incident
    spread around it. That keeps the spring layout under networkx's 500-node
    threshold for 300 incidents, where it takes its dense numpy path (0.5 s)
    instead of the sparse one (4 s for 500 nodes): docs/ui.md, "Graph".
    """
    if not g:
        return {}
    leaves = [n for n, d in g.nodes(data=True) if d["kind"] == "victim" and g.degree(n) == 1]
    core = g.subgraph(set(g) - set(leaves))
    n = core.number_of_nodes()
    pos = nx.spring_layout(core, seed=SEED, k=1.6 / max(1.0, n ** 0.5), iterations=60) if n else {}
    xs = [float(p[0]) for p in pos.values()] or [0.0]
    ys = [float(p[1]) for p in pos.values()] or [0.0]
    pad = 50

    def scale(v: float, lo: float, hi: float) -> float:
        return pad + (SIZE - 2 * pad) * ((v - lo) / (hi - lo) if hi > lo else 0.5)

    out = {node: (scale(float(x), min(xs), max(xs)), scale(float(y), min(ys), max(ys))) for node, (x, y) in pos.items()}
    by_incident: dict[str, list[str]] = {}
    for leaf in leaves:
        by_incident.setdefault(next(iter(g[leaf])), []).append(leaf)
    for inc, items in by_incident.items():
        x, y = out[inc]
        for k, leaf in enumerate(sorted(items)):
            angle = 2 * math.pi * (k / len(items)) + (zlib.crc32(inc.encode()) % 360) * math.pi / 180
            out[leaf] = (min(SIZE - 4, max(4, x + 16 * math.cos(angle))), min(SIZE - 4, max(4, y + 16 * math.sin(angle))))
    return out


def labelled(kind: str, degree: int, big: bool) -> bool:
    """Whether a node's name is written beside it: every attacker and victim in a small graph; in a
    big one (over 150 nodes) attackers of two incidents or more and victims of three or more, so the
    names that are written can be read (the others are in the tooltips)."""
    if kind == "incident":
        return False
    return not big or degree >= (2 if kind == "actor" else 3)


def svg(g: nx.Graph, pos: dict[str, tuple[float, float]]) -> Markup:
    """The laid-out graph as SVG: edges first, then nodes (incidents as circles in their attack
    type's colour, attackers as diamonds, victims as squares), each node a link with a tooltip."""
    if not g:
        return Markup('<p class="empty">No incident to draw.</p>')
    big = g.number_of_nodes() > 150
    r = 4.0 if big else 6.5
    parts = [f'<svg class="graph" viewBox="0 0 {SIZE} {SIZE}" role="img" '
             f'aria-label="Attackers, incidents and victims">', '<g class="edges">']
    for u, v in g.edges():
        (x1, y1), (x2, y2) = pos[u], pos[v]
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')
    parts.append('</g><g class="nodes">')
    for node, d in g.nodes(data=True):
        x, y = pos[node]
        deg = g.degree(node)
        count = "" if d["kind"] == "incident" else f" · {deg} incident" + ("s" if deg != 1 else "")
        title = f"<title>{_e(d['label'])}{count}</title>"
        if d["kind"] == "incident":
            mark = f'<circle class="n-incident t-{_e(d["type"])}" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}">{title}</circle>'
        elif d["kind"] == "actor":
            s = r * (1.6 + min(deg, 10) * 0.12)
            mark = (f'<path class="n-actor" d="M{x:.1f} {y - s:.1f}L{x + s:.1f} {y:.1f}L{x:.1f} {y + s:.1f}'
                    f'L{x - s:.1f} {y:.1f}Z">{title}</path>')
        else:
            s = r * (1.1 + min(deg, 10) * 0.1)
            mark = (f'<rect class="n-victim" x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" '
                    f'height="{2 * s:.1f}" rx="1.5">{title}</rect>')
        text = ""
        if labelled(d["kind"], deg, big):
            name = d["label"] if len(d["label"]) <= 28 else d["label"][:27] + "…"
            text = f'<text x="{x + r + 5:.1f}" y="{y + 4:.1f}">{_e(name)}</text>'
        parts.append(f'<a href="{_e(d["href"])}" class="node k-{d["kind"]}" data-node="{_e(node)}">{mark}{text}</a>')
    parts.append("</g></svg>")
    return Markup("".join(parts))
