"""The portal's cookies, named and flagged in one place.

In production every cookie is a `__Host-` cookie: a browser keeps it only if it came over
HTTPS with `Secure`, `Path=/` and no `Domain`, so neither plain HTTP nor a sibling subdomain
can set or overwrite it (a planted CSRF or session cookie). Outside production they keep their
plain names, since browsers refuse such cookies over the plain HTTP of a developer's machine.
"""

from collections.abc import Mapping

from starlette.responses import Response

from app.config import Settings
from app.web import csrf

HOST_PREFIX = "__Host-"
SESSION = "ii_session"
CSRF = csrf.COOKIE_NAME
LANG = "ii_lang"


def cookie_name(settings: Settings, name: str) -> str:
    return HOST_PREFIX + name if settings.is_prod else name


def read_cookie(cookies: Mapping[str, str], settings: Settings, name: str) -> str | None:
    return cookies.get(cookie_name(settings, name))


def set_cookie_header(settings: Settings, name: str, value: str, *, max_age: int | None) -> bytes:
    """A Set-Cookie value; without `max_age` the cookie ends with the browser."""
    parts = [f"{cookie_name(settings, name)}={value}", "Path=/"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    parts += ["HttpOnly", "SameSite=Lax"]
    if settings.is_prod:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, *, max_age: int | None = None
) -> None:
    header = set_cookie_header(settings, name, value, max_age=max_age)
    response.raw_headers.append((b"set-cookie", header))


def delete_cookie(response: Response, settings: Settings, name: str) -> None:
    set_cookie(response, settings, name, '""', max_age=0)
