"""The People's Choice, public side (issue 18): /vote, a theme's ballot at /vote/{slug},
the "check your e-mail" page at /vote/sent/{reference}, and the confirmation link at
/vote/confirm/{token} (GET shows a button, POST confirms: a link scanner opening the link
confirms nothing).

The ballot goes through the same guard as the nomination form (app/web/public_form.py): signed
token, honeypot, FORM_MIN_SECONDS, per-client and per-network throttles; then the address's own
throttle and the list of disposable domains.
"""

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.db import WRITE, end_reads, single_read
from app.errors import Conflict, TooManyRequests
from app.forms.errors import FormErrors
from app.forms.voting import validate_vote
from app.i18n import N_
from app.models import Finalist, FinalistConsent, Theme, ThemeVote, utcnow
from app.services import throttle
from app.services.results.shared import FieldInvalid
from app.services.voting import ballots, review, setup
from app.services.voting.addresses import network_of
from app.services.voting.ballots import VoteNotOpen
from app.services.voting.counting import confirmed_counts
from app.services.voting.setup import PublicVote, VoteState, vote_state
from app.web.body import FormBody
from app.web.deps import get_settings, get_templates, open_session
from app.web.form_body import text_form_body, verify_csrf
from app.web.pagecache import PageCache, public_page
from app.web.public_form import PublicForm, PublicFormGuard, Stored
from app.web.templating import NO_STORE, Templates, translator

router = APIRouter()

CONFIRM_FORM = "vote-confirm"
TextBody = Annotated[FormBody, Depends(text_form_body)]

VOTE = PublicForm(
    receipt="/vote/sent/{}",
    automated=N_(
        "This vote looks automated and was not accepted. If you are a person, please reload"
        " the page and vote again."
    ),
    throttled=ballots.THROTTLED,
    # Per client and per network; a browser's cookie is no limit here (a vote is one e-mail
    # address, throttled on its own).
    limits=lambda settings, client, _browser: ballots.rate_limits(
        key=settings.signing_key,
        client=client,
        per_client=settings.vote_rate_limit,
        per_network=settings.vote_network_rate_limit,
    ),
    find_stored=ballots.find_by_submission_key,
)


@router.get("/vote")
async def vote_index(request: Request) -> Response:
    def render() -> Response:
        with open_session(request) as session:
            rows = setup.public_votes(session, now=utcnow())
            return get_templates(request).render(request, "public/vote_index.html", {"rows": rows})

    return await public_page(request, "vote-index", render)


Ballot = tuple[Theme, ThemeVote, list[tuple[Finalist, FinalistConsent]]]


def _load_ballot(session: Session, slug: str) -> Ballot:
    """The theme, its vote and finalists, out of the session: kept for other requests."""
    theme, vote = setup.find_public_vote(session, slug=slug)
    assert theme.id is not None
    named = setup.named_theme_finalists(session, theme_id=theme.id)
    for row in (theme, vote, *(item for pair in named for item in pair)):
        session.expunge(row)
    return theme, vote, named


def _public_vote(session: Session, ballot: Ballot) -> PublicVote:
    theme, vote, finalists = ballot
    state = vote_state(vote, utcnow())
    running = None
    if state is VoteState.open and vote.show_running_counts:
        assert vote.id is not None
        running = confirmed_counts(session, theme_vote_id=vote.id)
    published = None
    if state is VoteState.closed and vote.frozen_at is not None:
        published = json.loads(vote.frozen_content)
    return PublicVote(
        theme=theme,
        vote=vote,
        state=state,
        finalists=setup.public_profiles(finalists),
        running=running,
        published=published,
    )


def _ballot_page(
    request: Request,
    templates: Templates,
    view: PublicVote,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "public/vote.html",
        {"view": view, "values": values or {}, "errors": errors or FormErrors()},
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/vote/{slug}")
async def ballot(request: Request, slug: str) -> Response:
    def render() -> Response:
        with open_session(request) as session:
            view = _public_vote(session, _load_ballot(session, slug))
            return _ballot_page(request, get_templates(request), view)

    return await public_page(request, "vote", render)


@router.post("/vote/{slug}")
async def cast(request: Request, slug: str, body: TextBody) -> Response:
    # The body is read here, on the event loop; everything else in one trip to the thread pool.
    return await run_in_threadpool(_cast, request, slug, body)


def _count_refusal(request: Request, theme_vote_id: int, reason: str) -> None:
    """A refused vote, counted for the review page in a short write of its own."""
    client = request.client.host if request.client else "unknown"
    engine = request.app.state.engine.execution_options(**WRITE)
    with Session(engine) as writer:
        review.record_refusal(
            writer,
            theme_vote_id=theme_vote_id,
            network=network_of(client),
            reason=reason,
            now=utcnow(),
        )
        writer.commit()


def _cast(request: Request, slug: str, body: FormBody) -> Response:
    settings = get_settings(request)
    templates = get_templates(request)
    t = translator(request)
    with open_session(request) as session:
        now = utcnow()
        guard = PublicFormGuard(request, session, body, VOTE, csrf_form=f"vote:{slug}", now=now)
        view: PublicVote | None = None

        def page(errors: FormErrors, status_code: int) -> Response:
            shown = view or _public_vote(session, _load_ballot(session, slug))
            return _ballot_page(
                request,
                templates,
                shown,
                values=guard.values,
                errors=errors,
                status_code=status_code,
            )

        if refused := guard.verify(page):
            return refused
        page_cache: PageCache = request.app.state.page_cache
        ballot = page_cache.remember(("ballot", slug), lambda: _load_ballot(session, slug))
        theme, theme_vote, finalists = ballot
        assert theme_vote.id is not None
        view = PublicVote(
            theme=theme,
            vote=theme_vote,
            state=vote_state(theme_vote, now),
            finalists=setup.public_profiles(finalists),
            running=None,
            published=None,
        )
        if refused := guard.screen(is_open=view.is_open, page=page):
            if refused.status_code == 429:
                _count_refusal(request, theme_vote.id, "throttle")
            return refused
        by_id = {f.id: f for f, _consent in finalists if f.id is not None}
        form, errors = validate_vote(
            guard.fields, t, finalist_ids=set(by_id), bad_encoding=body.bad_encoding
        )
        errors.general += guard.repeated_fields()
        if form is None or errors:
            return guard.invalid(page, errors)
        try:
            ballots.check_address(form.email)
        except FieldInvalid as refusal:
            errors.add(refusal.field, t(refusal.message))
            if repeat := guard.stored_already():
                return repeat
            _count_refusal(request, theme_vote.id, "disposable")
            return page(errors, 422)
        address_limits = [
            ballots.address_limit(
                key=settings.signing_key,
                address=form.email,
                per_hour=settings.vote_address_rate_limit,
            )
        ]
        try:
            throttle.check(
                session, limits=address_limits, now=now, message=ballots.ADDRESS_THROTTLED
            )
        except TooManyRequests as error:
            if repeat := guard.stored_already():
                return repeat
            _count_refusal(request, theme_vote.id, "address")
            response = page(FormErrors(general=[t(error.message, **error.params)]), 429)
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        end_reads(session)
        finalist = by_id[form.finalist]
        client = request.client.host if request.client else "unknown"

        def insert(submission_key: str) -> Stored:
            cast = ballots.cast_vote(
                session,
                theme=theme,
                theme_vote=theme_vote,
                finalist=finalist,
                email=form.email,
                submission_key=submission_key,
                client=client,
                key=settings.signing_key,
                address_limits=address_limits,
                locale=t.locale,
                now=now,
                base_url=settings.base_url,
            )
            return Stored(cast.vote.reference)

        try:
            return guard.store(insert)
        except VoteNotOpen:
            session.rollback()
            return page(FormErrors(), 403)


@router.get("/vote/sent/{reference}")
async def sent(request: Request, reference: str) -> Response:
    def render() -> Response:
        with single_read(request.app.state.engine) as connection:
            found = ballots.sent_view(connection, reference=reference)
        return get_templates(request).render(
            request, "public/vote_sent.html", {"sent": found}, headers=NO_STORE
        )

    return await run_in_threadpool(render)


def _confirm_page(
    request: Request,
    *,
    token: str,
    found: ballots.Confirmation | None,
    message: str = "",
    status_code: int = 200,
) -> Response:
    return get_templates(request).render(
        request,
        "public/vote_confirm.html",
        {"token": token, "found": found, "message": message, "form": CONFIRM_FORM},
        status_code=status_code,
        headers={**NO_STORE, "Referrer-Policy": "no-referrer"},
    )


def _refusal_message(request: Request, refusal: VoteNotOpen | Conflict) -> str:
    t = translator(request)
    if isinstance(refusal, VoteNotOpen):
        return t(refusal.message, date=t.datetime(refusal.when))
    return t(refusal.message, **refusal.params)


@router.get("/vote/confirm/{token}")
async def confirm_form(request: Request, token: str) -> Response:
    def render() -> Response:
        with open_session(request) as session:
            try:
                found = ballots.confirmation_page(session, token=token, now=utcnow())
            except (VoteNotOpen, Conflict) as refusal:
                return _confirm_page(
                    request,
                    token=token,
                    found=None,
                    message=_refusal_message(request, refusal),
                    status_code=refusal.status_code,
                )
            return _confirm_page(request, token=token, found=found)

    return await run_in_threadpool(render)


@router.post("/vote/confirm/{token}")
async def confirm(request: Request, token: str, body: TextBody) -> Response:
    verify_csrf(request, body, CONFIRM_FORM)

    def write() -> Response:
        engine = request.app.state.engine.execution_options(**WRITE)
        # Two votes of one address confirmed at the same moment (PostgreSQL): the second
        # meets the first's counted key, and is confirmed again after it, replacing it.
        for attempt in (1, 2):
            with Session(engine, expire_on_commit=False) as session:
                try:
                    found = ballots.confirm_vote(session, token=token, now=utcnow())
                    session.commit()
                except (VoteNotOpen, Conflict) as refusal:
                    return _confirm_page(
                        request,
                        token=token,
                        found=None,
                        message=_refusal_message(request, refusal),
                        status_code=refusal.status_code,
                    )
                except IntegrityError:
                    if attempt == 2:
                        raise
                    continue
            return RedirectResponse(f"/vote/sent/{found.reference}", status_code=303)
        raise AssertionError("unreachable")

    return await run_in_threadpool(write)
