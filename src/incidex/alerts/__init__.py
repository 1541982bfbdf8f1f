"""Saved searches as alerts: a named filter, its Atom feed, and an optional webhook.

* ``create_alert``: the filters are checked by ``incidex.validate`` (the CLI's
  and the API's messages); a webhook gets a signing secret (generated unless
  given) for the ``X-Incidex-Signature`` header (``incidex.alerts.webhook``).
* ``/feeds/NAME.atom`` (``incidex.alerts.atom``): the newest incidents the
  filter matches, newest stored first; feed readers keep what they have seen.
* ``after_commit``: ingest (``incidex ingest``, ``watch``, ``batch``, the API's
  POST /articles) calls it once a chunk of articles is committed; each webhook
  alert gets each newly matching incident once (retried with backoff; every
  attempt is in the delivery log, ``incidex alerts show NAME``).

The ``[alerts]`` settings hold the retry count, backoff, timeout and feed size.
"""
from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any

from incidex import validate
from incidex.alerts.webhook import Delivery, deliver, test_payload
from incidex.records import IncidexError

__all__ = ["create_alert", "after_commit", "filters_text", "notify", "send_test", "Delivery"]

log = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def filters_text(filters: dict[str, Any]) -> str:
    """A saved filter in one line, as the CLI and the feed's subtitle say it:
    ``attack_type=ransomware|ddos, not_country=US`` (``|``: any of the values)."""
    parts = [f"{k}={'|'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in sorted(filters.items())]
    return ", ".join(parts) or "all incidents"


def check_name(name: str) -> str:
    if not _NAME.match(name or "") or name.endswith(".atom"):
        raise validate.BadValue("name", f"{name!r} is not an alert name; use up to 64 letters, digits, '-', '_' "
                                        "or '.', starting with a letter or digit (it becomes /feeds/NAME.atom)")
    return name


def check_webhook(url: str | None) -> str | None:
    if url is None:
        return None
    if not re.match(r"^https?://[^\s/]+\S*$", url, re.IGNORECASE):
        raise validate.BadValue("webhook", f"{url!r} is not an http(s) URL, e.g. https://hooks.example.org/incidex")
    return url


def create_alert(store: Any, name: str, filters: dict[str, Any], webhook_url: str | None = None,
                 secret: str | None = None) -> dict[str, Any]:
    """Save ``filters`` (the keywords of ``Store.list_incidents``) as alert ``name``; returns the
    stored alert, with the webhook's secret (generated when a webhook is given without one)."""
    check_name(name)
    webhook_url = check_webhook(webhook_url)
    checked = validate.incident_filters({k: v for k, v in filters.items() if v not in (None, "")})
    if checked.get("include_background") is True:  # the default: not a filter
        del checked["include_background"]
    if webhook_url and not secret:
        secret = secrets.token_urlsafe(32)
    store.add_alert(name, checked, webhook_url=webhook_url, secret=secret if webhook_url else None)
    return store.get_alert(name)


def _touched(store: Any, article_ids: Sequence[str | None]) -> list[str]:
    ids: dict[str, None] = {}
    for aid in article_ids:
        if aid:
            for inc in store.incidents_for_article(aid):
                ids[inc.id] = None
    return list(ids)


def after_commit(store: Any, article_ids: Sequence[str | None], settings: dict | None = None) -> list[Delivery]:
    """Webhook deliveries for the incidents of just-committed articles. Never raises: an alert
    must not stop an ingest (a failure is logged, and is in the delivery log)."""
    try:
        if not hasattr(store, "list_alerts") or not store.list_alerts(webhooks_only=True):
            return []
        return notify(store, _touched(store, article_ids), settings)
    except Exception:
        log.exception("alerts: could not check the new incidents against the alerts")
        return []


def notify(store: Any, incident_ids: Sequence[str], settings: dict | None = None) -> list[Delivery]:
    """Send each webhook alert the incidents among ``incident_ids`` it matches and has not had yet."""
    from incidex.serve.queries import records

    out: list[Delivery] = []
    if not incident_ids:
        return out
    for alert in store.list_alerts(webhooks_only=True):
        matches = store.alert_matches(alert["filters"], incident_ids, limit=len(incident_ids))
        done = store.delivered(alert["name"], [m["doc"]["id"] for m in matches])
        for m in matches:
            if m["doc"]["id"] in done:
                continue
            record = records(store, [m["doc"]])[0]
            out.append(deliver(store, alert, {"event": "incident.matched", "alert": alert["name"],
                                              "incident": record}, record["id"], settings))
    return out


def send_test(store: Any, name: str, settings: dict | None = None) -> Delivery:
    """A ``test`` event to alert ``name``'s webhook (with its newest matching incident, if any)."""
    alert = store.get_alert(name)
    if alert is None:
        raise IncidexError(f"name: no alert {name!r} (see `incidex alerts list`)")
    if not alert["webhook_url"]:
        raise IncidexError(f"webhook: alert {name!r} has no webhook to test; its feed is /feeds/{name}.atom")
    return deliver(store, alert, test_payload(store, alert), None, settings)
