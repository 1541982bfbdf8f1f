"""A read-only TAXII 2.1 server for the STIX export, as a FastAPI router.

Mounted under ``/taxii2`` by ``incidex.serve.app.create_app``:

==============================================================  ===============================
``GET /taxii2/``                                                server discovery
``GET /taxii2/incidex/``                                        API root
``GET /taxii2/incidex/collections/``                            the one collection, "incidents"
``GET /taxii2/incidex/collections/{id}/``                       that collection
``GET /taxii2/incidex/collections/{id}/objects/``               objects (filters, paging)
``GET /taxii2/incidex/collections/{id}/objects/{object_id}/``   one object
``GET .../objects/{object_id}/versions/``                       its versions (one: the current)
``GET /taxii2/incidex/collections/{id}/manifest/``              manifest (filters, paging)
``GET /taxii2/incidex/status/{id}/``                            404 (read-only: no statuses)
``... /collections/incidents/...``                              308 to the same URL under the id
==============================================================  ===============================

``objects`` and ``manifest`` take ``added_after``, ``limit``, ``next``,
``match[id]``, ``match[type]``, ``match[version]`` and ``match[spec_version]``
(one object: all but the id and type filters). Errors are TAXII error
messages; the app's error handlers (``incidex.serve.app``) answer the same way
for what never reaches these routes (no route, 401, 405, a bad parameter).

The collection holds the objects of the STIX export of every stored incident
(``incidex.export.stix``), each object once, at its current version. An
object's ``date_added`` is the latest ``updated_at`` of the incidents it comes
from, so a client polling with ``added_after`` receives every object that a new
or changed incident created or changed (and, again, shared objects such as
locations that such an incident refers to, so it can resolve every reference).
Objects are ordered by ``(date_added, id)``; ``next`` is an opaque cursor on
that order, stable while the store changes.

The objects are built once and kept until the store changes (checked with two
indexed queries per request), so paging does not rebuild the export.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import AfterValidator

from incidex.export.common import UTC, parse_time, stable_uuid

MEDIA_TAXII = "application/taxii+json;version=2.1"
MEDIA_STIX = "application/stix+json;version=2.1"
API_ROOT = "incidex"
COLLECTION_ID = stable_uuid("taxii", "collection", "incidents")
ALIAS = "incidents"  # the collection's alias: collections/incidents/... redirects to collections/{id}/...
DEFAULT_PAGE = 100
MAX_PAGE = 1000
MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # we accept no content (read-only), but the field is required
#: The JSON schema of a TAXII 2.1 error message (section 3.6.1), for the OpenAPI document.
ERROR_SCHEMA = {"type": "object", "required": ["title"], "properties": {
    "title": {"type": "string"}, "description": {"type": "string"}, "error_id": {"type": "string"},
    "error_code": {"type": "string"}, "http_status": {"type": "string"}, "external_details": {"type": "string"},
    "details": {"type": "object"}}}


class TaxiiResponse(JSONResponse):
    media_type = MEDIA_TAXII

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_body(status: int, title: str, description: str | None = None) -> dict[str, Any]:
    """A TAXII 2.1 error message: ``title``, ``description`` and ``http_status`` (a string)."""
    body: dict[str, Any] = {"title": title, "http_status": str(status)}
    if description:
        body["description"] = description
    return body


def error_response(status: int, title: str, description: str | None = None,
                   headers: dict[str, str] | None = None) -> TaxiiResponse:
    """The error message as a response in the TAXII media type (the app's handlers use it for every
    error under ``/taxii2``, so a TAXII client never sees FastAPI's ``{"detail"}``)."""
    return TaxiiResponse(error_body(status, title, description), status_code=status, headers=headers)


_error = error_response


def not_found_description(path: str) -> str:
    """Why nothing answers ``path`` (under ``/taxii2``): an unknown API root, or no such resource."""
    parts = [p for p in path.split("/") if p]
    root = parts[1] if len(parts) > 1 and parts[0] == "taxii2" else None
    if root is not None and root != API_ROOT:
        return f"no API root {root!r}: this server has one, {API_ROOT!r}"
    return f"no TAXII resource at {path}"


def _timestamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ----------------------------------------------------------------- the object index

@dataclass(frozen=True)
class Entry:
    date_added: datetime
    id: str
    type: str
    version: str  # the object's ``modified`` (or ``created``), as serialized
    object: dict[str, Any]

    @property
    def cursor(self) -> tuple[datetime, str]:
        return (self.date_added, self.id)


class ObjectIndex:
    """The collection's objects, rebuilt from the store when it has changed."""

    def __init__(self, store: Any, page: int = 500):
        self.store = store
        self.page = page
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._by_id: dict[str, Entry] = {}
        self._state: tuple[int, datetime | None] | None = None  # (incident count, latest updated_at) built from

    def _changed(self) -> bool:
        if self._state is None:
            return True
        if self.store.count_incidents() != self._state[0]:
            return True
        return bool(self.store.list_incidents_since(self._state[1], limit=1))

    def entries(self) -> list[Entry]:
        with self._lock:
            if self._changed():
                self._rebuild()
            return self._entries

    def get(self, object_id: str) -> Entry | None:
        self.entries()
        return self._by_id.get(object_id)

    def _rebuild(self) -> None:
        from incidex.export import stix

        incidents, latest, offset = [], None, 0
        while True:
            rows = self.store.list_incidents_since(None, limit=self.page, offset=offset)
            incidents += [inc for inc, _ in rows]
            if rows:
                latest = max(latest or rows[-1][1], max(t for _, t in rows))
            if len(rows) < self.page:
                break
            offset += len(rows)
        graph = stix.build_graph(incidents, self.store)
        entries = []
        for obj, added in graph.objects():
            d = stix.as_dict(obj)
            entries.append(Entry(added, d["id"], d["type"], d.get("modified") or d.get("created") or "", d))
        entries.sort(key=lambda e: e.cursor)
        self._entries = entries
        self._by_id = {e.id: e for e in entries}
        self._state = (len(incidents), latest)


# ----------------------------------------------------------------- filters and paging

class BadRequest(Exception):
    pass


def _encode_cursor(entry: Entry) -> str:
    raw = f"{_timestamp(entry.date_added)}|{entry.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        stamp, object_id = raw.split("|", 1)
        when = parse_time(stamp)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        when = None
    if when is None:
        raise BadRequest("invalid 'next' value")
    return when, object_id


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def rfc3339(text: str) -> datetime | None:
    """A TAXII timestamp (RFC 3339, e.g. ``2024-05-02T09:30:00.000Z``) as aware UTC, else None.

    Strict, unlike the readers' date parsing: the OpenAPI document declares the
    format ``date-time``, so what it calls invalid (``2024``, ``May``) is refused.
    """
    if not _RFC3339.match(text):
        return None
    text = text.upper().replace("Z", "+00:00")
    whole, _, rest = text.partition(".")
    if rest:  # datetime reads at most six fraction digits
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{whole}.{digits[:6]}{rest[len(digits):]}"
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _filter(entries: list[Entry], params: Any, object_id: str | None = None) -> list[Entry]:
    added_after = params.get("added_after")
    after = None
    if added_after is not None:
        after = rfc3339(added_after)
        if after is None:
            raise BadRequest(f"invalid added_after timestamp {added_after!r} (RFC 3339, e.g. 2024-05-02T09:30:00Z)")
    ids = set(_csv(params.get("match[id]")))
    if object_id:
        ids = {object_id} if not ids or object_id in ids else {"-"}
    types = set(_csv(params.get("match[type]")))
    specs = _csv(params.get("match[spec_version]"))
    if specs and "2.1" not in specs:
        return []
    versions = _csv(params.get("match[version]")) or ["last"]
    keep_all = any(v in ("last", "first", "all") for v in versions)
    # a version that is no timestamp is a version no object has: like an unknown id or type, it matches
    # nothing (each object has one version, so last, first and all keep every object)
    wanted = set() if keep_all else {t for t in map(rfc3339, versions) if t is not None}
    if not keep_all and not wanted:
        return []
    out = []
    for e in entries:
        if after is not None and e.date_added <= after:
            continue
        if ids and e.id not in ids:
            continue
        if types and e.type not in types:
            continue
        if wanted and parse_time(e.version) not in wanted:
            continue
        out.append(e)
    return out


def _page(entries: list[Entry], params: Any, default: int = DEFAULT_PAGE,
          maximum: int = MAX_PAGE) -> tuple[list[Entry], bool]:
    limit_raw = params.get("limit")
    try:
        limit = int(limit_raw) if limit_raw not in (None, "") else default
    except ValueError:
        raise BadRequest(f"invalid limit {limit_raw!r}") from None
    if limit < 1:
        raise BadRequest("limit must be at least 1")
    limit = min(limit, maximum)
    token = params.get("next")
    if token:
        cursor = _decode_cursor(token)
        entries = [e for e in entries if e.cursor > cursor]
    return entries[:limit], len(entries) > limit


def _headers(page: list[Entry]) -> dict[str, str]:
    if not page:
        return {}
    return {"X-TAXII-Date-Added-First": _timestamp(page[0].date_added),
            "X-TAXII-Date-Added-Last": _timestamp(page[-1].date_added)}


_ANY_JSON = ("*/*", "application/*", "application/json")


def _acceptable(media_range: str) -> bool:
    """One Accept entry: TAXII 2.1 (or TAXII without a version), plain JSON or a wildcard, not q=0."""
    kind, *params = (p.strip() for p in media_range.split(";"))
    options = {k.strip().lower(): v.strip().strip('"') for k, _, v in (p.partition("=") for p in params)}
    if options.get("q", "1") in ("0", "0.0", "0.00", "0.000"):
        return False
    kind = kind.lower()
    if kind == "application/taxii+json":
        return options.get("version", "2.1") == "2.1"  # version=2.0 is another protocol: 406
    return kind in _ANY_JSON


def accepts(accept: str | None) -> bool:
    """Whether an Accept header lets us answer in TAXII 2.1: lenient (plain JSON, a wildcard or no
    header are served too), but a client asking for TAXII 2.0 only gets 406 rather than 2.1 bodies."""
    if not accept or not accept.strip():
        return True
    return any(_acceptable(r) for r in accept.split(",") if r.strip())


# ----------------------------------------------------------------- the router

def collection_info() -> dict[str, Any]:
    return {"id": COLLECTION_ID, "title": "incidents",
            "description": "Cyber incidents extracted from news by incidex, as STIX 2.1 objects "
                           "(incidents, actors, victims, techniques, source reports...).",
            "alias": ALIAS, "can_read": True, "can_write": False, "media_types": [MEDIA_STIX]}


# Query parameters, declared so that the OpenAPI document lists them; parsed by _filter and _page.
def _timestamp_param(value: str | None) -> str | None:
    """``added_after`` checked where it is declared, so that a bad one is a 400 before anything else
    (the alias's redirect included) and an empty one is as bad as any other non-timestamp."""
    if value is not None and rfc3339(value) is None:
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp, e.g. 2024-05-02T09:30:00Z")
    return value


AddedAfter = Annotated[str | None, Query(description="Only objects added after this timestamp (exclusive), "
                                                     "e.g. 2024-05-02T09:30:00.000Z.",
                                         json_schema_extra={"format": "date-time"}),
                       AfterValidator(_timestamp_param)]
Limit = Annotated[int | None, Query(ge=1, description=f"Objects per page (default {DEFAULT_PAGE}; more than the "
                                                        f"server's maximum, {MAX_PAGE} by default, is lowered).")]
Next = Annotated[str | None, Query(description="The `next` value of the previous page (an opaque token; one this "
                                               "server did not give is a 400).", pattern=r"^[A-Za-z0-9_-]+$")]
MatchId = Annotated[str | None, Query(alias="match[id]", description="Object ids, comma-separated.")]
MatchType = Annotated[str | None, Query(alias="match[type]", description="Object types, comma-separated.")]
MatchVersion = Annotated[str | None, Query(alias="match[version]",
                                           description="`last` (default), `first`, `all` or timestamps, "
                                                       "comma-separated.")]
MatchSpec = Annotated[str | None, Query(alias="match[spec_version]",
                                        description="STIX versions, comma-separated (this collection holds 2.1).")]


def object_params(added_after: AddedAfter = None, limit: Limit = None, next: Next = None,
                  match_version: MatchVersion = None, match_spec_version: MatchSpec = None) -> dict[str, Any]:
    """The parameters of "get an object": paging and the version filters."""
    return {"added_after": added_after, "limit": limit, "next": next, "match[version]": match_version,
            "match[spec_version]": match_spec_version}


def list_params(common: Annotated[dict, Depends(object_params)], match_id: MatchId = None,
                match_type: MatchType = None) -> dict[str, Any]:
    """The parameters of "get objects" and "get manifest": those of one object, plus id and type."""
    return {**common, "match[id]": match_id, "match[type]": match_type}


def _alias_redirect(request: Request) -> RedirectResponse:
    """The same request under the collection's id: a 308 (method and body kept).

    Why a redirect and not a second copy: the collection has one URL, the one its
    ``id`` names, and TAXII clients such as taxii2-client check that the id they
    read is in the URL they asked (so they must be given the id URL in the first
    place; the alias is a shorthand for people and plain HTTP clients).
    """
    collections = f"/{API_ROOT}/collections/"
    path = request.url.path.replace(f"{collections}{ALIAS}/", f"{collections}{COLLECTION_ID}/", 1)
    return RedirectResponse(str(request.url.replace(path=path)), status_code=308)


def make_router(get_store: Callable[[Request], Any] | None = None) -> APIRouter:
    """The TAXII 2.1 routes (mount with ``prefix="/taxii2"``).

    ``get_store(request)`` gives the store; by default ``request.app.state.store``.
    The object index is kept on ``request.app.state.taxii_index``.
    """
    # documented so OpenAPI clients (and the schema tests) know the TAXII media type and error statuses;
    # "4XX" also stands for 401 and 413 (and keeps FastAPI from documenting a 422 no TAXII route answers)
    error = {"content": {MEDIA_TAXII: {"schema": ERROR_SCHEMA}}}
    errors = {status: {"description": what, **error} for status, what in (
        (400, "Bad request (invalid filter or paging value)"), (403, "Forbidden (the collection is read-only)"),
        (404, "No such API root, collection, object or status"), (406, "Not acceptable (Accept must allow TAXII 2.1)"),
        ("4XX", "Another client error (401: an API key is needed; 413: body too large), as a TAXII error"))}
    in_collection = {308: {"description": f"The alias `{ALIAS}` as collection id: the same URL under the id"}}
    router = APIRouter(tags=["taxii"], default_response_class=TaxiiResponse, responses=errors)
    index_lock = threading.Lock()

    def store_of(request: Request) -> Any:
        return get_store(request) if get_store else request.app.state.store

    def index_of(request: Request) -> ObjectIndex:
        state = request.app.state
        with index_lock:
            idx = getattr(state, "taxii_index", None)
            store = store_of(request)
            if idx is None or idx.store is not store:
                idx = state.taxii_index = ObjectIndex(store)
        return idx

    def guard(request: Request, collection_id: str | None = None) -> Response | None:
        """The answer when the request cannot be served as asked: 406, the alias's redirect, or 404."""
        if not accepts(request.headers.get("accept")):
            return _error(406, "Not Acceptable", f"this server answers with {MEDIA_TAXII} only")
        if collection_id == ALIAS:
            return _alias_redirect(request)
        if collection_id is not None and collection_id != COLLECTION_ID:
            return _error(404, "Collection not found", f"no collection {collection_id!r} in this API root")
        return None

    def root_url(request: Request) -> str:
        return str(request.url_for("taxii_api_root"))

    @router.get("/", name="taxii_discovery")
    def discovery(request: Request) -> Response:
        if bad := guard(request):
            return bad
        root = root_url(request)
        return TaxiiResponse({"title": "incidex TAXII server",
                              "description": "Read-only TAXII 2.1 access to the cyber incidents incidex stores.",
                              "default": root, "api_roots": [root]})

    @router.get(f"/{API_ROOT}/", name="taxii_api_root")
    def api_root(request: Request) -> Response:
        if bad := guard(request):
            return bad
        return TaxiiResponse({"title": "incidex", "description": "Cyber incidents extracted from news.",
                              "versions": [MEDIA_TAXII], "max_content_length": MAX_CONTENT_LENGTH})

    @router.get(f"/{API_ROOT}/status/{{status_id}}/")
    def status(request: Request, status_id: str) -> Response:
        """A read-only server creates no status resources: every status id is unknown."""
        if bad := guard(request):
            return bad
        return _error(404, "Status not found", f"no status {status_id!r}: this server is read-only and "
                                               "never creates status resources")

    @router.get(f"/{API_ROOT}/collections/")
    def collections(request: Request) -> Response:
        if bad := guard(request):
            return bad
        return TaxiiResponse({"collections": [collection_info()]})

    @router.get(f"/{API_ROOT}/collections/{{collection_id}}/", responses=in_collection)
    def collection(request: Request, collection_id: str) -> Response:
        if bad := guard(request, collection_id):
            return bad
        return TaxiiResponse(collection_info())

    def _envelope(request: Request, params: dict[str, Any], object_id: str | None, manifest: bool) -> Response:
        entries = index_of(request).entries()
        try:
            matched = _filter(entries, params, object_id)
            if object_id and not matched and object_id not in {e.id for e in entries}:
                return _error(404, "Object not found", f"no object {object_id!r} in this collection")
            cfg = (getattr(request.app.state, "settings", None) or {}).get("taxii", {})
            page, more = _page(matched, params, int(cfg.get("default_page_size", DEFAULT_PAGE)),
                               int(cfg.get("max_page_size", MAX_PAGE)))
        except BadRequest as e:
            return _error(400, "Bad request", str(e))
        body: dict[str, Any] = {"more": more}
        if more:
            body["next"] = _encode_cursor(page[-1])
        if manifest:
            body["objects"] = [{"id": e.id, "date_added": _timestamp(e.date_added), "version": e.version,
                                "media_type": MEDIA_STIX} for e in page]
        else:
            body["objects"] = [e.object for e in page]
        return TaxiiResponse(body, headers=_headers(page))

    @router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/", responses=in_collection)
    def objects(request: Request, collection_id: str, params: Annotated[dict, Depends(list_params)]) -> Response:
        if bad := guard(request, collection_id):
            return bad
        return _envelope(request, params, None, manifest=False)

    @router.post(f"/{API_ROOT}/collections/{{collection_id}}/objects/", responses=in_collection)
    def add_objects(request: Request, collection_id: str) -> Response:
        if bad := guard(request, collection_id):
            return bad
        return _error(403, "Forbidden", "this collection is read-only (can_write is false)")

    @router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/", responses=in_collection)
    def get_object(request: Request, collection_id: str, object_id: str,
                   params: Annotated[dict, Depends(object_params)]) -> Response:
        if bad := guard(request, collection_id):
            return bad
        return _envelope(request, params, object_id, manifest=False)

    @router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/versions/", responses=in_collection)
    def versions(request: Request, collection_id: str, object_id: str) -> Response:
        if bad := guard(request, collection_id):
            return bad
        entry = index_of(request).get(object_id)
        if entry is None:
            return _error(404, "Object not found", f"no object {object_id!r} in this collection")
        return TaxiiResponse({"more": False, "versions": [entry.version]}, headers=_headers([entry]))

    @router.get(f"/{API_ROOT}/collections/{{collection_id}}/manifest/", responses=in_collection)
    def manifest(request: Request, collection_id: str, params: Annotated[dict, Depends(list_params)]) -> Response:
        if bad := guard(request, collection_id):
            return bad
        return _envelope(request, params, None, manifest=True)

    return router
