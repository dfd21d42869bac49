"""Signing in as a browser does, for the staff and judges' scenarios: GET /login (which sets
the CSRF cookie and draws the form's token), POST the form, keep the session cookie from the
303. The cookies come back as one `Cookie:` header value that wrk or the driver then send with
every request, as the signed-in browser would (the CSRF cookie too, so signed-in forms do not
set a new one on each page).

Cookies are read by hand: in production they are `Secure`, and this plain-HTTP loopback stands
in for the TLS that a proxy terminates.
"""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlencode, urlsplit

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSION_COOKIE = "ii_session"


class SignInFailed(RuntimeError):
    pass


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    found = {}
    for line in response.headers.get_all("set-cookie") or []:
        name, _, value = line.split(";", 1)[0].partition("=")
        found[name.strip()] = value.strip()
    return found


def sign_in(base_url: str, email: str, password: str, *, timeout: float = 30) -> str:
    """The `Cookie:` header value of a fresh session of this account."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    try:
        connection.request("GET", "/login")
        page = connection.getresponse()
        body = page.read().decode()
        cookies = _cookies(page)
        token = TOKEN.search(body)
        if page.status != 200 or token is None:
            raise SignInFailed(f"GET /login answered {page.status} without a form token")
        form = urlencode({"csrf_token": token.group(1), "email": email, "password": password})
        connection.request(
            "POST",
            "/login",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            },
        )
        answer = connection.getresponse()
        answer.read()
        cookies.update(_cookies(answer))
        # In production the cookie is "__Host-ii_session" (app/web/cookies.py).
        if answer.status != 303 or not any(name.endswith(SESSION_COOKIE) for name in cookies):
            raise SignInFailed(f"POST /login as {email} answered {answer.status}, not a session")
    finally:
        connection.close()
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def check_visits(base_url: str, visits: list[tuple[str, str]], *, timeout: float = 60) -> None:
    """Each (path, cookie) must answer 200: a lost session would be a 303 to /login, which
    wrk counts as a success."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    try:
        for path, cookie in visits:
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SignInFailed(f"GET {path} answered {response.status} to a signed-in visit")
    finally:
        connection.close()
