"""Public pages kept rendered for a moment, for the spikes a campaign brings: the day the call
opens, everyone opens the home page; the day of the results, the results page.

A public page (home, about, privacy, finalists, results) is the same for every visitor in a
language: it shows no account, no form and nothing personal. So it is rendered at most once per
`PAGE_CACHE_SECONDS` per worker and language, and served from memory in between, without a
database query, a thread or a template. The response's cookies and security headers are still
added per request by `app.web.middleware`.

How fresh it stays:
- a change written through the ORM in this process to anything a public page may show
  (anything but the high-volume tables listed in `UNSHOWN`) discards every kept page at once;
- other workers' pages age out within `PAGE_CACHE_SECONDS` (10 s by default), as does a page
  whose content turns with the clock (a call that opens or closes, results published at a time).
A page with a form is kept with placeholders where the CSRF tokens go, and each visitor gets
their own tokens, signed over their own cookie, when it is served.
A page is only kept when its address has no query but `lang`, so a visitor cannot fill the
memory with variants; only 200 answers are kept.
"""

import asyncio
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import event
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from app import models
from app.web.templating import TOKEN_MARK, TOKEN_PLACEHOLDER, Templates

# Tables whose rows no public page shows: the traffic of a spike (nominations and their files,
# mail, sessions, throttling, the audit trail) or confidential (judges' scores). Writing them
# keeps the pages; writing anything else discards them.
UNSHOWN: tuple[type, ...] = (
    models.AccountToken,
    models.AuditEvent,
    models.EvidenceFile,
    models.Nomination,
    models.NominationDraft,
    models.NominationNote,
    models.OutboxMessage,
    models.RateLimitHit,
    models.Score,
    models.ScoreSheet,
    models.UserSession,
    # The public vote's traffic: running counts age out like the pages (issue 18).
    models.Vote,
    models.VoteRefusal,
)

# Bumped by any flush that may change a public page; a kept page of an older generation is
# stale. One counter for the process: every app instance in it sees the same database writes.
_generation = 0
_generation_lock = threading.Lock()


def _bump() -> None:
    global _generation
    with _generation_lock:
        _generation += 1


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(instance, UNSHOWN):
            _bump()
            return


MAX_PAGES = 64
_Page = tuple[int, bytes, list[tuple[bytes, bytes]]]  # status, body, headers
T = TypeVar("T")


class PageCache:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        # key -> (generation, expires at, body, headers)
        self._pages: dict[tuple[str, ...], tuple[int, float, bytes, list[tuple[bytes, bytes]]]]
        self._pages = {}
        self._values: dict[tuple[str, ...], tuple[int, float, object]] = {}
        # The renders under way, by key: one at a time per page (see public_page).
        self.rendering: dict[tuple[str, ...], asyncio.Future[_Page | None]] = {}

    def key(self, request: Request, name: str) -> tuple[str, ...] | None:
        if self.seconds <= 0:
            return None
        scope = request.scope
        if scope["query_string"] and any(k != "lang" for k in request.query_params):
            return None
        # The path from the scope: request.url builds the whole address, a tenth of the
        # time of serving a kept page.
        return (name, scope.get("root_path", "") + scope["path"], request.state.locale)

    def lookup(self, key: tuple[str, ...]) -> tuple[bytes, list[tuple[bytes, bytes]], bool] | None:
        """The kept copy, if no change was written since it was rendered, and whether it is
        still fresh (younger than `seconds`)."""
        kept = self._pages.get(key)
        if kept is None:
            return None
        generation, expires, body, headers = kept
        if generation != _generation:
            self._pages.pop(key, None)
            return None
        return body, headers, time.monotonic() < expires

    def put(
        self,
        key: tuple[str, ...],
        generation: int,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        if len(self._pages) >= MAX_PAGES:
            self._pages.clear()
        self._pages[key] = (generation, time.monotonic() + self.seconds, body, headers)

    def clear(self) -> None:
        self._pages.clear()
        self._values.clear()

    def remember(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        """What `load` reads, kept like the pages (same lifetime, discarded by the same
        changes): for what every nomination looks up, such as its theme. A kept ORM object is
        detached and shared by threads: only for objects that are read, never changed."""
        if self.seconds <= 0:
            return load()
        kept = self._values.get(key)
        if kept is not None and kept[0] == _generation and time.monotonic() < kept[1]:
            return cast(T, kept[2])
        generation = _generation
        value = load()
        if len(self._values) >= MAX_PAGES:
            self._values.clear()
        self._values[key] = (generation, time.monotonic() + self.seconds, value)
        return value


async def public_page(request: Request, name: str, render: Callable[[], Response]) -> Response:
    """The page `render` makes, from memory when a fresh copy is kept. `render` runs in the
    thread pool, as a sync route would. The page's forms get this visitor's own CSRF tokens:
    a kept page holds placeholders (`app.web.templating.TOKEN_MARK`), filled in per request.

    One request at a time renders a page: when a copy ages out under a spike, the others are
    served the aged copy meanwhile (never one older than a change written in this process),
    or, with no copy to serve, wait for that render instead of all rendering it at once.
    """
    cache: PageCache = request.app.state.page_cache
    key = cache.key(request, name)
    if key is None:
        return _with_tokens(request, *await _render(request, render))
    kept = cache.lookup(key)
    if kept is not None and kept[2]:
        return _with_tokens(request, 200, kept[0], kept[1])
    loop = asyncio.get_running_loop()
    running = cache.rendering.get(key)
    if running is not None and running.get_loop() is loop:
        if kept is not None:
            return _with_tokens(request, 200, kept[0], kept[1])
        # Shielded: a visitor who leaves must not cancel the render others wait for.
        shared = await asyncio.shield(running)
        if shared is not None:
            return _with_tokens(request, *shared)
    future: asyncio.Future[_Page | None] = loop.create_future()
    cache.rendering[key] = future
    page: _Page | None = None
    try:
        generation = _generation  # read before rendering: a change during it makes it stale
        page = await _render(request, render)
        status, body, headers = page
        if status == 200 and not any(name == b"set-cookie" for name, _ in headers):
            cache.put(key, generation, body, headers)
    finally:
        # A render that raised (a 404, say) leaves the others to render on their own.
        future.set_result(page)
        if cache.rendering.get(key) is future:
            del cache.rendering[key]
    return _with_tokens(request, *page)


async def _render(request: Request, render: Callable[[], Response]) -> _Page:
    request.state.token_placeholders = True
    response = await run_in_threadpool(render)
    headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    return response.status_code, bytes(response.body), headers


def _with_tokens(
    request: Request, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> Response:
    if TOKEN_MARK in body:
        templates: Templates = request.app.state.templates

        def token(match: re.Match[bytes]) -> bytes:
            return templates.issue_form_token(request, match.group(1).decode()).encode()

        body = TOKEN_PLACEHOLDER.sub(token, body)
    response = Response(body, status_code=status)
    response.raw_headers = [*headers, (b"content-length", str(len(body)).encode())]
    return response
