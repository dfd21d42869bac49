"""Dependencies shared by the route modules, as `Annotated` aliases."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from sqlmodel import Session

from app.config import Settings
from app.db import READ, WRITE
from app.errors import DomainError, PermissionDenied
from app.forms.base import MAX_ROW_ID
from app.i18n import N_, Translator
from app.models import Account, Role, utcnow
from app.services import audit
from app.services.accounts.sessions import find_signed_in, touch_session
from app.web import cookies
from app.web.templating import Templates, translator


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    engine = request.app.state.engine
    if request.method not in ("GET", "HEAD"):
        # A request that writes takes SQLite's write lock at its first query (see app.db.WRITE),
        # not before: work without the database (parsing, images) runs outside the lock.
        engine = engine.execution_options(**WRITE)
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def open_session(request: Request) -> Iterator[Session]:
    """A session opened by the route itself, outside FastAPI's dependencies: for the hottest
    routes (a kept public page's render, a nomination, its receipt), which make one trip to the
    thread pool where a sync route with a session dependency makes three."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_templates(request: Request) -> Templates:
    templates: Templates = request.app.state.templates
    return templates


def _ascii_digits(value: object) -> object:
    """A number as a URL spells it: ASCII digits only, no sign, point, space or other script's
    digits, so one row has one address."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 10):
        raise PydanticCustomError("path_id", "not a number")
    return value


# A number in the path (a row's id, a year, a revision's number). Anything else, or one outside
# 1..2^31-1 (PostgreSQL's `integer`, and past SQLite's 64 bits for a long one), names nothing:
# app.main answers 404 before the handler runs, after the router's role check.
PathId = Annotated[int, BeforeValidator(_ascii_digits), Path(ge=1, le=MAX_ROW_ID)]

SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
TemplatesDep = Annotated[Templates, Depends(get_templates)]
TranslatorDep = Annotated[Translator, Depends(translator)]

# Its name outside production; in production "__Host-" comes first (app.web.cookies).
SESSION_COOKIE = cookies.SESSION


class LoginRequired(DomainError):
    """Turned into a redirect to the login page by app.main."""

    status_code = 303
    default_message = N_("Please sign in to continue.")

    def __init__(self, next_path: str) -> None:
        super().__init__()
        self.next_path = next_path


def session_token(request: Request) -> str:
    """The session cookie this browser sent, or ""."""
    return cookies.read_cookie(request.cookies, get_settings(request), SESSION_COOKIE) or ""


def get_current_account(request: Request, session: SessionDep) -> Account | None:
    if hasattr(request.state, "account"):
        return request.state.account
    token = session_token(request)
    now = utcnow()
    if not session.in_transaction():
        # A plain read, even for a POST, whose session would otherwise begin with SQLite's
        # write lock (app.db.WRITE).
        session.connection(execution_options=READ)
    signed_in = find_signed_in(session, token=token, now=now) if token else None
    # The connection goes back to the pool until the handler's first query (nothing was
    # written, and loaded rows stay loaded). Held across FastAPI's hop from this dependency to
    # the handler, it deadlocked both pools under load: requests holding all the connections
    # (or, for POSTs, SQLite's write lock) waited for a thread while every thread waited for a
    # connection (or the lock).
    session.commit()
    if signed_in and signed_in.needs_touch:
        # Its own short write transaction, begun and ended on this thread.
        engine = session.get_bind().engine.execution_options(**WRITE)
        with Session(engine) as toucher:
            touch_session(toucher, session_id=signed_in.session_id, now=now)
            toucher.commit()
    request.state.account = signed_in.account if signed_in else None
    request.state.session_id = signed_in.session_id if signed_in else None
    return request.state.account


CurrentAccountOrNone = Annotated[Account | None, Depends(get_current_account)]


def require_role(*roles: Role) -> Callable[..., Account]:
    """A router dependency: the signed-in account, if it has one of `roles`."""

    def dependency(request: Request, session: SessionDep, account: CurrentAccountOrNone) -> Account:
        if account is None:
            path = request.url.path
            raise LoginRequired(path if request.method == "GET" else "/")
        if account.role not in roles:
            audit.record(
                session,
                actor=account,
                action="access.denied",
                object_type="url",
                object_id=request.url.path[:40],
                after={"method": request.method, "path": request.url.path},
            )
            session.commit()
            raise PermissionDenied()
        return account

    return dependency


def current_account(request: Request) -> Account:
    """The account a router's require_role dependency already checked."""
    account: Account = request.state.account
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]
