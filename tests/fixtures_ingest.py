"""Helpers and invented test articles for the ingest / clean tests.

Every article, feed and page here is made up for the tests (fictional towns,
companies and groups). Import what you need: ``from fixtures_ingest import ...``.
"""
from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from incidex.settings import load_settings


def make_settings(**ingest: Any) -> dict[str, Any]:
    """A private copy of the default settings with [ingest] keys overridden."""
    s = copy.deepcopy(load_settings())
    s["ingest"].update(ingest)
    return s


# --- invented articles --------------------------------------------------------------------

STORY_LINES = [
    "A ransomware attack disrupted computer systems at Pellworth County Hospital on Tuesday, forcing staff to divert ambulances to nearby facilities, officials said.",
    "The hospital said it had taken its electronic health records offline as a precaution while investigators worked to contain the intrusion.",
    "A criminal group calling itself Copper Lantern claimed responsibility for the attack on its leak site on Wednesday and threatened to publish patient data.",
    "The county's emergency management office said it was working with federal investigators and an outside incident response firm.",
    "Copper Lantern has been linked to at least a dozen attacks on healthcare providers since last spring, according to researchers at the fictional firm Brightwater Labs.",
]
STORY = "\n".join(STORY_LINES)

# A story with header lines on top.
TEXT_WITH_HEADERS = (
    "Title: Ransomware attack hits Pellworth County Hospital\n"
    "URL: https://www.pellworth-gazette.test/news/hospital-ransomware\n"
    "Date: 2024-03-05T14:20:00-05:00\n"
    "Author: Mara Quill\n"
    "Source: pellworth-gazette.test\n"
    "\n" + STORY + "\n"
)

SECOND_STORY_LINES = [
    "Attackers broke into the customer portal of Glenmoor Water Authority and copied the names and billing addresses of about 18,000 account holders, the utility said on Thursday.",
    "The authority said water treatment and distribution were not affected because the portal runs on a separate network.",
    "It has reset every staff password and hired a forensic firm to determine how the intruders obtained access.",
    "No group has claimed responsibility so far, and the utility did not say whether a ransom had been demanded.",
]
SECOND_STORY = "\n".join(SECOND_STORY_LINES)


def rss2(base: str, items: list[dict[str, str]]) -> bytes:
    parts = []
    for it in items:
        parts.append(
            "<item>"
            f"<title>{it['title']}</title><link>{it['link']}</link>"
            f"<guid>{it.get('guid', it['link'])}</guid>"
            f"<pubDate>{it.get('date', 'Tue, 05 Mar 2024 14:20:00 -0500')}</pubDate>"
            + (f"<author>{it['author']}</author>" if it.get("author") else "")
            + (f"<description><![CDATA[{it['description']}]]></description>" if it.get("description") else "")
            + "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Invented Security Wire</title><link>{base}/</link><description>Test feed</description>"
        + "".join(parts) + "</channel></rss>"
    ).encode("utf-8")


def article_page(title: str, paragraphs: list[str], *, published: str | None = None, author: str | None = None) -> str:
    """A news page with navigation, a related-links box and a footer around the story."""
    meta = ""
    if published:
        meta += f'<meta property="article:published_time" content="{published}">'
    if author:
        meta += f'<meta name="author" content="{author}">'
    paras = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Invented Security Wire</title>{meta}</head>
<body>
<header><a href="/">Invented Security Wire</a>
<nav><ul><li><a href="/news">News</a></li><li><a href="/analysis">Analysis</a></li><li><a href="/podcasts">Podcasts</a></li></ul></nav>
</header>
<main><article>
<h1>{title}</h1>
{paras}
</article>
<aside class="related"><h3>Related stories</h3><ul>
<li><a href="/r1">Shipping firm confirms breach of crew database</a></li>
<li><a href="/r2">Police dismantle phishing-kit marketplace</a></li>
<li><a href="/r3">University restores email after wiper attack</a></li>
</ul></aside></main>
<footer><p>Copyright 2024 Invented Security Wire. All rights reserved.</p>
<p><a href="/privacy">Privacy policy</a> | <a href="/terms">Terms of use</a></p></footer>
</body></html>"""


# --- a local HTTP server ----------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Any] = {}
    seen: list[tuple[str, str]] = []
    requests: list[tuple[str, dict[str, str]]] = []

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append((self.path, self.headers.get("User-Agent", "")))
        self.requests.append((self.path, dict(self.headers)))
        route = self.routes.get(self.path)
        if callable(route):  # a dynamic route: (status, headers, body) from the request headers
            route = route(self.headers)
        if route is None:
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"not found")
            return
        status, headers, body = route
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if isinstance(body, bytes):
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout, size limit)
                pass
        else:  # an iterator of chunks, sent without Content-Length
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for chunk in body():
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass


class LocalServer:
    def __init__(self) -> None:
        handler = type("Handler", (_Handler,), {"routes": {}, "seen": [], "requests": []})
        self.handler = handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def seen(self) -> list[tuple[str, str]]:
        return self.handler.seen

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        """(path, request headers) of every request, in order."""
        return self.handler.requests

    def dynamic(self, path: str, route: Any) -> str:
        """Serve ``path`` by ``route(request_headers) -> (status, headers, body)``."""
        self.handler.routes[path] = route
        return self.base + path

    def add(self, path: str, body: bytes | Any, content_type: str = "text/html; charset=utf-8",
            status: int = 200, headers: dict[str, str] | None = None) -> str:
        self.handler.routes[path] = (status, {"Content-Type": content_type, **(headers or {})}, body)
        return self.base + path

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.handler.routes[path] = (status, {"Location": location}, b"")
        return self.base + path


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    srv = LocalServer()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
        srv.thread.join(timeout=5)
