"""An alert's Atom feed (RFC 4287): the newest incidents its filter matches, newest stored first.

Entry ids are ``urn:incidex:incident:ID`` and never change, so a feed reader
shows each incident once; ``updated`` moves when a later report changes the
incident. Built with ElementTree (escaping is the library's, not ours).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    e = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        e.text = text
    return e


def _when(dt: datetime | None) -> str:
    return (dt or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe(doc: dict[str, Any]) -> str:
    """The facts of an incident in a few plain lines (the entry's content)."""
    lines = [doc.get("summary") or ""]
    facts = [("Attack types", ", ".join(doc.get("attack_types") or [])),
             ("Attackers", ", ".join(a["name"] for a in doc.get("attackers") or [])),
             ("Victims", ", ".join(v["name"] + (f" ({v['country']})" if v.get("country") else "")
                                   for v in doc.get("victims") or [])),
             ("Date", (doc.get("date") or {}).get("value") or ""),
             ("Outcome", doc.get("outcome") or "")]
    lines += [f"{k}: {v}" for k, v in facts if v]
    return "\n".join(ln for ln in lines if ln)


def feed_xml(alert: dict[str, Any], matches: list[dict[str, Any]], base_url: str) -> bytes:
    """``matches``: ``Store.alert_matches`` rows (doc, created_at, updated_at)."""
    base = base_url.rstrip("/")
    name = alert["name"]
    root = ET.Element(f"{{{ATOM}}}feed")
    _el(root, "id", f"urn:incidex:alert:{name}")
    _el(root, "title", f"incidex alert: {name}")
    from incidex.alerts import filters_text

    _el(root, "subtitle", f"New incidents matching {filters_text(alert['filters'])}")
    _el(root, "updated", _when(max((m["updated_at"] for m in matches), default=None)))
    _el(root, "link", rel="self", href=f"{base}/feeds/{name}.atom", type="application/atom+xml")
    _el(root, "link", rel="alternate", href=f"{base}/", type="text/html")
    _el(_el(root, "author"), "name", "incidex")
    _el(root, "generator", "incidex")
    for m in matches:
        doc = m["doc"]
        entry = _el(root, "entry")
        _el(entry, "id", f"urn:incidex:incident:{doc['id']}")
        _el(entry, "title", doc.get("summary") or doc["id"])
        _el(entry, "link", rel="alternate", href=f"{base}/incidents/{doc['id']}", type="text/html")
        _el(entry, "published", _when(m["created_at"]))
        _el(entry, "updated", _when(m["updated_at"]))
        for t in doc.get("attack_types") or []:
            _el(entry, "category", term=t)
        _el(entry, "content", describe(doc), type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
