"""Analysts' decisions on entities: one organisation under several names, or two
organisations wrongly taken for one. Decisions are stored, so re-processing
(which re-attaches every victim name to an entity) keeps them."""
from __future__ import annotations

import hashlib

from . import names


def merge_entities(store, keep: str, other: str) -> bool:
    """Every alias of ``other`` becomes an alias of ``keep``."""
    a, b = store.get_entity(keep), store.get_entity(other)
    if a is None or b is None or keep == other:
        return False
    store.move_aliases(other, keep)
    store.add_decision("alias", other, keep, f"entity {other} merged into {keep}")
    return True


def split_entity(store, entity_id: str, aliases: list[str]) -> str | None:
    """The given aliases name another organisation: they move to a new entity."""
    ent = store.get_entity(entity_id)
    if ent is None or not aliases:
        return None
    wanted = {a.casefold() for a in aliases}
    moving = [a for a in ent["aliases"] if a.casefold() in wanted]
    if not moving or len(moving) == len(ent["aliases"]):
        return None
    country = ent.get("country")
    new_id = "org:" + hashlib.sha1(f"{names.key(moving[0], country)}|split|{entity_id}".encode()).hexdigest()[:12]
    store.add_entity(new_id, ent["kind"], moving[0], country)
    store.move_aliases(entity_id, new_id, [names.key(a, country) for a in moving])
    for a in moving:
        store.add_decision("unalias", entity_id, new_id, a)
    return new_id
