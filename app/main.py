import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from app import process, serving
from app.config import Environment, Settings, get_settings
from app.db import make_engine
from app.errors import DomainError, TooManyRequests
from app.i18n import N_
from app.models import utcnow
from app.routes import (
    api,
    auth,
    consent,
    data,
    judges,
    public,
    results,
    staff,
    transparency,
    vote,
)
from app.services import audit_chain
from app.services.files import FileStore
from app.services.judging.progress import ReminderSender
from app.services.mail.sender import MailSender
from app.services.nominations.exports import ExportTurns
from app.services.privacy.retention import RetentionPurger
from app.services.results.data_refresh import OpenDataRefresher
from app.services.results.transparency import due_checkpoints
from app.services.voting.upkeep import VoteKeeper
from app.web.deps import LoginRequired
from app.web.edge import EdgeMiddleware, slash_redirect
from app.web.logs import redact, redact_access_log
from app.web.middleware import PortalMiddleware
from app.web.pagecache import PageCache
from app.web.templating import STATIC_DIR, Templates, translator

log = logging.getLogger("app")
# How often the server looks whether a checkpoint of the audit chain is due (a call that closed,
# the day's one); every worker looks, and the database lets one of them make it.
CHECKPOINT_CHECK_SECONDS = 300

HTTP_MESSAGES = {
    400: N_("The request could not be understood."),
    403: N_("You are not allowed to do this."),
    404: N_("We could not find this page."),
    405: N_("This address does not accept this kind of request."),
    413: N_("What you sent is too large."),
    415: N_("This kind of content is not accepted here."),
    422: N_("Some of what was sent is not valid."),
    429: N_("Too many requests from your connection; please try again later."),
    500: N_("Something went wrong on our side. Nothing you sent was kept; please try again."),
}


class PortalApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, around Starlette's ServerErrorMiddleware: the 500 page, too, gets the
        # security headers (a middleware added with add_middleware sits inside it). Around it
        # all, the Host check and the client a trusted proxy forwarded (app.web.edge).
        settings = self.state.settings
        portal = PortalMiddleware(super().build_middleware_stack(), settings)
        return EdgeMiddleware(portal, settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    docs = not settings.is_prod

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.environment is not Environment.test:
            process.tune(threads=settings.worker_threads)
        redact_access_log()
        serving.end_with_supervisor()
        # Held while this process serves: a server starting on the same data directory waits
        # for it before sweeping orphan files (app.serving).
        lock = serving.DataDirLock(settings.data_dir)
        lock.share()
        sender = None
        reminders = None
        if settings.reminder_interval_seconds > 0:
            reminders = ReminderSender(
                app.state.engine,
                base_url=settings.base_url,
                interval=settings.reminder_interval_seconds,
            )
            reminders.start()
        if settings.smtp_url and settings.mail_interval_seconds > 0:
            sender = MailSender(
                app.state.engine,
                smtp_url=settings.smtp_url,
                sender=settings.mail_from,
                interval=settings.mail_interval_seconds,
            )
            sender.start()
        purger = None
        if settings.nomination_retention_days > 0:
            purger = RetentionPurger(
                app.state.engine,
                FileStore(settings.files_dir),
                days=settings.nomination_retention_days,
            )
            purger.start()
        refresher = None
        if settings.environment is not Environment.test and settings.open_data_refresh_seconds > 0:
            refresher = OpenDataRefresher(
                app.state.engine,
                min_count=settings.open_data_min_count,
                interval=settings.open_data_refresh_seconds,
            )
            refresher.start()
        # The public vote: counts frozen at the close, addresses deleted after retention.
        keeper = VoteKeeper(app.state.engine, retention_days=settings.vote_retention_days)
        keeper.start()
        checkpoints = None
        if settings.environment is not Environment.test:
            checkpoints = asyncio.create_task(_make_due_checkpoints(app))
        try:
            yield
        finally:
            if checkpoints is not None:
                checkpoints.cancel()
            if reminders is not None:
                reminders.stop()
            if sender is not None:
                sender.stop()
            if purger is not None:
                purger.stop()
            if refresher is not None:
                refresher.stop()
            keeper.stop()
            lock.release()

    app = PortalApp(
        lifespan=lifespan,
        title="Integrity Icon",
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    # Trailing-slash redirects are relative, and for GET and HEAD only (the 404 handler below).
    app.router.redirect_slashes = False
    app.state.engine = make_engine(settings)
    app.state.checkpoint_signer = audit_chain.load_signer(settings)
    audit_chain.use_signer(app.state.engine, app.state.checkpoint_signer)
    app.state.templates = Templates(settings)
    app.state.page_cache = PageCache(settings.page_cache_seconds)
    app.state.export_turns = ExportTurns()

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The read-only API is an application of its own, so that its OpenAPI description
    # (/api/v1/openapi.json) is served in production too, while the app's own stays hidden.
    app.mount(api.PREFIX, api.build_api(settings, app.state.engine), name="api")
    app.include_router(public.router)
    app.include_router(results.router)
    app.include_router(consent.router)
    app.include_router(data.router)
    app.include_router(vote.router)
    app.include_router(auth.router)
    app.include_router(staff.intake_router)
    app.include_router(staff.router)
    app.include_router(judges.router)
    app.include_router(transparency.router)
    _install_error_pages(app)
    return app


async def _make_due_checkpoints(app: FastAPI) -> None:
    """The daily checkpoint and the one for a call that closed, by the server itself."""
    while True:
        try:
            made = await asyncio.to_thread(
                due_checkpoints,
                app.state.engine,
                signer=app.state.checkpoint_signer,
                now=utcnow(),
            )
            for made_one in made:
                log.info("audit checkpoint %s: %s events", made_one.reason, made_one.event_count)
        except Exception:
            # A database that does not answer now may answer next time; the log says why.
            log.exception("could not make the due audit checkpoints")
        await asyncio.sleep(CHECKPOINT_CHECK_SECONDS)


def error_page(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    templates: Templates = request.app.state.templates
    return templates.render(
        request,
        "errors/error.html",
        {"status_code": status_code, "message": message},
        status_code=status_code,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, LoginRequired):
            query = urlencode({"next": exc.next_path})
            return RedirectResponse(f"/login?{query}", status_code=303)
        headers = (
            {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        )
        message = translator(request)(exc.message, **exc.params)
        return error_page(request, exc.status_code, message, headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and (redirect := slash_redirect(request)):
            return redirect
        text = HTTP_MESSAGES.get(exc.status_code, HTTP_MESSAGES[400])
        headers = dict(exc.headers or {})
        return error_page(request, exc.status_code, translator(request)(text), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # A path whose number is not one of ours (app.web.deps.PathId) names no page.
        if any(error.get("loc", ())[:1] == ("path",) for error in exc.errors()):
            return error_page(request, 404, translator(request)(HTTP_MESSAGES[404]))
        return error_page(request, 422, translator(request)(HTTP_MESSAGES[422]))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, redact(request.url.path))
        return error_page(request, 500, translator(request)(HTTP_MESSAGES[500]))


def __getattr__(name: str) -> FastAPI:
    # `uvicorn app.main:app` builds the app from the environment on first use; importing
    # this module (as the tests do, to call create_app) builds nothing.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
