"""One pure-ASGI middleware for what every response needs, cheaper than Starlette's
BaseHTTPMiddleware: the language, the CSRF cookie and the security headers."""

from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.i18n import LOCALES, negotiate
from app.web import cookies, csrf

LANG_COOKIE = cookies.LANG
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


# How long the CSRF cookie lives (renewed at sign-in, app.routes.auth).
CSRF_AGE = 7 * 86400
REFUSED_METHODS = frozenset({"TRACE", "TRACK"})
BASE_SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class PortalMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("method", "").upper() in REFUSED_METHODS:
            # TRACE echoes the request (cookies included) back to a script: refused on every
            # path, before any routing, without reading or repeating what was sent.
            await self._refuse_method(send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        sent: dict[str, str] = {}
        if "cookie" in headers:
            try:
                jar: SimpleCookie = SimpleCookie()
                jar.load(headers["cookie"])
                sent = {key: morsel.value for key, morsel in jar.items()}
            except Exception:  # noqa: S110 - a garbled Cookie header is treated as no cookies
                pass
        raw_query = scope.get("query_string", b"")
        asked = (parse_qs(raw_query.decode("latin-1")).get("lang") or [""])[0] if raw_query else ""
        set_cookies: list[bytes] = []
        settings = self.settings
        secure = settings.is_prod
        lang_cookie = cookies.read_cookie(sent, settings, LANG_COOKIE)
        if asked in LOCALES:
            locale = asked
            if lang_cookie != asked:
                set_cookies.append(
                    cookies.set_cookie_header(settings, LANG_COOKIE, asked, max_age=365 * 86400)
                )
        elif lang_cookie in LOCALES:
            locale = lang_cookie
        else:
            locale = negotiate(headers.get("accept-language"), settings.default_locale)

        csrf_sent = cookies.read_cookie(sent, settings, cookies.CSRF)
        csrf_cookie = csrf_sent or ""
        if not 20 <= len(csrf_cookie) <= 100:
            csrf_cookie = csrf.new_cookie_value()
            set_cookies.append(
                cookies.set_cookie_header(settings, cookies.CSRF, csrf_cookie, max_age=CSRF_AGE)
            )
        state: dict[str, Any] = scope.setdefault("state", {})
        state["locale"] = locale
        state["csrf_cookie"] = csrf_cookie
        # The cookie the browser actually sent, which a POST's token must match.
        state["csrf_cookie_sent"] = csrf_sent

        security_headers = [*BASE_SECURITY_HEADERS, (b"content-language", locale.encode())]
        if secure:
            security_headers.append(HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in security_headers if n not in present]
                extra += [(b"set-cookie", c) for c in set_cookies]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse_method(self, send: Send) -> None:
        body = b"Method Not Allowed"
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"allow", b"GET, HEAD, POST"),
            (b"cache-control", b"no-store"),
            *BASE_SECURITY_HEADERS,
        ]
        if self.settings.is_prod:
            headers.append(HSTS)
        await send({"type": "http.response.start", "status": 405, "headers": headers})
        await send({"type": "http.response.body", "body": body})
