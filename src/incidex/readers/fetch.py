"""Safe HTTP GET for news pages and feeds.

* http and https only;
* the host is resolved and every address checked: private, loopback,
  link-local, multicast, reserved and unspecified addresses are refused unless
  ``settings["ingest"]["allow_private_addresses"]`` is true (or lists the
  allowed addresses / networks, e.g. ``["127.0.0.1"]``);
* the connection goes to the address that was checked (no second DNS lookup
  between the check and the request), with the original Host header and TLS
  server name;
* redirects are followed by hand (``max_redirects``, default 5), each target
  checked again before any connection is made;
* a timeout for each step and for the whole download, and the body is streamed and
  cut off past ``max_input_bytes``; a gzip/deflate body is inflated here, never
  past ``max_decompressed_bytes`` ([limits]);
* extra request headers (a User-Agent of the caller's, ``If-None-Match`` /
  ``If-Modified-Since`` for conditional GET): a 304 answer to a conditional
  request comes back as a result with ``status`` 304 and no content; an HTTP
  error status is raised as ``HTTPStatusError`` so a caller can read the
  status and ``Retry-After``.
"""
from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import zlib
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from incidex.readers.decode import human_size, too_large
from incidex.records import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchResult(NamedTuple):
    final_url: str
    content: bytes
    content_type: str | None
    headers: dict[str, str]
    status: int = 200  # 304: not modified since the validators sent (content is empty)


class HTTPStatusError(InputError):
    """The server answered with an error status (4xx/5xx, or an unexpected 3xx)."""

    def __init__(self, origin: str, reason: str, status: int, headers: dict[str, str]):
        super().__init__(origin, reason)
        self.status = status
        self.headers = headers


CONDITIONAL_HEADERS = ("if-none-match", "if-modified-since")


def _ingest(settings: dict[str, Any] | None) -> dict[str, Any]:
    from incidex.readers.util import resolve_settings

    return resolve_settings(settings).get("ingest", {})


def _allowed_networks(value: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | bool:
    if value is True or value is False or value is None:
        return bool(value)
    if isinstance(value, str):
        value = [value]
    return [ipaddress.ip_network(v, strict=False) for v in value]


def refusal(addr: IPAddress) -> str | None:
    """Why an address is not a public one, or None."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    for attr, what in (("is_loopback", "loopback"), ("is_link_local", "link-local"),
                       ("is_multicast", "multicast"), ("is_unspecified", "unspecified"),
                       ("is_reserved", "reserved"), ("is_private", "private")):
        if getattr(addr, attr):
            return what
    if not addr.is_global:
        return "non-public"
    return None


def check_address(addr: IPAddress, allow: Any) -> str | None:
    """A reason to refuse ``addr`` under the ``allow_private_addresses`` setting, or None."""
    why = refusal(addr)
    if why is None:
        return None
    allowed = _allowed_networks(allow)
    if allowed is True:
        return None
    if allowed and any(addr in net for net in allowed):
        return None
    return f"{why} address {addr}"


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise LookupError(f"could not resolve host {host!r}: {exc}") from None
    out: list[IPAddress] = []
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if addr not in out:
            out.append(addr)
    if not out:
        raise LookupError(f"could not resolve host {host!r}")
    return out


def check_url(url: str, settings: dict[str, Any] | None = None) -> tuple[str, int, IPAddress]:
    """Validate a URL before connecting: scheme, host, every resolved address.

    Returns (host, port, address to connect to); raises ``InputError``.
    """
    ing = _ingest(settings)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InputError(url, f"refused URL scheme {parts.scheme!r}: only http and https are fetched")
    host = parts.hostname
    if not host:
        raise InputError(url, "URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InputError(url, "URL has an invalid port") from None
    try:
        addrs = resolve(host, port)
    except LookupError as exc:
        raise InputError(url, str(exc)) from None
    allow = ing.get("allow_private_addresses", False)
    for addr in addrs:
        why = check_address(addr, allow)
        if why:
            raise InputError(url, f"refused: {host} resolves to a {why} "
                                  "(set allow_private_addresses or INCIDEX_ALLOW_PRIVATE_ADDRESSES=1 to allow)")
    return host, port, addrs[0]


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context (certifi roots), built once: loading the roots takes ~60 ms."""
    return httpx.create_ssl_context(trust_env=False)


def _pinned(url: str, host: str, addr: IPAddress) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL rewritten to the checked address, with the Host header and TLS server name kept."""
    parts = urlsplit(url)
    ip = f"[{addr}]" if addr.version == 6 else str(addr)
    netloc = ip + (f":{parts.port}" if parts.port else "")
    host_header = parts.netloc.rsplit("@", 1)[-1]
    ext: dict[str, Any] = {}
    if parts.scheme == "https":
        ext["sni_hostname"] = host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), {"Host": host_header}, ext


def _max_inflated(settings: dict[str, Any] | None) -> int:
    from incidex.limits import limits
    from incidex.readers.util import resolve_settings

    return limits(resolve_settings(settings)).max_decompressed_bytes


class _Inflater:
    """Undo one Content-Encoding (gzip or deflate) without ever producing more than a cap.

    httpx's own decoders inflate each network chunk whole: 64 kB of a gzip bomb
    become ~64 MB in one call. Here each call is given ``max_length``, so a body
    that would inflate past the cap is refused having produced at most the cap.
    """

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.raw_deflate = False
        self.started = False
        wbits = zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self.obj = zlib.decompressobj(wbits)

    def feed(self, data: bytes, cap: int) -> bytes:
        try:
            out = self.obj.decompress(data, cap + 1)
        except zlib.error:
            if self.encoding != "deflate" or self.started:
                raise
            self.obj, self.raw_deflate = zlib.decompressobj(-zlib.MAX_WBITS), True  # deflate without zlib header
            out = self.obj.decompress(data, cap + 1)
        self.started = True
        return out

    def flush(self) -> bytes:
        return self.obj.flush()


def read_body(resp: httpx.Response, url: str, max_bytes: int, max_inflated: int, deadline: float,
              limit_seconds: float) -> bytes:
    """The response body: at most ``max_bytes`` on the wire and ``max_inflated`` after
    gzip/deflate decoding (``max_decompressed_bytes``), before ``deadline``."""
    encodings = [e.strip().lower() for e in resp.headers.get("content-encoding", "").split(",")]
    encodings = [e for e in encodings if e and e != "identity"]
    for e in encodings:
        if e not in ("gzip", "x-gzip", "deflate"):
            raise InputError(url, f"unsupported Content-Encoding {e!r} (only gzip and deflate are asked for)")
    if len(encodings) > 2:
        raise InputError(url, f"{len(encodings)} layers of Content-Encoding (at most 2 are read)")
    layers = [_Inflater(e) for e in reversed(encodings)]  # the last encoding applied is undone first
    chunks: list[bytes] = []
    size = inflated = 0

    def add(data: bytes, final: bool = False) -> None:
        nonlocal inflated
        for layer in layers:
            data = layer.feed(data, max_inflated - inflated) if data else b""
            if final:
                data += layer.flush()
        inflated += len(data)
        if inflated > max_inflated:
            raise InputError(url, f"response inflates past the {human_size(max_inflated)} limit (max_decompressed_bytes)")
        chunks.append(data)

    try:
        for raw in resp.iter_raw():
            size += len(raw)
            if size > max_bytes:
                raise InputError(url, "response " + too_large(max_bytes))
            if time.monotonic() > deadline:
                raise InputError(url, f"download took longer than {limit_seconds:g} s (timeout_seconds x 3)")
            add(raw)
        add(b"", final=True)
    except zlib.error as exc:
        raise InputError(url, f"response is not valid {'/'.join(encodings)} data ({exc})") from None
    return b"".join(chunks)


def fetch(url: str, settings: dict[str, Any] | None = None, *, accept: str | None = None,
          headers: dict[str, str] | None = None) -> FetchResult:
    """GET ``url`` under the rules above; raise ``InputError(url, reason)`` on any refusal or failure.

    ``headers`` are added to (or replace) the default request headers.
    """
    ing = _ingest(settings)
    max_bytes = int(ing.get("max_input_bytes", 10_000_000))
    max_redirects = int(ing.get("max_redirects", 5))
    timeout = float(ing.get("timeout_seconds", 20))
    request_headers = {
        "User-Agent": str(ing.get("user_agent", "incidex")),
        "Accept": accept or "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
                            "application/xml;q=0.9,text/plain;q=0.8,*/*;q=0.5",
        "Accept-Encoding": "gzip, deflate",
        **(headers or {}),
    }
    conditional = any(k.lower() in CONDITIONAL_HEADERS for k in request_headers)
    deadline = time.monotonic() + timeout * 3
    current = url
    with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                      verify=_tls()) as client:
        for hop in range(max_redirects + 1):
            try:
                host, _port, addr = check_url(current, settings)
            except InputError as exc:
                if hop == 0:
                    raise
                raise InputError(url, f"redirect to {current}: {exc.reason}") from None
            target, host_header, ext = _pinned(current, host, addr)
            try:
                with client.stream("GET", target, headers={**request_headers, **host_header}, extensions=ext) as resp:
                    if resp.status_code == 304 and conditional:
                        return FetchResult(current, b"", resp.headers.get("content-type"), dict(resp.headers), 304)
                    if resp.is_redirect:
                        loc = resp.headers.get("location")
                        if not loc:
                            raise InputError(url, f"HTTP {resp.status_code} redirect without a Location header")
                        current = urljoin(current, loc)
                        continue
                    if resp.status_code >= 300:
                        raise HTTPStatusError(url, f"HTTP {resp.status_code} {resp.reason_phrase} from {current}",
                                              resp.status_code, dict(resp.headers))
                    length = resp.headers.get("content-length")
                    if length and length.isdigit() and int(length) > max_bytes:
                        raise InputError(url, "response " + too_large(max_bytes))
                    body = read_body(resp, url, max_bytes, _max_inflated(settings), deadline, timeout * 3)
                    return FetchResult(current, body, resp.headers.get("content-type"), dict(resp.headers))
            except httpx.TimeoutException:
                raise InputError(url, f"timed out after {timeout:g} s (timeout_seconds) fetching {current}") from None
            except httpx.HTTPError as exc:
                raise InputError(url, f"could not fetch {current}: {exc.__class__.__name__}: {exc}") from None
    raise InputError(url, f"more than {max_redirects} redirects (max_redirects)")
