"""The guard of an anonymous form (the nomination form; the public vote's next): what keeps
forged, automated, hurried and flooding submissions out before the form's own validation, and
what makes a repeated submission store one row.

A submission passes, in order: its signed form token (bound to the browser's CSRF cookie, and
expiring: an expired form comes back filled in), the form being open, the honeypot left empty,
the least time a person takes to fill the form (from the first time it was shown: a form shown
again with errors carries its signed origin on), and the client's rate limit. A repeat of a form
already stored (a double click, a retry, the back button) gets that form's receipt instead of
any refusal after the token's, so it gets it even after the form closed or past the rate
limit. What passes is stored under the token's nonce, a unique submission key: of two copies
racing each other, the second meets the key at its insert and gets the first one's receipt.

All of it runs on the request's one trip to the thread pool, with the route's session, and asks
the database nothing for a submission that passes but the rate limit's count (none when the
limit is off): the lookup of a repeat runs only before a refusal (docs/performance.md).
"""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.background import BackgroundTask

from app.config import Settings
from app.db import begin_write, end_reads
from app.errors import PermissionDenied, TooManyRequests
from app.forms.errors import FormErrors
from app.i18n import N_
from app.services import throttle
from app.web import csrf
from app.web.body import FormBody
from app.web.form_body import BodyRefused, form_values
from app.web.templating import translator

# The field a person never sees and so leaves empty; every anonymous form's template has it.
HONEYPOT = "website"
# The hidden field of a form shown again: its signed origin (csrf.FormOrigin), so the least
# fill time counts from the first time the form was shown, not from its last showing.
ORIGIN = "form_origin"

# The form's page again, with what was typed: the errors to show and the status to answer.
FormPage = Callable[[FormErrors, int], Response]
Saved = TypeVar("Saved")


@dataclass(frozen=True)
class PublicForm:
    """What one kind of anonymous form tells its guard."""

    # The path of a stored submission's receipt, "{}" standing for its reference.
    receipt: str
    # What a filled honeypot is told, and a client past its rate limit (message ids).
    automated: str
    throttled: str
    # The rate limits of one client (its address, as app.web.edge found it) and one browser
    # (the CSRF cookie its form token is bound to), under these settings.
    limits: Callable[[Settings, str, str], Sequence[throttle.Limit]]
    # The reference of what was stored under a submission key, if anything was.
    find_stored: Callable[[Session, str], str | None]


@dataclass(frozen=True)
class Stored:
    """What a form's insert stored: the reference its receipt names, and any work to run once
    the receipt is on its way."""

    reference: str
    background: BackgroundTask | None = None


class PublicFormGuard:
    """One submission of an anonymous form on its way through the guard: `verify`, then
    `screen`, then the form's own validation (`invalid` for what fails it), then `store`."""

    def __init__(
        self,
        request: Request,
        session: Session,
        body: FormBody,
        form: PublicForm,
        *,
        csrf_form: str,
        now: datetime,
    ) -> None:
        self.request = request
        self.session = session
        self.body = body
        self.form = form
        self.csrf_form = csrf_form
        self.now = now
        self.settings: Settings = request.app.state.settings
        self.t = translator(request)
        # What was typed, to show again (without the CSRF token).
        self.values = form_values(body)
        self.token: csrf.FormToken | None = None
        self.origin: csrf.FormOrigin | None = None
        self.limits: Sequence[throttle.Limit] = ()

    @property
    def fields(self) -> dict[str, str]:
        """The form's own fields, to validate: what was typed but the honeypot."""
        return {
            name: value for name, value in self.values.items() if name not in (HONEYPOT, ORIGIN)
        }

    @property
    def key(self) -> str:
        """The submission key to store the form under: the nonce of its verified token."""
        assert self.token is not None, "verify() first"
        return self.token.nonce

    def verify(self, page: FormPage) -> Response | None:
        """Checks the form token: a forged or cookie-less one is refused (403); an expired one
        brings the form back filled in (403), with a fresh token. None when it is good."""
        settings = self.settings
        cookie = self.request.state.csrf_cookie_sent
        sent_origin = self.values.pop(ORIGIN, None)
        try:
            self.token = csrf.check_token(
                settings.signing_key,
                cookie=cookie,
                form=self.csrf_form,
                token=next((v for k, v in self.body.fields if k == "csrf_token"), None),
                now=self.now,
                max_age=timedelta(hours=settings.form_max_age_hours),
            )
        except csrf.CsrfError as error:
            if error.reason != "expired":
                raise PermissionDenied(
                    N_(
                        "This form could not be verified. Make sure your browser accepts cookies,"
                        " reload the form and send it again."
                    )
                ) from error
            expired = self.t("This form was open for too long. Check it and send it again.")
            return page(FormErrors(general=[expired]), 403)
        key = settings.signing_key
        self.origin = csrf.check_origin(
            key, cookie=cookie, form=self.csrf_form, value=sent_origin, now=self.now
        ) or csrf.FormOrigin(nonce=self.token.nonce, started_at=self.token.issued_at)
        # Shown again, the form carries its origin on (the template's hidden ORIGIN field).
        self.values[ORIGIN] = csrf.sign_origin(
            key, cookie=cookie, form=self.csrf_form, origin=self.origin
        )
        return None

    def stored_already(self) -> Response | None:
        """The receipt, for a repeated POST of a form already stored. Asked only before a
        refusal: a repeat that passes every check meets the unique key at its insert instead."""
        reference = self.form.find_stored(self.session, self.key)
        if reference is None:
            return None
        return RedirectResponse(self.form.receipt.format(reference), status_code=303)

    def screen(self, *, is_open: bool, page: FormPage) -> Response | None:
        """Whether the form may be taken now: open, the honeypot empty, not sent faster than a
        person can, the client under its rate limit. None when it may; then the session's reads
        are over, and what follows (validation, files) runs outside SQLite's write lock."""
        if not is_open:
            return self.stored_already() or page(FormErrors(), 403)
        if self.values.get(HONEYPOT):
            if repeat := self.stored_already():
                return repeat
            raise BodyRefused(400, self.form.automated)
        assert self.origin is not None, "verify() first"
        if self.now - self.origin.started_at < timedelta(seconds=self.settings.form_min_seconds):
            too_fast = self.t("That was very fast. Please check the form and send it again.")
            return self.stored_already() or page(FormErrors(general=[too_fast]), 422)
        client = self.request.client.host if self.request.client else "unknown"
        browser = self.request.state.csrf_cookie_sent or ""
        self.limits = self.form.limits(self.settings, client, browser)
        try:
            throttle.check(
                self.session, limits=self.limits, now=self.now, message=self.form.throttled
            )
        except TooManyRequests as error:
            if repeat := self.stored_already():
                return repeat
            # The form again, with everything typed, to send once the wait is over (429).
            response = page(FormErrors(general=[self.t(error.message, **error.params)]), 429)
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        end_reads(self.session)
        return None

    def repeated_fields(self) -> list[str]:
        """Parameter pollution: a field sent twice would leave which value counts to chance."""
        return [
            self.t("The field %(name)s was sent more than once.", name=name)
            for name, times in Counter(name for name, _ in self.body.fields).items()
            if times > 1
        ]

    def invalid(self, page: FormPage, errors: FormErrors, status_code: int = 422) -> Response:
        """The answer to a form its validation refused: the receipt if it is a repeat of one
        stored (the first copy was valid), else the form again (422, or as told)."""
        return self.stored_already() or page(errors, status_code)

    def count(self) -> None:
        """Counts this submission against the client's rate limit without storing it (a refused
        form whose new files are kept for it) and commits."""
        if not self.limits:
            return
        end_reads(self.session)  # the lookup of a repeat, just before
        begin_write(self.session)
        throttle.record_hits(self.session, limits=self.limits, now=self.now)
        self.session.commit()

    def save(self, write: Callable[[], Saved]) -> Saved:
        """Writes something else than the submission itself (a draft to finish later) and
        commits; it counts against the client's rate limits as a submission does."""
        end_reads(self.session)
        begin_write(self.session)
        saved = write()
        throttle.record_hits(self.session, limits=self.limits, now=self.now)
        self.session.commit()
        return saved

    def store(self, insert: Callable[[str], Stored]) -> Response:
        """Stores the submission and commits: `insert(key)` adds its rows under the submission
        key; the rate limits count it. Answers with its receipt, or with the receipt of the same
        form stored meanwhile by another request (whose own background work covers it)."""
        try:
            stored = insert(self.key)
            throttle.record_hits(self.session, limits=self.limits, now=self.now)
            self.session.commit()
        except IntegrityError:
            # The same form arrived twice at once and the other request stored it first.
            self.session.rollback()
            repeat = self.stored_already()
            if repeat is None:
                raise
            return repeat
        return RedirectResponse(
            self.form.receipt.format(stored.reference),
            status_code=303,
            background=stored.background,
        )
