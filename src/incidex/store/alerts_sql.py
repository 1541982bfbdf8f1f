"""Store methods for alerts (tables of migration 0006): saved searches and webhook deliveries.

A mixin of ``SqlStore`` like ``watch_sql``. The incidents an alert matches are
found with the same conditions as ``list_incidents`` (``_incident_where``), so
an alert, its Atom feed and ``incidex incidents`` with the same filters agree.
"""
from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa

from incidex.records import IncidexError
from incidex.store import codec
from incidex.store.api_sql import INCIDENT_FILTERS
from incidex.store.tables import alert_deliveries, alerts, incidents

_FILTER_KEYS = INCIDENT_FILTERS


class AlertStoreMixin:
    # -- saved searches ------------------------------------------------------------

    def add_alert(self, name: str, filters: dict[str, Any], webhook_url: str | None = None,
                  secret: str | None = None) -> None:
        with self._savepoint_or_transaction() as conn:
            if conn.execute(sa.select(alerts.c.name).where(alerts.c.name == name)).first():
                raise IncidexError(f"name: an alert {name!r} exists already (remove it first, or pick another name)")
            conn.execute(alerts.insert().values(
                name=name, filters={k: v for k, v in filters.items() if k in _FILTER_KEYS and v is not None},
                webhook_url=webhook_url, secret=secret, created_at=self._ts(codec.now_utc())))

    def get_alert(self, name: str) -> dict[str, Any] | None:
        with self._connection(write=False) as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.name == name)).mappings().first()
        return self._alert_row(row) if row else None

    def list_alerts(self, webhooks_only: bool = False) -> list[dict[str, Any]]:
        stmt = sa.select(alerts).order_by(alerts.c.name)
        if webhooks_only:
            stmt = stmt.where(alerts.c.webhook_url.is_not(None))
        with self._connection(write=False) as conn:
            return [self._alert_row(r) for r in conn.execute(stmt).mappings()]

    def remove_alert(self, name: str) -> bool:
        with self._savepoint_or_transaction() as conn:
            conn.execute(alert_deliveries.delete().where(alert_deliveries.c.alert_name == name))
            return bool(conn.execute(alerts.delete().where(alerts.c.name == name)).rowcount)

    def _alert_row(self, row: Any) -> dict[str, Any]:
        d = dict(row)
        d["filters"] = dict(d["filters"] or {})
        d["created_at"] = self._aware(d["created_at"]).isoformat(timespec="seconds")
        return d

    # -- matching incidents --------------------------------------------------------

    def alert_matches(self, filters: dict[str, Any], incident_ids: Sequence[str] | None = None,
                      limit: int = 50) -> list[dict[str, Any]]:
        """Incident documents matching ``filters``, newest stored first, with ``created_at`` and
        ``updated_at``; only among ``incident_ids`` when given (the incidents an ingest just touched)."""
        filters = dict(filters)
        query = filters.pop("query", None)
        conds = self._incident_where(query, filters)
        if conds is None or (incident_ids is not None and not incident_ids):
            return []
        i = incidents
        stmt = sa.select(i.c.doc, i.c.created_at, i.c.updated_at).where(*conds)
        if incident_ids is not None:
            stmt = stmt.where(i.c.id.in_(list(incident_ids)))
        stmt = stmt.order_by(i.c.created_at.desc(), i.c.seq.desc()).limit(limit)
        with self._connection(write=False) as conn:
            return [{"doc": r.doc, "created_at": self._aware(r.created_at), "updated_at": self._aware(r.updated_at)}
                    for r in conn.execute(stmt)]

    # -- delivery log ----------------------------------------------------------------

    def log_delivery(self, alert_name: str, incident_id: str | None, delivery_id: str, attempt: int, ok: bool,
                     http_status: int | None = None, error: str | None = None) -> None:
        with self._savepoint_or_transaction() as conn:
            conn.execute(alert_deliveries.insert().values(
                alert_name=alert_name, incident_id=incident_id, delivery_id=delivery_id, attempt=attempt, ok=ok,
                http_status=http_status, error=error, at=self._ts(codec.now_utc())))

    def delivered(self, alert_name: str, incident_ids: Sequence[str]) -> set[str]:
        """Which of ``incident_ids`` an attempt already delivered to the alert."""
        out: set[str] = set()
        with self._connection(write=False) as conn:
            for batch in codec.in_batches(list(incident_ids)):
                stmt = (sa.select(alert_deliveries.c.incident_id).distinct()
                        .where(alert_deliveries.c.alert_name == alert_name, alert_deliveries.c.ok.is_(True),
                               alert_deliveries.c.incident_id.in_(batch)))
                out.update(r.incident_id for r in conn.execute(stmt))
        return out

    def list_deliveries(self, alert_name: str, limit: int = 20) -> list[dict[str, Any]]:
        d = alert_deliveries
        stmt = sa.select(d).where(d.c.alert_name == alert_name).order_by(d.c.id.desc()).limit(limit)
        with self._connection(write=False) as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        for r in rows:
            r["at"] = self._aware(r["at"]).isoformat(timespec="seconds")
        return rows
