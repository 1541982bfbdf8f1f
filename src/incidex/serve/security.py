"""Who may do what, and how much they may send.

* API keys: ``incidex keys create`` makes a random key, prints it once and
  stores only its sha256 (a 256-bit random key needs no slow hash: there is
  nothing to guess). Clients send it as ``X-API-Key: KEY`` or
  ``Authorization: Bearer KEY``.
* Write endpoints always need a key; read endpoints and the UI need one only
  when ``[serve] read_open`` is false (the UI then takes the key once on its
  sign-in page and keeps it in an HttpOnly, SameSite=Strict cookie; the cookie
  is honoured for reading only, so a forged cross-site form cannot write).
* ``BodyLimit`` refuses request bodies over ``max_body_bytes`` with 413, from
  the Content-Length header or while the body streams in (chunked uploads).
* ``SecurityHeaders``: a strict Content-Security-Policy (every script and
  style comes from the app itself), no framing, no MIME sniffing, no referrer.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KEY_PREFIX = "idx_"
COOKIE = "incidex_key"


def new_key() -> str:
    """A fresh API key: ``idx_`` and 43 URL-safe characters (256 random bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(store: Any, name: str) -> tuple[int, str]:
    """Make and store a key; returns ``(id, key)``. The key itself is not kept anywhere."""
    key = new_key()
    return store.add_api_key(name, hash_key(key), key[:len(KEY_PREFIX) + 6]), key


def presented_key(request: Request, *, cookie: bool) -> str | None:
    """The key a request carries: X-API-Key, a Bearer token or (for reads) the UI cookie."""
    key = request.headers.get("x-api-key")
    if not key:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            key = token.strip()
    if not key and cookie:
        key = request.cookies.get(COOKIE)
    return key or None


def check_key(store: Any, key: str | None) -> dict[str, Any] | None:
    """The stored key record for ``key``, or None (unknown, revoked or malformed)."""
    if not key or len(key) > 200 or not key.isascii():
        return None
    record = store.api_key_by_hash(hash_key(key))
    if record is None:
        return None
    # the lookup is by hash already; compare again in constant time for good measure
    if not hmac.compare_digest(record["prefix"], key[:len(record["prefix"])]):
        return None
    return record


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Bearer realm="incidex"'})


# Declared for the OpenAPI document (its "security" section); ``presented_key`` reads the headers.
_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey",
                           description="An API key from `incidex keys create`.")
_BEARER = HTTPBearer(auto_error=False, scheme_name="Bearer", description="The same API key as a Bearer token.")


def require_write(request: Request, _header: str | None = Depends(_KEY_HEADER),
                  _bearer: HTTPAuthorizationCredentials | None = Depends(_BEARER)) -> dict[str, Any]:
    """Dependency of write endpoints: a valid key in a header (never the cookie)."""
    key = presented_key(request, cookie=False)
    if key is None:
        raise _unauthorized("this endpoint needs an API key: send 'X-API-Key: KEY' or 'Authorization: Bearer KEY' "
                            "(create one with `incidex keys create`)")
    record = check_key(request.app.state.store, key)
    if record is None:
        raise _unauthorized("unknown or revoked API key")
    request.app.state.store.touch_api_key(record["id"])
    return record


def require_read(request: Request) -> None:
    """Dependency of read endpoints: nothing when reads are open, else a valid key (header or cookie)."""
    if request.app.state.config.read_open:
        return
    key = presented_key(request, cookie=True)
    if key is None:
        raise _unauthorized("reading needs an API key on this server ([serve] read_open = false): send "
                            "'X-API-Key: KEY' or 'Authorization: Bearer KEY'")
    if check_key(request.app.state.store, key) is None:
        raise _unauthorized("unknown or revoked API key")


class BodyLimit:
    """ASGI middleware: 413 for request bodies larger than ``max_bytes``.

    A declared Content-Length over the limit is refused before the app runs.
    A streamed (chunked) body is counted as it arrives: past the limit the
    413 is sent at once, the app is told the client went away, and whatever
    it still tries to send is dropped.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = f"request body larger than {self.max_bytes} bytes ([serve] max_body_bytes)"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _plain(send, 400, "invalid Content-Length header", scope)
                return
            if int(length) > self.max_bytes:
                await _plain(send, 413, too_big, scope)
                return
        seen = 0
        started = refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    if not started:
                        await _plain(send, 413, too_big, scope)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited, guarded_send)


async def _plain(send: Send, status: int, message: str, scope: Scope) -> None:
    """An error sent before the app runs: ``{"detail"}``, or a TAXII error message under ``/taxii2``
    (the same shapes as the app's own error handlers)."""
    import json
    from http import HTTPStatus

    from incidex.export.taxii import MEDIA_TAXII, error_body

    if str(scope.get("path", "")).startswith("/taxii2"):
        content: dict[str, Any] = error_body(status, HTTPStatus(status).phrase, message)
        media = MEDIA_TAXII.encode()
    else:
        content, media = {"detail": message}, b"application/json"
    body = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every response that does not set them."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.HEADERS if k not in present]
            await send(message)

        await self.app(scope, receive, with_headers)
