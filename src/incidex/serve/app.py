"""The incidex web app factory: ``create_app(db_url=None, settings=None)``.

One FastAPI app serves

* the REST API under ``/api/v1`` (``incidex.serve.rest``), its OpenAPI
  document at ``/api/v1/openapi.json`` and a docs page at ``/api/v1/docs``;
* the web UI at ``/`` (``incidex.serve.ui``: Jinja2 templates, one CSS and
  one JS file from ``serve/static``; nothing from a CDN);
* the read-only TAXII 2.1 collection under ``/taxii2/`` and ``/health``.

Run it with ``incidex serve`` or uvicorn's factory mode::

    INCIDEX_DB=incidex.db uvicorn --factory incidex.serve.app:create_app --host 127.0.0.1 --port 8000

The store is opened when the app is created (so a bad database URL fails at
once) and closed when the server shuts down; routes reach it as
``request.app.state.store``, the settings as ``request.app.state.settings``
and the ``[serve]`` settings as ``request.app.state.config``.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from incidex import __version__
from incidex.settings import load_settings

API = "/api/v1"


def create_app(db_url: str | os.PathLike[str] | None = None, settings: dict[str, Any] | None = None, *,
               store: Any = None) -> FastAPI:
    """A FastAPI app over the store at ``db_url`` (default ``$INCIDEX_DB``, else ``./incidex.db``).

    ``store``: serve an already open store instead (the caller closes it).
    """
    from incidex.export.taxii import make_router
    from incidex.serve import feeds, rest, ui
    from incidex.serve.config import ServeConfig
    from incidex.serve.queries import Stats
    from incidex.serve.security import BodyLimit, SecurityHeaders, require_read
    from incidex.store import open_store

    settings = settings or load_settings()
    config = ServeConfig.from_settings(settings)
    owned = store is None
    store = store if store is not None else open_store(db_url, settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                app.state.store.close()

    app = FastAPI(title="incidex", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=f"{API}/openapi.json",
                  description="Cyber-incident records extracted from news, with the evidence for every fact. "
                              "Read endpoints are open unless the server sets `[serve] read_open = false`; "
                              "writing (`POST /api/v1/articles`) needs an API key (`incidex keys create`) sent as "
                              "`X-API-Key: KEY` or `Authorization: Bearer KEY`. Errors are JSON "
                              "`{\"detail\": \"...\"}` with a 4xx status.")
    app.state.store = store
    app.state.settings = settings
    app.state.config = config
    app.state.stats = Stats(store, config.stats_cache)

    app.include_router(rest.router, prefix=API)
    app.include_router(rest.write_router, prefix=API)
    app.include_router(make_router(), prefix="/taxii2", dependencies=[Depends(require_read)])
    app.include_router(feeds.router)
    app.include_router(ui.public)
    app.include_router(ui.router)
    ui.mount_static(app)

    @app.get("/health", tags=["meta"], responses={s: rest.ERRORS[s] for s in (400, 413)})  # BodyLimit's
    def health(request: Request) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "incidents": request.app.state.store.count_incidents()}

    _error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["X-API-Key", "Authorization", "Content-Type"])
    app.add_middleware(SecurityHeaders)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith((API, "/taxii2", "/health"))


def _where(loc: tuple | list) -> str:
    """``('query', 'limit')`` -> "query parameter 'limit'"; ``('body', 'text')`` -> "body field 'text'"."""
    parts = [str(p) for p in loc]
    if not parts:
        return "request"
    kind = {"query": "query parameter", "path": "path parameter", "body": "body field",
            "header": "header", "cookie": "cookie"}.get(parts[0], parts[0])
    rest = ".".join(parts[1:])
    return f"{kind} '{rest}'" if rest else ("request body" if parts[0] == "body" else kind)


def _message(error: dict, body: Any) -> str:
    """One validation error as a sentence: ``incidex.validate``'s own message (it names the
    field), a JSON syntax error by line and column, else "where: what"."""
    from incidex.validate import BadValue

    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, BadValue):
        return str(cause)
    loc = list(error.get("loc", ()))
    if error.get("type") == "json_invalid" and len(loc) == 2 and isinstance(loc[1], int) and isinstance(body, str):
        pos = loc[1]
        line, col = body.count("\n", 0, pos) + 1, pos - (body.rfind("\n", 0, pos) + 1) + 1
        return f"request body: not valid JSON at line {line}, column {col}: {cause or 'syntax error'}"
    return f"{_where(loc)}: {error.get('msg', '').removeprefix('Value error, ')}"


def _is_taxii(request: Request) -> bool:
    return request.url.path.startswith("/taxii2")


def _taxii_error(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Any:
    """An error under ``/taxii2`` as a TAXII error message, in the TAXII media type: a TAXII client
    reads ``title`` and ``http_status``, never FastAPI's ``{"detail"}``."""
    from http import HTTPStatus

    from incidex.export.taxii import error_response, not_found_description

    if status == 404 and detail == "Not Found":  # no route: say which part of the path is unknown
        detail = not_found_description(request.url.path)
    return error_response(status, HTTPStatus(status).phrase, detail, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """The ``Allow`` header of a 405: every method some route answers on this path.

    Why: Starlette answers a 405 with the methods of the first route on the path
    only, but one path can have several routes (``GET /api/v1/articles`` is a read
    route, ``POST /api/v1/articles`` a write route with its own dependencies). Each
    method is tried against the app's routes (included routers too), as a request
    with that method would be routed.
    """
    from starlette.routing import Match

    def routed(method: str) -> bool:
        probe = {**request.scope, "method": method}
        return any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes)

    return ", ".join(m for m in _METHODS if routed(m))


def _error_handlers(app: FastAPI) -> None:
    from incidex.serve.rest import ParamError
    from incidex.serve.ui import error_page

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Any:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        detail = "; ".join(_message(e, exc.body) for e in exc.errors()) or "invalid request"
        if _is_taxii(request):
            return _taxii_error(request, 400, detail)  # TAXII's status for a bad parameter
        if not _is_api(request):
            return error_page(request, 400, detail)
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(ParamError)
    async def param_error(request: Request, exc: ParamError) -> Any:
        if not _is_api(request):
            return error_page(request, 400, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
            detail = f"{request.method} is not allowed here; this path answers {headers['Allow']}"
        if _is_taxii(request):
            return _taxii_error(request, exc.status_code, detail, headers)
        if not _is_api(request):
            return error_page(request, exc.status_code, detail, headers=headers or None)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers or None)
