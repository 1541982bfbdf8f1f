"""Request and response bodies of the REST API, for validation and the OpenAPI document.

Response models describe the records ``incidex.records`` and the JSON export
produce (``extra="allow"``: a later field added to a record is passed on, as
the incident schema allows). Request models forbid unknown fields.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from incidex import validate
from incidex.serve.queries import RawText


#: A required article text: some character that is not whitespace (``RawText`` refuses a blank one).
NOT_BLANK = {"pattern": r"\S"}


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    detail: str = Field(description="What was wrong and how to fix it.")
    errors: list[dict[str, Any]] | None = Field(None, description="Validation errors: where and what.")


class DateOut(Open):
    value: str
    precision: Literal["day", "week", "month", "year"]
    confidence: float | None = None
    mention: str | None = None


class EvidenceOut(Open):
    field: str
    start: int
    end: int
    text: str | None = None
    article_id: str | None = None


class ActorOut(Open):
    name: str
    mention: str | None = None
    aliases: list[str] = []
    kind: str | None = None
    state_link: str | None = None
    kb_id: str | None = None


class VictimOut(Open):
    name: str
    country: str | None = None
    sector: str | None = None


class SourceOut(Open):
    article_id: str
    role: Literal["primary", "background", "syndicated"]
    url: str | None = None
    source: str | None = None
    published: str | None = None


class IncidentRecord(Open):
    """An incident as the JSON export writes it: the extraction record plus its sources."""

    id: str
    summary: str = ""
    attack_types: list[str]
    attackers: list[ActorOut]
    attribution: dict[str, Any]
    victims: list[VictimOut]
    date: DateOut | None
    outcome: Literal["successful", "attempted", "unknown"]
    impact: dict[str, Any] = {}
    responses: list[dict[str, Any]] = []
    techniques: list[str] = []
    malware: list[str] = []
    cves: list[str] = []
    iocs: list[dict[str, Any]] = []
    evidence: list[EvidenceOut] = []
    confidence: float | None = None
    background: bool = False
    provenance: dict[str, Any] = {}
    conflicts: list[str] = []
    sources: list[SourceOut] = []


class IncidentPage(BaseModel):
    total: int = Field(description="Incidents matching the filters (at most [serve] count_cap).")
    total_is_lower_bound: bool = Field(description="True when more incidents match than `total` says.")
    limit: int
    offset: int
    items: list[IncidentRecord]
    hints: list[str] | None = Field(None, description="Only on an empty first page: which actor or victim filter "
                                    "no stored incident matches, with the closest stored names.")


class ArticleHeader(Open):
    id: str
    url: str | None = None
    source: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None
    language: str | None = None
    duplicate_of: str | None = None
    body_chars: int


class ArticlePage(BaseModel):
    limit: int
    offset: int
    items: list[ArticleHeader]


class ArticleIncident(BaseModel):
    id: str
    role: str
    summary: str
    evidence: list[EvidenceOut] = Field(description="Evidence spans located in this article's body.")


class ArticleDetail(ArticleHeader):
    body: str = Field(description="The cleaned text every evidence offset points into.")
    incidents: list[ArticleIncident] = []


class ActorSummary(Open):
    id: str = Field(description="The kb id, or `name:<name>` for an actor the knowledge base does not know.")
    name: str
    names: list[str] = Field(description="Names the news used for it.")
    name_counts: list[dict[str, Any]] | None = Field(
        None, description="On one actor: each name the news used, with the number of incidents using it.")
    aliases: list[str] = Field(description="Other names: those used in the news and the knowledge base's aliases.")
    kind: str | None = None
    kb_id: str | None = None
    kb_type: str | None = None
    state_link: str | None = Field(None, description="ISO 3166-1 alpha-2 of the state it is linked to.")
    incidents: int
    first: str | None = Field(None, description="Earliest incident date (YYYY-MM-DD).")
    last: str | None = Field(None, description="Latest incident date (YYYY-MM-DD).")


class ActorPage(BaseModel):
    limit: int
    offset: int
    items: list[ActorSummary]


class VictimSummary(Open):
    name: str
    country: str | None = None
    sector: str | None = None
    incidents: int
    first: str | None = None
    last: str | None = None


class VictimPage(BaseModel):
    limit: int
    offset: int
    items: list[VictimSummary]


class SearchResult(BaseModel):
    q: str
    incidents: list[IncidentRecord]
    articles: list[ArticleHeader]


class Count(Open):
    key: str
    count: int


class MonthTypeCount(BaseModel):
    month: str
    type: str
    count: int


class StatsOut(BaseModel):
    total: int
    by_month: list[Count]
    by_month_type: list[MonthTypeCount]
    undated: int = Field(description="Matching incidents without a date: in no month.")
    year_only: int = Field(description="Matching incidents dated only to the year: in no month.")
    by_country: list[Count]
    by_sector: list[Count]
    by_type: list[Count]
    by_actor: list[Count]
    by_outcome: list[Count]


class _ArticleMeta(RawText):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nul_allowed: ClassVar[bool] = True  # the readers drop NULs from an article's text and fields

    title: str = Field(None, max_length=1000)
    published: str = Field(None, max_length=64, description="ISO 8601 date or timestamp.")
    source: str = Field(None, max_length=200, description="Publisher domain.")
    author: str = Field(None, max_length=300)

    # a date that cannot be read is refused (422), never stored as "no date"
    _published = field_validator("published")(classmethod(lambda cls, v: validate.published("published", v)))


# Absent fields are left out, not null: the JSON schema then says exactly what the validators check.
class ExtractIn(_ArticleMeta):
    """An article to extract (nothing is stored): its text or its HTML page."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["text"]}, {"required": ["html"]}]})

    text: str = Field(None, min_length=1, json_schema_extra=NOT_BLANK,
                      description="Plain text (header lines such as 'Title:' are read).")
    html: str = Field(None, min_length=1, json_schema_extra=NOT_BLANK, description="An HTML page (boilerplate is removed).")
    url: str = Field(None, max_length=2000, description="Where the text came from (not fetched here).")

    @model_validator(mode="after")
    def _one(self) -> "ExtractIn":
        if (self.text is None) == (self.html is None):
            raise ValueError("give exactly one of 'text' or 'html'")
        return self


class ArticleIn(_ArticleMeta):
    """An article to ingest: its text, its HTML page, or a URL to fetch (page or feed)."""

    model_config = ConfigDict(json_schema_extra={
        "anyOf": [{"required": ["text"]}, {"required": ["html"]}, {"required": ["url"]}],
        "not": {"required": ["text", "html"]}})

    text: str = Field(None, min_length=1, json_schema_extra=NOT_BLANK,
                      description="Plain text (header lines such as 'Title:' are read).")
    html: str = Field(None, min_length=1, json_schema_extra=NOT_BLANK, description="An HTML page (boilerplate is removed).")
    url: str = Field(None, max_length=2000, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$",
                            description="With text/html: where it came from. Alone: fetched (http/https; "
                                        "private and link-local addresses refused unless allowed).")

    @model_validator(mode="after")
    def _one(self) -> "ArticleIn":
        if self.text is not None and self.html is not None:
            raise ValueError("give 'text' or 'html', not both")
        if self.text is None and self.html is None and self.url is None:
            raise ValueError("give 'text', 'html' or 'url'")
        return self


class IngestedArticle(BaseModel):
    id: str
    incidents: list[str]


class IngestOut(BaseModel):
    read: int
    new: int
    duplicate: int
    unchanged: int
    failed: int
    incidents: int = Field(description="Incidents extracted from the new articles.")
    merged: int = Field(description="Of those, how many joined an incident already stored.")
    articles: list[IngestedArticle]
    failures: list[dict[str, str]]


class ExtractOut(BaseModel):
    article: dict[str, Any]
    body: str = Field(description="The cleaned text the evidence offsets point into.")
    incidents: list[IncidentRecord]

