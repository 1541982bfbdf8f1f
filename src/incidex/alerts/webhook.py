"""Webhook delivery: a signed JSON POST, retried with exponential backoff, each attempt logged.

Headers of every request:

* ``X-Incidex-Event``: ``incident.matched`` or ``test``;
* ``X-Incidex-Delivery``: a UUID, the same on every retry of one payload;
* ``X-Incidex-Signature``: ``sha256=`` + hex HMAC-SHA256 of the raw body under
  the alert's secret. A receiver recomputes it over the bytes it got and
  compares with ``hmac.compare_digest`` (``verify`` does exactly that).

A 2xx answer is a delivery. A connection error, a timeout, 408, 429 or a 5xx
is retried (``[alerts] attempts`` in all, waiting ``backoff_seconds`` and then
twice as long each time); any other answer is final. Every attempt is a row
of ``alert_deliveries``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

from incidex import __version__

SIGNATURE_HEADER = "X-Incidex-Signature"
_RETRY_STATUS = {408, 429}


@dataclass
class Delivery:
    """What happened to one payload: delivered or not, after how many attempts, the last answer."""

    alert: str
    incident_id: str | None
    delivery_id: str
    ok: bool = False
    attempts: int = 0
    http_status: int | None = None
    error: str | None = None
    log: list[str] = field(default_factory=list)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """A receiver's check of ``X-Incidex-Signature``."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


def _settings(settings: dict | None) -> dict[str, Any]:
    from incidex.settings import load_settings

    return (settings or load_settings()).get("alerts", {})


def deliver(store: Any, alert: dict[str, Any], payload: dict[str, Any], incident_id: str | None,
            settings: dict | None = None, *, sleep=time.sleep) -> Delivery:
    cfg = _settings(settings)
    attempts = max(1, int(cfg.get("attempts", 3)))
    wait = float(cfg.get("backoff_seconds", 0.5))
    timeout = float(cfg.get("timeout_seconds", 5))
    d = Delivery(alert["name"], incident_id, str(uuid.uuid4()))
    body = json.dumps({**payload, "delivery": d.delivery_id,
                       "sent_at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
                      ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": f"incidex/{__version__} (alerts)",
               "X-Incidex-Event": payload.get("event", "incident.matched"), "X-Incidex-Delivery": d.delivery_id}
    if alert.get("secret"):
        headers[SIGNATURE_HEADER] = sign(alert["secret"], body)
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for n in range(1, attempts + 1):
            d.attempts, d.http_status, d.error = n, None, None
            retry = True
            try:
                r = client.post(alert["webhook_url"], content=body, headers=headers)
                d.http_status = r.status_code
                d.ok = 200 <= r.status_code < 300
                retry = r.status_code in _RETRY_STATUS or r.status_code >= 500
                if not d.ok:
                    d.error = f"HTTP {r.status_code}"
            except httpx.HTTPError as e:
                d.error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            store.log_delivery(d.alert, incident_id, d.delivery_id, n, d.ok, d.http_status, d.error)
            d.log.append(f"attempt {n}: " + ("delivered" if d.ok else d.error or "failed"))
            if d.ok or not retry or n == attempts:
                break
            sleep(wait * 2 ** (n - 1))
    return d


def test_payload(store: Any, alert: dict[str, Any]) -> dict[str, Any]:
    from incidex.serve.queries import records

    latest = store.alert_matches(alert["filters"], limit=1)
    return {"event": "test", "alert": alert["name"], "filters": alert["filters"],
            "incident": records(store, [latest[0]["doc"]])[0] if latest else None}
