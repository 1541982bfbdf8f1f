"""The REST API, mounted under ``/api/v1`` (endpoints, auth and config: docs/api.md).

The incident endpoints return their JSON directly: their ``response_model``
documents the shape in the OpenAPI document (and the schema tests check every
response against it) without validating each 50-record page again.

A thin skin over the store and ``incidex.api``, like the CLI: listings take
the CLI's filters, records are the JSON export's, ``POST /articles`` runs the
ingest path of ``incidex ingest``. Reads need a key only when ``[serve]
read_open`` is false; writes always do (``incidex.serve.security``).
"""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from incidex import __version__
from incidex.records import IncidexError, RawDocument
from incidex.serve import models as m
from incidex.serve.highlight import article_evidence
from incidex.serve.queries import (
    ActorQuery, ArticleQuery, IdPath, IncidentFilters, IncidentQuery, SearchQuery, StatsQuery, VictimQuery,
    incident_page, paging, records,
)
from incidex.serve.security import require_read, require_write

MAX_EXPORT = 100_000  # the documented bound; [serve] max_export can only lower it
ERRORS = {status: {"model": m.ErrorBody} for status in (400, 401, 404, 413, 422)}



class ParamError(IncidexError):
    """A parameter that passed type checks but not the server's limits: a 422."""


def _store(request: Request) -> Any:
    return request.app.state.store


def _config(request: Request) -> Any:
    return request.app.state.config


def _paging(q: Any, config: Any) -> tuple[int, int]:
    try:
        return paging(q, config)
    except IncidexError as e:
        raise ParamError(str(e)) from None


router = APIRouter(responses=ERRORS, dependencies=[Depends(require_read)])
write_router = APIRouter(responses=ERRORS)


@router.get("/", tags=["meta"], summary="Where everything is")
def index(request: Request) -> dict[str, Any]:
    base = str(request.url_for("index")).rstrip("/")
    return {"name": "incidex", "version": __version__, "openapi": f"{base}/openapi.json", "docs": f"{base}/docs",
            "incidents": f"{base}/incidents", "actors": f"{base}/actors", "victims": f"{base}/victims",
            "articles": f"{base}/articles", "search": f"{base}/search", "stats": f"{base}/stats",
            "export": f"{base}/export", "taxii": str(request.url_for("taxii_discovery"))}


# ----------------------------------------------------------------- incidents

@router.get("/incidents", tags=["incidents"], response_model=m.IncidentPage,
            summary="Incidents matching the filters, latest first (by relevance with q)")
def list_incidents(request: Request, q: Annotated[IncidentQuery, Query()]) -> JSONResponse:
    try:
        return JSONResponse(incident_page(_store(request), q, _config(request), request.app.state.stats))
    except IncidexError as e:
        raise ParamError(str(e)) from None


@router.get("/incidents/{incident_id}", tags=["incidents"], response_model=m.IncidentRecord,
            summary="One incident: facts, evidence offsets, provenance and sources")
def get_incident(request: Request, incident_id: IdPath) -> JSONResponse:
    store = _store(request)
    inc = store.get_incident(incident_id)
    if inc is None:
        raise HTTPException(404, f"no incident {incident_id!r}")
    return JSONResponse(records(store, [inc])[0])


# ----------------------------------------------------------------- actors and victims

@router.get("/actors", tags=["actors"], response_model=m.ActorPage, summary="Attackers, most incidents first")
def list_actors(request: Request, q: Annotated[ActorQuery, Query()]) -> dict[str, Any]:
    limit, offset = _paging(q, _config(request))
    return {"limit": limit, "offset": offset, "items": _store(request).list_actors(q.q, limit=limit, offset=offset)}


@router.get("/actors/{actor_id}", tags=["actors"], response_model=m.ActorSummary,
            summary="One attacker: names, KB aliases, state link; its incidents: /incidents?actor={id}")
def get_actor(request: Request, actor_id: IdPath) -> dict[str, Any]:
    actor = _store(request).get_actor(actor_id)
    if actor is None:
        raise HTTPException(404, f"no actor {actor_id!r}")
    return actor


@router.get("/victims", tags=["victims"], response_model=m.VictimPage, summary="Victims, most incidents first")
def list_victims(request: Request, q: Annotated[VictimQuery, Query()]) -> dict[str, Any]:
    limit, offset = _paging(q, _config(request))
    rows = _store(request).list_victims(q.q, country=q.country.upper() if q.country else None, sector=q.sector,
                                        limit=limit, offset=offset)
    return {"limit": limit, "offset": offset, "items": rows}


# ----------------------------------------------------------------- articles

@router.get("/articles", tags=["articles"], response_model=m.ArticlePage,
            summary="Stored articles, newest first (by relevance with q)")
def list_articles(request: Request, q: Annotated[ArticleQuery, Query()]) -> dict[str, Any]:
    limit, offset = _paging(q, _config(request))
    rows = _store(request).list_articles(query=q.q, source=q.source, since=q.since, until=q.until, limit=limit,
                                         offset=offset, include_duplicates=q.duplicates)
    return {"limit": limit, "offset": offset, "items": [_header(a) for a in rows]}


def _header(a: Any) -> dict[str, Any]:
    d = a.header()
    d["duplicate_of"] = a.duplicate_of
    return d


@router.get("/articles/{article_id}", tags=["articles"], response_model=m.ArticleDetail,
            summary="One article: cleaned body and the evidence spans of its incidents")
def get_article(request: Request, article_id: IdPath) -> dict[str, Any]:
    store = _store(request)
    art = store.get_article(article_id)
    if art is None:
        raise HTTPException(404, f"no article {article_id!r}")
    d = _header(art)
    d["body"] = art.body
    d["incidents"] = [{"id": inc.id, "role": role, "summary": inc.summary, "evidence": [e.to_dict() for e in ev]}
                      for inc, role, ev in article_evidence(store, art)]
    return d


# ----------------------------------------------------------------- search and statistics

@router.get("/search", tags=["search"], response_model=m.SearchResult,
            summary="Full-text search over incidents and articles")
def search(request: Request, q: Annotated[SearchQuery, Query()]) -> JSONResponse:
    store = _store(request)
    incidents = store.list_incident_docs(query=q.q, limit=q.limit)
    articles = store.list_articles(query=q.q, limit=q.limit)
    return JSONResponse({"q": q.q, "incidents": records(store, incidents),
                         "articles": [_header(a) for a in articles]})


@router.get("/stats", tags=["statistics"], response_model=m.StatsOut,
            summary="Incident counts by month, month and type, country, sector, type, actor and outcome")
def stats(request: Request, q: Annotated[StatsQuery, Query()]) -> dict[str, Any]:
    filters = q.store_filters()
    try:
        return request.app.state.stats.summary(filters, top=q.top)
    except IncidexError as e:
        raise ParamError(str(e)) from None


# ----------------------------------------------------------------- export

EXPORT_MEDIA = {"json": ("application/json", "json"), "jsonl": ("application/x-ndjson", "jsonl"),
                "stix": ("application/stix+json;version=2.1", "stix.json"),
                "misp": ("application/json", "misp.json"), "csv": ("text/csv; charset=utf-8", "csv"),
                "parquet": ("application/zip", "parquet.zip")}


class ExportQuery(IncidentFilters):
    format: Literal["json", "jsonl", "stix", "misp", "csv", "parquet"] = Field(
        "json", description="json, jsonl, stix (STIX 2.1 bundle), misp (MISP events), csv (the main table), "
                            "parquet (a zip of the four tables).")
    limit: int | None = Field(None, ge=1, le=MAX_EXPORT, description="At most this many incidents (default and "
                                                                      "maximum: [serve] max_export).")


@router.get("/export", tags=["export"], summary="Download the incidents matching the filters in an export format",
            response_class=Response,
            responses={200: {"description": "The export file.",
                             "content": {mt: {} for mt, _ in EXPORT_MEDIA.values()}}})
def export(request: Request, q: Annotated[ExportQuery, Query()]) -> Response:
    from incidex.export import export as run_export
    from incidex.export import select_incidents

    store, config = _store(request), _config(request)
    limit = q.limit or config.max_export
    if limit > config.max_export:
        raise ParamError(f"limit: at most {config.max_export} ([serve] max_export)")
    filters = {k: v for k, v in q.store_filters().items() if v is not None}
    incidents = select_incidents(store, limit=limit, **filters)
    media, ext = EXPORT_MEDIA[q.format]
    try:
        if q.format == "parquet":
            with tempfile.TemporaryDirectory(prefix="incidex-export-") as tmp:
                result = run_export("parquet", incidents, store, Path(tmp) / "incidents.parquet")
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                    for f in result.files:
                        z.write(f, f.name)
                content: bytes | str = buf.getvalue()
        else:
            out = io.StringIO()
            run_export(q.format, incidents, store, stream=out)
            content = out.getvalue()
    except IncidexError as e:
        raise ParamError(str(e)) from None
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="incidents.{ext}"'})


# ----------------------------------------------------------------- extraction and ingest

@router.post("/extract", tags=["ingest"], response_model=m.ExtractOut,
             summary="Extract the incidents of an article without storing anything")
def extract(request: Request, body: m.ExtractIn) -> dict[str, Any]:
    from incidex.api import extract_document, read_content

    kind = "html" if body.html is not None else "text"
    doc = _first_document(read_content(body.html if kind == "html" else body.text, kind=kind, origin="<extract>",
                                       url=body.url, title=body.title, published=body.published,
                                       source=body.source, author=body.author,
                                       settings=request.app.state.settings))
    try:
        result = extract_document(doc)
    except IncidexError as e:
        raise HTTPException(422, getattr(e, "reason", str(e))) from None
    return {"article": result.article.header(), "body": result.article.body,
            "incidents": [inc.to_dict() for inc in result.incidents]}


def _first_document(items: Any) -> RawDocument:
    for item in items:
        if isinstance(item, RawDocument):
            return item
        raise HTTPException(422, f"cannot read the article: {item.reason}")
    raise HTTPException(422, "cannot read the article: nothing found in it")


@write_router.post("/articles", tags=["ingest"], status_code=201, response_model=m.IngestOut,
                   summary="Ingest an article (text, HTML or URL) as `incidex ingest` does; needs an API key",
                   responses={201: {"description": "Stored: a new article or a syndicated copy of a stored one."},
                              200: {"model": m.IngestOut, "description": "Already stored: nothing changed."}})
def post_article(request: Request, body: m.ArticleIn, key: Annotated[dict, Depends(require_write)]) -> JSONResponse:
    from incidex.api import ingest, ingest_items, read_content

    store, settings = _store(request), request.app.state.settings
    origin = f"api:{key['name']}"
    if body.text is None and body.html is None:
        report = ingest([body.url], store, settings=settings)
    else:
        kind = "html" if body.html is not None else "text"
        report = ingest_items(read_content(body.html if kind == "html" else body.text, kind=kind, origin=origin,
                                           url=body.url, title=body.title, published=body.published,
                                           source=body.source, author=body.author, settings=settings), store)
    if not report.articles:
        reasons = "; ".join(f.reason for f in report.failed) or "nothing found in it"
        raise HTTPException(422, f"cannot ingest the article: {reasons}")
    d = report.to_dict()
    d["articles"] = [{"id": a, "incidents": [i.id for i in store.incidents_for_article(a)]} for a in report.articles]
    status = 201 if report.new or report.duplicate else 200
    return JSONResponse(m.IngestOut(**d).model_dump(), status_code=status)


# ----------------------------------------------------------------- alerts (saved searches)

class AlertIn(IncidentFilters):
    """A saved search: the incident filters, a name, and optionally a webhook (docs/alerts.md)."""

    name: str = Field(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                      description="Its feed is /feeds/NAME.atom.")
    webhook: str | None = Field(None, max_length=2000, description="POST each new matching incident here "
                                "(http/https; private addresses refused unless [ingest] allow_private_addresses).")
    secret: str | None = Field(None, min_length=8, max_length=200, description="HMAC signing secret "
                               "(default: generated, returned once).")


def _alert_out(alert: dict[str, Any], request: Request, secret: bool = False) -> dict[str, Any]:
    d = {k: v for k, v in alert.items() if k != "secret" or secret}
    d["feed"] = str(request.url_for("alert_feed", name=alert["name"]))
    return d


@router.get("/alerts", tags=["alerts"], summary="Saved searches: filters, webhook and Atom feed (never secrets)")
def list_alerts(request: Request) -> dict[str, Any]:
    return {"items": [_alert_out(a, request) for a in _store(request).list_alerts()]}


@router.get("/alerts/{name}", tags=["alerts"], summary="One alert, the incidents matching now and its latest deliveries")
def get_alert(request: Request, name: IdPath) -> dict[str, Any]:
    store = _store(request)
    alert = store.get_alert(name)
    if alert is None:
        raise HTTPException(404, f"no alert {name!r}")
    f = dict(alert["filters"])
    return {**_alert_out(alert, request), "matching": store.count_incidents_matching(query=f.pop("query", None), **f),
            "deliveries": store.list_deliveries(name)}


@write_router.post("/alerts", tags=["alerts"], status_code=201, summary="Save a search as an alert; needs an API key")
def post_alert(request: Request, body: AlertIn, key: Annotated[dict, Depends(require_write)]) -> dict[str, Any]:
    from incidex.alerts import create_alert
    from incidex.readers.fetch import check_url

    store = _store(request)
    if body.webhook:
        try:
            check_url(body.webhook, request.app.state.settings)
        except IncidexError as e:
            raise ParamError(f"webhook: {getattr(e, 'reason', e)}") from None
    try:
        alert = create_alert(store, body.name, body.store_filters(), webhook_url=body.webhook, secret=body.secret)
    except IncidexError as e:
        raise ParamError(str(e)) from None
    return _alert_out(alert, request, secret=True)


@write_router.delete("/alerts/{name}", tags=["alerts"], status_code=204, response_class=Response,
                     summary="Remove an alert and its delivery log; needs an API key")
def delete_alert(request: Request, name: IdPath, key: Annotated[dict, Depends(require_write)]) -> Response:
    if not _store(request).remove_alert(name):
        raise HTTPException(404, f"no alert {name!r}")
    return Response(status_code=204)
