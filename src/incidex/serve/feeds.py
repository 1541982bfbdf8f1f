"""``/feeds/NAME.atom``: each alert's Atom feed (``incidex.alerts.atom``), read like the UI."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from incidex.serve.queries import IdPath
from incidex.serve.security import require_read

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_read)])


@router.get("/feeds/{name}.atom")
def alert_feed(request: Request, name: IdPath) -> Response:
    from incidex.alerts.atom import feed_xml

    store, settings = request.app.state.store, request.app.state.settings
    alert = store.get_alert(name)
    if alert is None:
        raise HTTPException(404, f"no alert {name!r} (make one with `incidex alerts add {name} --type ...`)")
    matches = store.alert_matches(alert["filters"], limit=int(settings.get("alerts", {}).get("feed_entries", 50)))
    return Response(feed_xml(alert, matches, str(request.base_url)), media_type="application/atom+xml")
