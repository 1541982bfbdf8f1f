"""The one threat-actor resolver: what a user types -> the actor the knowledge base means.

Used by the store's actor filters and pages (so by the CLI ``--actor``, the REST
API ``/actors/{name}``, ``/actors?q=``, ``?actor=`` and the web UI) and by
anything that shows an actor's name. A query is a canonical name, any alias,
or a kb id, in any case and punctuation ("Fancy Bear" = "fancy-bear" =
"FANCY BEAR" = ``attack:G0007`` = ``G0007``; a MISP entry by ``misp:<uuid>`` or
the bare uuid). A ransomware family a group runs under its name resolves to the
group (Playcrypt -> Play), so one actor has one id and one display name in every
view and export.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from incidex.extraction.kb import load_kb, norm_key

_ATTACK_ID = re.compile(r"^(?:attack:)?([GCS]\d{4})$", re.IGNORECASE)
_UUID = re.compile(r"^(?:misp:)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.IGNORECASE)
#: a query shorter than this (letters and digits) does not search aliases by substring
MIN_SEARCH = 3
MAX_SEARCH_IDS = 500


@dataclass(frozen=True)
class ActorRef:
    """A resolved actor: its kb id, display name, KB aliases, and every kb id filed under it."""

    kb_id: str
    name: str
    aliases: tuple[str, ...]
    ids: tuple[str, ...]  # kb_id first, then the ransomware families it runs


def _ref(kb_id: str) -> ActorRef | None:
    kb = load_kb()
    kb_id = kb.canonical_actor_id(kb_id)
    info = kb.actor(kb_id)
    if info is not None:
        return ActorRef(kb_id, info.name, info.aliases, (kb_id, *kb.operated_families(kb_id)))
    mal = kb.malware(kb_id)
    if mal is not None:
        return ActorRef(kb_id, mal.name, mal.aliases, (kb_id,))
    return None


def resolve(query: str | None) -> ActorRef | None:
    """The actor a name, alias or kb id means, or ``None`` (not in the knowledge base)."""
    q = (query or "").strip()
    if not q:
        return None
    if q.startswith("name:"):  # the id list_actors gives actors the KB does not know
        return None
    m = _ATTACK_ID.match(q)
    if m:
        return _ref("attack:" + m.group(1).upper())
    m = _UUID.match(q)
    if m:
        return _ref("misp:" + m.group(1).lower())
    kb = load_kb()
    info = kb.resolve_actor(q)
    if info is not None:
        return _ref(info.kb_id)
    mal = kb.resolve_malware(q)
    if mal is not None and (mal.kind == "ransomware" or mal.gang or mal.operator):
        return _ref(mal.kb_id)
    return None


def filter_ids(query: str) -> tuple[str, ...]:
    """The kb ids an actor filter matches: the resolved actor's (with its families), else none."""
    ref = resolve(query)
    return ref.ids if ref else ()


def search_ids(query: str | None) -> tuple[str, ...]:
    """Kb ids of the actors whose name, alias or id contains the query (for ``/actors?q=``).

    An exact name, alias or id first; then, for queries of at least
    ``MIN_SEARCH`` letters or digits, every entry with a name containing it.
    """
    q = (query or "").strip()
    out: list[str] = []
    ref = resolve(q)
    if ref:
        out.extend(ref.ids)
    key = norm_key(q)
    if len(key) >= MIN_SEARCH:
        kb = load_kb()
        for info in kb.actors():
            if any(key in norm_key(n) for n in (info.name, *info.aliases)):
                cid = kb.canonical_actor_id(info.kb_id) or info.kb_id
                out.append(cid)
                out.extend(kb.operated_families(cid))
            if len(out) >= MAX_SEARCH_IDS:
                break
    return tuple(dict.fromkeys(out))


def display_name(kb_id: str | None, fallback: str | None = None) -> str | None:
    """The one display name of an actor id (its operating group's for a ransomware family)."""
    if kb_id:
        ref = _ref(kb_id)
        if ref:
            return ref.name
    return fallback


def canonical_actor(actor):
    """An incident's attacker (:class:`incidex.records.Actor`) filed under its canonical kb id
    and display name (a ransomware family's operating group); unknown actors unchanged."""
    if not getattr(actor, "kb_id", None):
        return actor
    ref = _ref(actor.kb_id)
    if ref is None or (ref.kb_id == actor.kb_id and ref.name == actor.name):
        return actor
    from dataclasses import replace

    aliases = [a for a in dict.fromkeys([*actor.aliases, actor.name]) if a != ref.name]
    return replace(actor, kb_id=ref.kb_id, name=ref.name, aliases=aliases)
