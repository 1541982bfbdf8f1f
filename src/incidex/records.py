"""Typed records passed between the pipeline stages.

ingest -> RawDocument -> clean -> Article -> extract -> Incident -> resolve/store.

Each stage only sees these records, never another stage's internals, so that a
reader, the cleaner or the extractor can be replaced on its own. ``to_dict``
gives the shape of ``shared/schema/incident.schema.json``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from functools import lru_cache
from typing import Any, Literal

DocKind = Literal["text", "html"]
DatePrecision = Literal["day", "week", "month", "year"]
AttributionStatus = Literal["claimed", "attributed", "suspected", "denied", "unknown"]
Outcome = Literal["successful", "attempted", "unknown"]

ATTACK_TYPES = (
    "ransomware", "wiper", "ddos", "data-breach", "espionage", "phishing", "defacement",
    "supply-chain", "hack-and-leak", "account-takeover", "malware", "other",
)
SECTORS = (
    "government", "legislature", "military", "law-enforcement", "healthcare", "finance",
    "energy", "telecom", "transport", "aviation", "education", "retail", "manufacturing",
    "media", "technology", "entertainment", "utilities", "other",
)
RESPONSE_KINDS = (
    "sanctions", "diplomatic", "indictment", "arrest", "takedown", "shutdown", "statement", "other",
)


class IncidexError(Exception):
    """The documented error type: every failure the user can act on is one of these."""


class InputError(IncidexError):
    """An input that cannot be read: binary, empty, malformed, oversized, refused URL."""

    def __init__(self, origin: str, reason: str):
        super().__init__(f"{origin}: {reason}")
        self.origin = origin
        self.reason = reason


@lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` without its deep copy of every leaf value: records are
    serialised for every stored incident and mention, and the copy was most of the cost."""
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass
class RawDocument:
    """One document as a reader found it, before cleaning.

    ``content`` is decoded text (plain text or HTML, per ``kind``); the
    metadata fields are hints from the container (JSONL fields, feed entry,
    HTTP response) that the cleaner may complete from the content itself.
    """

    origin: str
    content: str
    kind: DocKind = "text"
    url: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None
    source: str | None = None
    external_id: str | None = None
    fetched_at: str | None = None
    raw: str | None = None  # the original input when ``content`` was derived from it (HTML page, text with header lines)


@dataclass
class ReadFailure:
    """A reader's report that one item could not be read; the batch goes on."""

    origin: str
    reason: str


@dataclass
class Article:
    """A cleaned article. ``body`` is the text every evidence offset points into."""

    id: str
    body: str
    url: str | None = None
    source: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None
    language: str | None = None
    external_id: str | None = None
    origin: str | None = None
    raw: str | None = None
    raw_kind: DocKind = "text"
    fetched_at: str | None = None
    ingested_at: str | None = None
    signature: list[int] | None = None
    duplicate_of: str | None = None
    removed: list[str] = field(default_factory=list)

    def to_dict(self, *, raw: bool = False) -> dict[str, Any]:
        d = _plain(self)
        d["body_chars"] = len(self.body)
        if not raw:
            d.pop("raw", None)
            d.pop("signature", None)
        return d

    def header(self) -> dict[str, Any]:
        """The ``article`` object of the extraction output contract."""
        return {
            "id": self.id, "url": self.url, "source": self.source, "title": self.title,
            "author": self.author, "published": self.published, "language": self.language,
            "external_id": self.external_id, "body_chars": len(self.body),
        }


@dataclass
class DateValue:
    value: str  # YYYY, YYYY-MM or YYYY-MM-DD
    precision: DatePrecision
    confidence: float = 1.0
    mention: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"value": self.value, "precision": self.precision, "confidence": round(self.confidence, 2)}
        if self.mention:
            d["mention"] = self.mention
        return d


@dataclass
class Evidence:
    """Offsets of the text that supports ``field``: into the article's body, or into its
    headline when ``part`` is "title" (the headline is read as part of the text)."""

    field: str
    start: int
    end: int
    text: str
    article_id: str | None = None
    part: Literal["body", "title"] = "body"

    def to_dict(self) -> dict[str, Any]:
        d = {"field": self.field, "start": self.start, "end": self.end, "text": self.text}
        if self.article_id:
            d["article_id"] = self.article_id
        if self.part != "body":
            d["part"] = self.part
        return d


@dataclass
class Actor:
    name: str
    mention: str | None = None
    aliases: list[str] = field(default_factory=list)
    kind: Literal["group", "state", "individual", "unknown"] = "unknown"
    state_link: str | None = None
    kb_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass
class Victim:
    name: str
    country: str | None = None
    sector: str | None = None
    mention: str | None = None
    named: bool = True
    aliases: list[str] = field(default_factory=list)
    entity_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass
class Response:
    kind: str
    by: str | None = None
    against: str | None = None
    date: DateValue | None = None
    mention: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "by": self.by, "against": self.against,
                "date": self.date.to_dict() if self.date else None, "mention": self.mention}


@dataclass
class Impact:
    records_affected: int | None = None
    people_affected: int | None = None
    ransom_usd: float | None = None
    services_disrupted: bool | None = None
    data_destroyed: bool | None = None
    data_leaked: bool | None = None
    facts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass
class Attribution:
    status: AttributionStatus = "unknown"
    by: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass
class Incident:
    id: str
    summary: str = ""
    attack_types: list[str] = field(default_factory=list)
    attackers: list[Actor] = field(default_factory=list)
    attribution: Attribution = field(default_factory=Attribution)
    victims: list[Victim] = field(default_factory=list)
    date: DateValue | None = None
    outcome: Outcome = "unknown"
    impact: Impact = field(default_factory=Impact)
    responses: list[Response] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)
    malware: list[str] = field(default_factory=list)
    cves: list[str] = field(default_factory=list)
    iocs: list[dict[str, str]] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    confidence: float = 0.5
    background: bool = False
    # Filled by cross-article resolution: every reported value with its sources,
    # and the fields whose sources disagree.
    provenance: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "summary": self.summary,
            "attack_types": list(self.attack_types),
            "attackers": [a.to_dict() for a in self.attackers],
            "attribution": self.attribution.to_dict(),
            "victims": [v.to_dict() for v in self.victims],
            "date": self.date.to_dict() if self.date else None,
            "outcome": self.outcome,
            "impact": self.impact.to_dict(),
            "responses": [r.to_dict() for r in self.responses],
            "techniques": list(self.techniques),
            "malware": list(self.malware),
            "cves": list(self.cves),
            "iocs": list(self.iocs),
            "evidence": [e.to_dict() for e in self.evidence],
            "confidence": round(self.confidence, 2),
            "background": self.background,
            "provenance": self.provenance,
            "conflicts": list(self.conflicts),
        }


@dataclass
class ArgumentMention:
    """One event argument as the text words it (CASIE's mention level): "the hackers", "Acme's servers".

    Incident records keep named parties; mentions keep every span the trained
    model tagged, with its offsets into the body, for analysts and evaluation.
    """

    role: str  # CASIE role: Attacker, Victim, Time, Place, Tool, Compromised-Data, ...
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "start": self.start, "end": self.end, "text": self.text}


@dataclass
class EventMention:
    """One event trigger ("breached", "ransom demand") with its type, realis and arguments."""

    subtype: str  # Databreach, Phishing, Ransom, DiscoverVulnerability, PatchVulnerability
    realis: str  # Actual, Generic (habitual/general statements) or Other (failed, future, hypothetical)
    start: int
    end: int
    text: str
    attack_type: str | None = None  # the schema's attack type, for attack subtypes
    arguments: list[ArgumentMention] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"subtype": self.subtype, "realis": self.realis, "attack_type": self.attack_type,
                "trigger": {"start": self.start, "end": self.end, "text": self.text},
                "arguments": [a.to_dict() for a in self.arguments]}


@dataclass
class ExtractionResult:
    """What extraction returns for one article: the output contract.

    ``events`` and ``arguments`` are the trained model's mention-level output
    (empty when it is switched off); the schema allows them as extra properties.
    """

    article: Article
    incidents: list[Incident] = field(default_factory=list)
    events: list[EventMention] = field(default_factory=list)
    arguments: list[ArgumentMention] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {"article": self.article.header(), "incidents": [i.to_dict() for i in self.incidents]}
        if self.events or self.arguments:
            d["events"] = [e.to_dict() for e in self.events]
            d["arguments"] = [a.to_dict() for a in self.arguments]
        return d
