"""Alerts: saved searches, their Atom feeds and signed webhooks, on SQLite and PostgreSQL.

The webhook receiver is a real HTTP server on 127.0.0.1 that answers with a
scripted sequence of status codes and records each request; ingest runs the
real pipeline over invented articles (made-up firms and groups).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import feedparser
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fixtures_ingest import local_server  # noqa: F401  (fixture)
from incidex.alerts import create_alert, send_test
from incidex.alerts.webhook import SIGNATURE_HEADER, verify
from incidex.api import ingest_items, read_content
from incidex.cli import app
from incidex.serve.app import create_app
from incidex.validate import BadValue

RANSOM = """Title: Ransomware halts deliveries at Corvell Bakeries
Date: 2024-03-11
Source: grainwire.test

Corvell Bakeries, a bread maker based in Bristol, England, said a ransomware attack had encrypted the servers of \
its three bakeries on Sunday and halted deliveries to shops.

The ransomware group Tallow Reef claimed the attack on its leak site and said it had stolen payroll files.

The company said it had informed the police and was restoring its systems from backups.
"""

DDOS = """Title: Port authority websites knocked offline
Date: 2024-04-02
Source: harbourwire.test

The public websites of the Port of Velmark in Norway were unreachable for six hours on Monday after a \
distributed denial-of-service attack, the port authority said.

A hacktivist group calling itself Copper Gale claimed responsibility on Telegram. No data was affected.
"""


class Receiver:
    """A webhook receiver on 127.0.0.1: answers ``codes`` in turn (then 200), keeps each request."""

    def __init__(self, codes=()):
        self.codes = list(codes)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append({"headers": dict(self.headers), "body": body})
                code = outer.codes.pop(0) if outer.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _ingest(store, extractor, *texts):
    docs = [d for t in texts for d in read_content(t, kind="text", origin="<test>")]
    return ingest_items(docs, store, extractor=extractor)


def test_webhook_delivery_retry_and_signature(store, extractor):
    with Receiver(codes=[503]) as rx:
        alert = create_alert(store, "ransom", {"attack_type": "ransomware"}, webhook_url=rx.url)
        report = _ingest(store, extractor, RANSOM, DDOS)
        assert report.new == 2
        # the ransomware incident only; first answer 503, then delivered on the retry
        assert len(rx.requests) == 2
        first, second = rx.requests
        assert first["body"] == second["body"]
        assert first["headers"]["X-Incidex-Delivery"] == second["headers"]["X-Incidex-Delivery"]
        assert verify(alert["secret"], second["body"], second["headers"][SIGNATURE_HEADER])
        assert not verify("another secret", second["body"], second["headers"][SIGNATURE_HEADER])
        assert not verify(alert["secret"], second["body"] + b" ", second["headers"][SIGNATURE_HEADER])
        payload = json.loads(second["body"])
        assert payload["event"] == "incident.matched" and payload["alert"] == "ransom"
        assert "ransomware" in payload["incident"]["attack_types"] and payload["incident"]["sources"]
        log = store.list_deliveries("ransom")
        assert [(d["attempt"], d["ok"], d["http_status"]) for d in reversed(log)] == [(1, False, 503), (2, True, 200)]
        # each incident is delivered once: the same story again adds nothing, sends nothing
        _ingest(store, extractor, RANSOM)
        assert len(rx.requests) == 2


def test_client_errors_are_not_retried(store):
    with Receiver(codes=[400]) as rx:
        create_alert(store, "all", {}, webhook_url=rx.url, secret="s3cret")
        d = send_test(store, "all")
        assert not d.ok and d.attempts == 1 and d.http_status == 400
        assert len(rx.requests) == 1 and rx.requests[0]["headers"]["X-Incidex-Event"] == "test"
        assert verify("s3cret", rx.requests[0]["body"], rx.requests[0]["headers"][SIGNATURE_HEADER])


def test_alert_values_are_checked(store):
    with pytest.raises(BadValue, match="^type: ransom is not an attack type; did you mean ransomware"):
        create_alert(store, "x", {"attack_type": "ransom"})
    with pytest.raises(BadValue, match="^name: "):
        create_alert(store, "no spaces", {})
    with pytest.raises(BadValue, match="^webhook: "):
        create_alert(store, "x", {}, webhook_url="ftp://example.org/")
    create_alert(store, "x", {"country": "gb"})
    assert store.get_alert("x")["filters"] == {"country": "GB"}


def test_atom_feed_is_read_by_feedparser(store, extractor):
    _ingest(store, extractor, RANSOM, DDOS)
    create_alert(store, "ransom-gb", {"attack_type": "ransomware", "country": "GB"})
    create_alert(store, "norway", {"country": "NO"})
    with TestClient(create_app(store=store)) as c:
        r = c.get("/feeds/ransom-gb.atom")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(r.content)
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.feed.title == "incidex alert: ransom-gb"
        assert len(feed.entries) == 1
        e = feed.entries[0]
        assert "Corvell" in e.title and e.id.startswith("urn:incidex:incident:")
        assert e.link.endswith("/incidents/" + e.id.rsplit(":", 1)[1])
        assert c.get(e.link).status_code == 200
        other = feedparser.parse(c.get("/feeds/norway.atom").content)
        assert [x.id for x in other.entries] != [e.id] and len(other.entries) == 1
        assert c.get("/feeds/nope.atom").status_code == 404


def test_cli_alerts(tmp_path):
    db = str(tmp_path / "cli.db")
    run = CliRunner().invoke
    with Receiver(codes=[500, 500, 500]) as rx:
        r = run(app, ["alerts", "add", "gb", "--country", "UK", "--db", db])
        assert r.exit_code == 2 and "did you mean GB?" in r.stderr
        r = run(app, ["alerts", "add", "gb", "--country", "GB", "--webhook", rx.url, "--secret", "k", "--db", db])
        assert r.exit_code == 0, r.output
        r = run(app, ["alerts", "list", "--format", "json", "--db", db])
        rows = json.loads(r.stdout)
        assert rows[0]["name"] == "gb" and "secret" not in rows[0]
        r = run(app, ["alerts", "test", "gb", "--db", db])  # three 500s: not delivered
        assert r.exit_code == 1 and "not delivered after 3 attempts" in r.stderr
        r = run(app, ["alerts", "test", "gb", "--db", db])
        assert r.exit_code == 0 and "delivered test event" in r.stdout
        r = run(app, ["alerts", "show", "gb", "--format", "json", "--db", db])
        shown = json.loads(r.stdout)
        assert [d["ok"] for d in shown["deliveries"]] == [True, False, False, False]
        assert run(app, ["alerts", "remove", "gb", "--db", db]).exit_code == 0
        assert run(app, ["alerts", "show", "gb", "--db", db]).exit_code == 1


def test_api_manages_alerts(store):
    from incidex.serve.security import create_key

    _, key = create_key(store, "tests")
    auth = {"X-API-Key": key}
    with TestClient(create_app(store=store)) as c:
        r = c.post("/api/v1/alerts", json={"name": "gb", "country": "UK"}, headers=auth)
        assert r.status_code == 422 and r.json()["detail"] == \
            "country: UK is not an ISO 3166 alpha-2 code; did you mean GB?"
        assert c.post("/api/v1/alerts", json={"name": "gb", "country": "GB"}).status_code == 401
        r = c.post("/api/v1/alerts", json={"name": "gb", "country": "gb", "type": "ransomware"}, headers=auth)
        assert r.status_code == 201, r.text
        assert r.json()["filters"] == {"country": "GB", "attack_type": "ransomware"}
        assert r.json()["feed"].endswith("/feeds/gb.atom")
        # a webhook to a private address is refused unless the settings allow it
        r = c.post("/api/v1/alerts", json={"name": "hook", "webhook": "http://127.0.0.1:9/x"}, headers=auth)
        assert r.status_code == 422 and r.json()["detail"].startswith("webhook: refused")
        assert c.post("/api/v1/alerts", json={"name": "gb"}, headers=auth).status_code == 422  # exists
        assert [a["name"] for a in c.get("/api/v1/alerts").json()["items"]] == ["gb"]
        one = c.get("/api/v1/alerts/gb").json()
        assert one["matching"] == 0 and one["deliveries"] == [] and "secret" not in one
        assert c.get(one["feed"]).status_code == 200
        assert c.delete("/api/v1/alerts/gb").status_code == 401
        assert c.delete("/api/v1/alerts/gb", headers=auth).status_code == 204
        assert c.get("/api/v1/alerts/gb").status_code == 404
        assert c.delete("/api/v1/alerts/gb", headers=auth).status_code == 404


def test_watch_calls_the_webhook_once_per_new_incident(local_server, tmp_path, extractor):
    from fixtures_watch import FakeClock, FeedRoute, rss, watch_settings

    from incidex.store import open_store
    from incidex.watch import FeedConfig, Watcher

    store = open_store(tmp_path / "watch.db")
    try:
        route = FeedRoute(rss(local_server.base, [1, 2, 3]))
        url = local_server.dynamic("/feed.xml", route)
        clock = FakeClock()
        w = Watcher(store, [FeedConfig(url=url, name="wire", interval=600)],
                    settings=watch_settings(politeness_seconds=0), extractor=extractor, clock=clock,
                    sleep=clock.sleep)
        with Receiver() as rx:
            alert = create_alert(store, "ransom", {"attack_type": "ransomware"}, webhook_url=rx.url)
            w.run_once()
            ids = [json.loads(r["body"])["incident"]["id"] for r in rx.requests]
            assert len(ids) == len(set(ids)) == store.count_incidents_matching(attack_type="ransomware") >= 3
            assert all(verify(alert["secret"], r["body"], r["headers"][SIGNATURE_HEADER]) for r in rx.requests)
            route.set(rss(local_server.base, [1, 2, 3, 4, 5]))
            w.run_once()
            later = [json.loads(r["body"])["incident"]["id"] for r in rx.requests[len(ids):]]
            assert later and not set(later) & set(ids)
            assert len(ids) + len(later) == store.count_incidents_matching(attack_type="ransomware")
    finally:
        store.close()
