"""What the portal decides about a request before anything else: whether it is addressed to one
of our hosts (ALLOWED_HOSTS), and who sent it when it came through one of our proxies
(TRUSTED_PROXIES).

Production runs behind a proxy that terminates HTTPS, so the socket's peer is the proxy, the
same for every citizen. Only a peer listed in TRUSTED_PROXIES is believed about the client it
forwards (X-Forwarded-For, or Forwarded when X-Forwarded-For is absent) and the scheme
(X-Forwarded-Proto, or Forwarded's proto): the client becomes the nearest address in the chain
that is not one of our proxies, as uvicorn's proxy headers do with the same list. From anyone
else these headers change nothing, so a forged one cannot pick which client a rate limit or the
audit trail counts.
"""

import ipaddress
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.web.middleware import BASE_SECURITY_HEADERS, HSTS

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _node(value: str) -> str:
    """The address of one forwarded hop, without quotes, brackets or port:
    `"[2001:db8::1]:4711"` -> `2001:db8::1`, `203.0.113.9:80` -> `203.0.113.9`."""
    value = value.strip().strip('"').strip()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


def _forwarded_elements(values: Sequence[str]) -> list[dict[str, str]]:
    """RFC 7239's Forwarded header: hops separated by commas, `name=value` pairs by
    semicolons. (Quoted values holding commas are not expected from a proxy's own entries.)"""
    elements = []
    for value in values:
        for element in value.split(","):
            pairs: dict[str, str] = {}
            for pair in element.split(";"):
                name, _, content = pair.partition("=")
                pairs[name.strip().lower()] = content.strip().strip('"')
            elements.append(pairs)
    return elements


def forwarded_client(
    headers: Sequence[tuple[bytes, bytes]], networks: Sequence[Network]
) -> tuple[str | None, str | None]:
    """The client address and scheme a trusted proxy forwarded: the nearest hop that is not a
    trusted proxy (each proxy appends the address it saw), or the farthest if all are. None
    for what was not sent or cannot be read."""

    def trusted(hop: str) -> bool:
        address = _address(hop)
        return address is not None and any(address in network for network in networks)

    forwarded_for: list[str] = []
    forwarded: list[str] = []
    proto: str | None = None
    for name, raw in headers:
        if name == b"x-forwarded-for":
            forwarded_for.append(raw.decode("latin-1"))
        elif name == b"forwarded":
            forwarded.append(raw.decode("latin-1"))
        elif name == b"x-forwarded-proto":
            proto = raw.decode("latin-1").strip().lower()

    hops: list[tuple[str, str | None]]
    if forwarded_for:
        hops = [(_node(hop), None) for hop in ",".join(forwarded_for).split(",")]
    else:
        hops = [
            (_node(element.get("for", "")), element.get("proto"))
            for element in _forwarded_elements(forwarded)
        ]
    client: str | None = None
    hop_proto: str | None = None
    for hop, scheme in reversed(hops):
        client, hop_proto = hop, scheme
        if not trusted(hop):
            break
    if client is not None and _address(client) is None:
        client = None  # "unknown", an obfuscated name or garbage: the proxy stays the client
    scheme = proto if proto is not None else hop_proto
    return client, scheme if scheme in ("http", "https") else None


def host_name(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """The Host header's name, lowercase, without port or brackets; None without one."""
    for name, raw in headers:
        if name == b"host":
            host = raw.decode("latin-1").strip().lower()
            if host.startswith("["):
                return host[1:].partition("]")[0]
            return host.rpartition(":")[0] if host.count(":") == 1 else host.rstrip(".")
    return None


class EdgeMiddleware:
    """Outermost: a foreign Host gets 400 before anything runs; a request that came through a
    trusted proxy gets the client's address and scheme in its scope."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = settings.host_names
        self.networks = settings.proxy_networks
        self.hsts = settings.is_prod

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        host = host_name(headers)
        if host is None or host.rstrip(".") not in self.hosts:
            await self._refuse_host(send)
            return
        if self.networks:
            peer = scope.get("client")
            address = _address(peer[0]) if peer else None
            if address is not None and any(address in net for net in self.networks):
                client, scheme = forwarded_client(headers, self.networks)
                if client is not None:
                    scope["client"] = (client, 0)
                if scheme is not None:
                    scope["scheme"] = scheme
        await self.app(scope, receive, send)

    async def _refuse_host(self, send: Send) -> None:
        body = b"Bad Request: this server does not answer to that host name."
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *BASE_SECURITY_HEADERS,
        ]
        if self.hsts:
            headers.append(HSTS)
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def slash_redirect(request: Request) -> Response | None:
    """For a GET or HEAD that no page matched, a redirect to the same path with its trailing
    slash added or removed, if a page is there. Relative (`Location: /staff`), unlike
    Starlette's own (turned off in app.main), which names whatever Host the request gave and
    the scheme of the hop to the app (http behind a proxy); and never for a POST, whose body a
    307 would send again."""
    if request.method not in ("GET", "HEAD"):
        return None
    scope = request.scope
    path: str = scope["path"]
    raw: str = scope.get("raw_path", path.encode()).decode("latin-1")
    if path == "/" or "//" in path or "//" in raw:
        return None
    routes = request.app.router.routes
    if any(route.matches(scope)[0] is Match.FULL for route in routes):
        return None  # a page was found and answered 404 itself
    toggled: dict[str, Any] = {**scope, "path": _toggle_slash(path)}
    if not toggled["path"] or not any(route.matches(toggled)[0] is Match.FULL for route in routes):
        return None
    location = _toggle_slash(raw)
    if scope.get("query_string"):
        location += "?" + scope["query_string"].decode("latin-1")
    return RedirectResponse(location, status_code=307)


def _toggle_slash(path: str) -> str:
    return path.rstrip("/") if path.endswith("/") else path + "/"
