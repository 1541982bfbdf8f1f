"""The incidex web app factory: ``create_app(db_url=None, settings=None)``.

Today it serves the read-only TAXII 2.1 collection under ``/taxii2/`` and a
``/health`` endpoint; the REST API and the UI mount their routers on the same
app. Run it with uvicorn's factory mode, e.g.::

    INCIDEX_DB=incidex.db uvicorn --factory incidex.serve.app:create_app --host 127.0.0.1 --port 8000

The store is opened when the app is created (so a bad database URL fails at
once) and closed when the server shuts down; routes reach it as
``request.app.state.store`` and the settings as ``request.app.state.settings``.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from incidex import __version__
from incidex.settings import load_settings


def create_app(db_url: str | os.PathLike[str] | None = None, settings: dict[str, Any] | None = None, *,
               store: Any = None) -> FastAPI:
    """A FastAPI app over the store at ``db_url`` (default ``$INCIDEX_DB``, else ``./incidex.db``).

    ``store``: serve an already open store instead (the caller closes it).
    """
    from incidex.export.taxii import make_router
    from incidex.store import open_store

    settings = settings or load_settings()
    owned = store is None
    store = store if store is not None else open_store(db_url, settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                app.state.store.close()

    app = FastAPI(title="incidex", version=__version__, lifespan=lifespan,
                  description="Cyber-incident records extracted from news: TAXII 2.1 feed.")
    app.state.store = store
    app.state.settings = settings
    app.include_router(make_router(), prefix="/taxii2")

    @app.get("/health", tags=["meta"])
    def health(request: Request) -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "incidents": request.app.state.store.count_incidents()}

    return app
