"""Hostile input against every kind of form the portal has: each refusal is a clear 4xx, never a
5xx, and leaves the database (and, for nominations, the file store) exactly as it was."""

import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from PIL import Image
from sqlalchemy import Engine, String, func, select, text
from sqlalchemy import Enum as SaEnum
from sqlmodel import Session
from sqlmodel import select as sqlmodel_select

from app.config import Settings
from app.i18n import TIMEZONE
from app.models import Account, Nomination, NominationStatus, OutboxMessage, Role, metadata, utcnow
from app.services.accounts.accounts import create_account
from app.services.results import consent
from app.web import csrf
from tests.factories import (
    DEFAULT_PASSWORD,
    declare_conflict,
    make_account,
    make_candidate,
    make_criteria,
    make_finalist,
    make_judge,
    make_meeting,
    make_open_campaign,
    nomination_data,
    post_nomination,
    sign_in,
)

UNCOUNTED = {"audit_event", "rate_limit_hit"}
BOUNDARY = "hostileBoundary4f9a"


# --- reading forms out of pages ------------------------------------------------------------------


class _FormReader(HTMLParser):
    """The fields of the POST form whose action is `action`, with the values the page gives."""

    def __init__(self, action: str, page: str) -> None:
        super().__init__()
        self.action = action
        self.page = page
        self.inside = False
        self.found = False
        self.fields: list[tuple[str, str]] = []
        self.multipart = False
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.found and a.get("action", self.page) == self.action:
            self.inside = self.found = True
            self.multipart = a.get("enctype") == "multipart/form-data"
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("file", "submit", "button"):
                return
            self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._select_value = name, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select_value is None or "selected" in a:
                self._select_value = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self._select is not None:
            self.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.strip()))
            self._textarea = None


def read_form_fields(html: str, action: str, page: str = "") -> tuple[list[tuple[str, str]], bool]:
    reader = _FormReader(action, page or action)
    reader.feed(html)
    assert reader.found, f"no form posting to {action}"
    return reader.fields, reader.multipart


# --- the world every form needs ------------------------------------------------------------------


@dataclass
class World:
    nomination_id: int
    candidate_id: int
    finalist_id: int
    open_finalist_id: int
    meeting_id: int
    theme_id: int
    staff: Account
    admin: Account
    judge: Account
    reset_token: str = ""
    # A finalist asked for consent, and the link mailed to them (issue 15).
    consent_finalist_id: int = 0
    consent_token: str = ""


@pytest.fixture
def world(client: TestClient, session: Session) -> World:
    campaign, youth, _ = make_open_campaign(session)
    assert post_nomination(client).status_code == 303
    client.cookies.clear()
    nomination = session.exec(sqlmodel_select(Nomination)).one()
    nomination.status = NominationStatus.eligible
    session.add(nomination)
    session.commit()
    candidate = make_candidate(session, youth)
    finalist = make_finalist(session, youth)
    other_finalist = make_finalist(session, youth)
    make_criteria(session, campaign)
    judge = make_judge(session, youth)
    meeting = make_meeting(session, campaign, [finalist])
    declare_conflict(session, judge, finalist, has_conflict=False, description="")
    new = create_account(
        session,
        email="nueva@example.org",
        name="Nueva",
        role=Role.staff,
        password=None,
        now=utcnow(),
    )
    session.commit()
    assert new.set_password_token
    staff = make_account(session, Role.staff)
    asked = make_finalist(session, youth, consented=False)
    consent.request_consent(
        session,
        actor=staff,
        finalist_id=asked.id or 0,
        email="finalista@example.org",
        locale="es",
        now=utcnow(),
        base_url="http://testserver",
    )
    session.commit()
    mail = session.exec(sqlmodel_select(OutboxMessage)).all()[-1]
    consent_link = re.search(r"/consent/([A-Za-z0-9_-]{43})", mail.body)
    assert consent_link is not None
    return World(
        nomination_id=nomination.id,
        candidate_id=candidate.id,  # type: ignore[arg-type]
        finalist_id=finalist.id,  # type: ignore[arg-type]
        open_finalist_id=other_finalist.id,  # type: ignore[arg-type]
        meeting_id=meeting.id,  # type: ignore[arg-type]
        theme_id=youth.id,  # type: ignore[arg-type]
        staff=staff,
        admin=make_account(session, Role.admin),
        judge=judge,
        reset_token=new.set_password_token,
        consent_finalist_id=asked.id or 0,
        consent_token=consent_link.group(1),
    )


@dataclass(frozen=True)
class FormSpec:
    key: str
    role: Role | None
    page: Callable[[World], str]
    action: Callable[[World], str]
    # Values that make the page's form a valid submission.
    values: Callable[[World], dict[str, str]]
    text_field: str
    # Where what was typed in text_field is shown back, for the injection cases.
    shown_on: Callable[[World], str] | None = None
    # Forms read as a plain dict ignore unknown fields instead of refusing them (the auth forms).
    strict_fields: bool = True
    own_csrf_form: bool = False
    account: Callable[[World], Account] | None = None


def _staff(w: World) -> Account:
    return w.staff


def _admin(w: World) -> Account:
    return w.admin


def _judge(w: World) -> Account:
    return w.judge


FORMS = [
    FormSpec(
        "consent",
        None,
        page=lambda w: f"/consent/{w.consent_token}",
        action=lambda w: f"/consent/{w.consent_token}",
        values=lambda w: {
            "decision": "consent",
            "name_and_position": "yes",
            "requested_note": "Otra foto, por favor.",
        },
        text_field="requested_note",
        own_csrf_form=True,
    ),
    FormSpec(
        "consent_recorded_by_staff",
        Role.staff,
        page=lambda w: f"/staff/finalists/{w.consent_finalist_id}/consent",
        action=lambda w: f"/staff/finalists/{w.consent_finalist_id}/consent",
        values=lambda w: {
            "channel": "letter",
            "decision": "consent",
            "name_and_position": "yes",
            "requested_note": "Pidió otra foto.",
        },
        text_field="requested_note",
        shown_on=lambda w: f"/staff/finalists/{w.consent_finalist_id}/consent",
        account=_staff,
    ),
    FormSpec(
        "nomination",
        None,
        page=lambda w: "/nominate/youth",
        action=lambda w: "/nominate/youth",
        values=lambda w: _nomination_values(),
        text_field="achievement",
        shown_on=lambda w: "/staff/nominations/2",
        own_csrf_form=True,
    ),
    FormSpec(
        "login",
        None,
        page=lambda w: "/login",
        action=lambda w: "/login",
        values=lambda w: {"email": w.staff.email, "password": DEFAULT_PASSWORD},
        text_field="email",
        strict_fields=False,
        own_csrf_form=True,
    ),
    FormSpec(
        "password_reset",
        None,
        page=lambda w: "/password-reset",
        action=lambda w: "/password-reset",
        values=lambda w: {"email": w.staff.email},
        text_field="email",
        strict_fields=False,
        own_csrf_form=True,
    ),
    FormSpec(
        "set_password",
        None,
        page=lambda w: f"/account/set-password/{w.reset_token}",
        action=lambda w: f"/account/set-password/{w.reset_token}",
        values=lambda w: {
            "password": "otra frase bastante larga",
            "password_again": "otra frase bastante larga",
        },
        text_field="password",
        strict_fields=False,
        own_csrf_form=True,
    ),
    FormSpec(
        "change_password",
        Role.staff,
        page=lambda w: "/account/password",
        action=lambda w: "/account/password",
        values=lambda w: {
            "current_password": DEFAULT_PASSWORD,
            "password": "otra frase bastante larga",
            "password_again": "otra frase bastante larga",
        },
        text_field="current_password",
        strict_fields=False,
        account=_staff,
    ),
    FormSpec(
        "nomination_status",
        Role.staff,
        page=lambda w: f"/staff/nominations/{w.nomination_id}",
        action=lambda w: f"/staff/nominations/{w.nomination_id}/status",
        values=lambda w: {"action": "ineligible", "reason": "No es servidora pública."},
        text_field="reason",
        account=_staff,
    ),
    FormSpec(
        "nomination_note",
        Role.staff,
        page=lambda w: f"/staff/nominations/{w.nomination_id}",
        action=lambda w: f"/staff/nominations/{w.nomination_id}/notes",
        values=lambda w: {"body": "Llamar a la referencia."},
        text_field="body",
        shown_on=lambda w: f"/staff/nominations/{w.nomination_id}",
        account=_staff,
    ),
    FormSpec(
        "candidate_create",
        Role.staff,
        page=lambda w: "/staff/candidates",
        action=lambda w: "/staff/candidates",
        values=lambda w: {"nomination_id": str(w.nomination_id)},
        text_field="nomination_id",
        account=_staff,
    ),
    FormSpec(
        "vetting_check",
        Role.staff,
        page=lambda w: f"/staff/candidates/{w.candidate_id}",
        action=lambda w: f"/staff/candidates/{w.candidate_id}/checks",
        values=lambda w: {
            "kind": "references",
            "result": "clear",
            "checked_on": utcnow().astimezone(TIMEZONE).date().isoformat(),
            "note": "Sin sanciones registradas.",
        },
        text_field="note",
        shown_on=lambda w: f"/staff/candidates/{w.candidate_id}",
        account=_staff,
    ),
    FormSpec(
        "finalist_profile",
        Role.staff,
        page=lambda w: f"/staff/finalists/{w.finalist_id}",
        action=lambda w: f"/staff/finalists/{w.finalist_id}",
        values=lambda w: {"public_name": "Ana Pérez", "citation_es": "Defendió el agua."},
        text_field="citation_es",
        shown_on=lambda w: f"/staff/finalists/{w.finalist_id}",
        account=_staff,
    ),
    FormSpec(
        "criterion",
        Role.staff,
        page=lambda w: "/staff/criteria",
        action=lambda w: "/staff/criteria",
        values=lambda w: {
            "name_es": "Valentía",
            "name_en": "Courage",
            "weight": "1",
            "scale_min": "1",
            "scale_max": "5",
        },
        text_field="name_es",
        shown_on=lambda w: "/staff/criteria",
        account=_staff,
    ),
    FormSpec(
        "meeting",
        Role.staff,
        page=lambda w: "/staff/meetings",
        action=lambda w: "/staff/meetings",
        values=lambda w: {
            "number": "2",
            "held_on": utcnow().astimezone(TIMEZONE).date().isoformat(),
            "themes": str(w.theme_id),
        },
        text_field="number",
        account=_staff,
    ),
    FormSpec(
        "conflict_declaration",
        Role.judge,
        page=lambda w: "/judges/conflicts",
        action=lambda w: f"/judges/conflicts/{w.open_finalist_id}",
        values=lambda w: {"answer": "conflict", "description": "Fue mi jefa."},
        text_field="description",
        account=_judge,
    ),
    FormSpec(
        "score_sheet",
        Role.judge,
        page=lambda w: f"/judges/meetings/{w.meeting_id}/finalists/{w.finalist_id}",
        action=lambda w: f"/judges/meetings/{w.meeting_id}/finalists/{w.finalist_id}",
        values=lambda w: {"comment": "Trayectoria sólida.", "action": "submit"},
        text_field="comment",
        account=_judge,
    ),
    FormSpec(
        "arco_search",
        Role.staff,
        page=lambda w: "/staff/arco",
        action=lambda w: "/staff/arco",
        values=lambda w: {"email": "roberto@example.org"},
        text_field="email",
        account=_staff,
    ),
    FormSpec(
        "users_invite",
        Role.admin,
        page=lambda w: "/staff/users",
        action=lambda w: "/staff/users/invite",
        values=lambda w: {"name": "Nueva Persona", "email": "otra@example.org", "role": "staff"},
        text_field="name",
        shown_on=lambda w: "/staff/users",
        account=_admin,
    ),
]
FORM_IDS = [spec.key for spec in FORMS]


def _nomination_values() -> dict[str, str]:
    return nomination_data()


# --- helpers -------------------------------------------------------------------------------------


@dataclass
class Ctx:
    client: TestClient
    session: Session
    engine: Engine
    settings: Settings
    world: World
    spec: FormSpec
    fields: list[tuple[str, str]] = field(default_factory=list)
    multipart: bool = False

    @property
    def action(self) -> str:
        return self.spec.action(self.world)

    @property
    def token(self) -> str:
        return next(v for k, v in self.fields if k == "csrf_token")

    def valid(self, **changes: str) -> list[tuple[str, str]]:
        """The valid submission, with some fields replaced (or added)."""
        result = [(k, changes.get(k, v)) for k, v in self.fields]
        result += [(k, v) for k, v in changes.items() if k not in dict(self.fields)]
        return result

    def post(self, content: bytes, content_type: str, **headers: str) -> Any:
        return self.client.post(
            self.action,
            content=content,
            headers={"Content-Type": content_type, **headers},
            follow_redirects=False,
        )

    def post_fields(self, fields: list[tuple[str, str]]) -> Any:
        if self.multipart:
            return self.post(multipart_body(fields), MULTIPART)
        return self.post(urlencoded(fields), URLENCODED)


URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def urlencoded(fields: list[tuple[str, str]] | list[tuple[bytes, bytes]]) -> bytes:
    return b"&".join(
        quote(k, safe="").encode() + b"=" + quote(v, safe="").encode() for k, v in fields
    )


def part(name: bytes, value: bytes, filename: bytes | None = None, ctype: bytes = b"") -> bytes:
    head = b'Content-Disposition: form-data; name="' + name + b'"'
    if filename is not None:
        head += b'; filename="' + filename + b'"\r\nContent-Type: ' + ctype
    return head + b"\r\n\r\n" + value


def multipart_body(fields: list[tuple[str, str]], *extra_parts: bytes) -> bytes:
    parts = [part(k.encode(), v.encode()) for k, v in fields] + list(extra_parts)
    delimiter = f"--{BOUNDARY}".encode()
    return b"".join(delimiter + b"\r\n" + p + b"\r\n" for p in parts) + delimiter + b"--\r\n"


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
            if table.name not in UNCOUNTED
        }


def files_on_disk(settings: Settings) -> list[str]:
    root = settings.files_dir
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(params=FORMS, ids=FORM_IDS)
def ctx(
    request: pytest.FixtureRequest,
    client: TestClient,
    session: Session,
    engine: Engine,
    settings: Settings,
    world: World,
) -> Ctx:
    spec: FormSpec = request.param
    if spec.account is not None:
        sign_in(client, session, spec.account(world))
    page = client.get(spec.page(world))
    assert page.status_code == 200, (spec.key, page.status_code)
    fields, multipart = read_form_fields(page.text, spec.action(world), spec.page(world))
    values = spec.values(world)
    fields = [(k, values.get(k, v)) for k, v in fields]
    fields += [(k, v) for k, v in values.items() if k not in dict(fields)]
    if spec.key == "score_sheet":
        fields = [(k, "4" if k.startswith("score-") else v) for k, v in fields]
    return Ctx(client, session, engine, settings, world, spec, fields, multipart)


@pytest.fixture
def unchanged(ctx: Ctx) -> Iterator[None]:
    """Asserts, after the test, that no row (and no stored file) was added or removed."""
    before = row_counts(ctx.engine)
    files = files_on_disk(ctx.settings)
    yield
    assert row_counts(ctx.engine) == before
    assert files_on_disk(ctx.settings) == files


def assert_refused(response: Any, *statuses: int) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:500])


# --- the valid submission, so that every refusal below is a refusal of the hostile part ---------


def test_form_valid_submission_is_accepted(ctx: Ctx) -> None:
    response = ctx.post_fields(ctx.fields)
    # A search stores nothing and shows its results in place.
    expected = 200 if ctx.spec.key == "arco_search" else 303
    assert response.status_code == expected, (response.status_code, response.text[:2000])


# --- oversized and malformed bodies --------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_form_declared_oversize_body_is_refused_413(ctx: Ctx) -> None:
    response = ctx.post(urlencoded(ctx.fields), URLENCODED, **{"Content-Length": str(10**10)})
    assert_refused(response, 413)


@pytest.mark.usefixtures("unchanged")
def test_form_30mb_chunked_body_is_refused_413(ctx: Ctx) -> None:
    def chunks() -> Iterator[bytes]:
        yield urlencoded(ctx.fields) + b"&filler="
        for _ in range(30):
            yield b"a" * (1024 * 1024)

    response = ctx.client.post(
        ctx.action, content=chunks(), headers={"Content-Type": URLENCODED}, follow_redirects=False
    )
    assert_refused(response, 413)


@pytest.mark.usefixtures("unchanged")
def test_form_multipart_with_wrong_boundary_is_refused_400(ctx: Ctx) -> None:
    body = multipart_body(ctx.fields)
    response = ctx.post(body, "multipart/form-data; boundary=notTheOneUsed")
    assert_refused(response, 400)


@pytest.mark.usefixtures("unchanged")
def test_form_truncated_multipart_is_refused_400(ctx: Ctx) -> None:
    body = multipart_body(ctx.fields)
    response = ctx.post(body[: len(body) - 30], MULTIPART)
    assert_refused(response, 400)


@pytest.mark.usefixtures("unchanged")
def test_form_multipart_without_boundary_is_refused_400(ctx: Ctx) -> None:
    response = ctx.post(multipart_body(ctx.fields), "multipart/form-data")
    assert_refused(response, 400)


@pytest.mark.usefixtures("unchanged")
def test_form_invalid_percent_escape_is_refused_400(ctx: Ctx) -> None:
    body = urlencoded(ctx.fields) + b"&" + ctx.spec.text_field.encode() + b"=100%zz%"
    body = re.sub(
        rb"(^|&)" + re.escape(ctx.spec.text_field.encode()) + rb"=[^&]*&", rb"\1", body, count=1
    )
    response = ctx.post(body, URLENCODED)
    assert_refused(response, 400)


@pytest.mark.usefixtures("unchanged")
def test_form_percent_escaped_invalid_utf8_is_refused(ctx: Ctx) -> None:
    fields = ctx.valid(**{ctx.spec.text_field: "__BAD__"})
    body = urlencoded(fields).replace(b"__BAD__", b"caf%E9%C3%28")
    response = ctx.post(body, URLENCODED)
    assert_refused(response, 400, 422)


@pytest.mark.usefixtures("unchanged")
def test_form_raw_invalid_utf8_in_multipart_is_refused(ctx: Ctx) -> None:
    fields = ctx.valid(**{ctx.spec.text_field: "__BAD__"})
    body = multipart_body(fields).replace(b"__BAD__", b"caf\xe9 \xff\xfe")
    response = ctx.post(body, MULTIPART)
    assert_refused(response, 400, 422)


@pytest.mark.usefixtures("unchanged")
def test_form_nul_byte_in_field_is_refused(ctx: Ctx, request: pytest.FixtureRequest) -> None:
    response = ctx.post_fields(ctx.valid(**{ctx.spec.text_field: "antes\x00después"}))
    assert_refused(response, 400, 422)


@pytest.mark.usefixtures("unchanged")
def test_form_field_name_not_utf8_is_refused_400(ctx: Ctx) -> None:
    body = urlencoded(ctx.fields) + b"&%FF%FEname=1"
    assert_refused(ctx.post(body, URLENCODED), 400)
    raw = multipart_body(ctx.fields, part(b"\xff\xfename", b"1"))
    assert_refused(ctx.post(raw, MULTIPART), 400)


@pytest.mark.usefixtures("unchanged")
def test_form_utf16_body_declared_as_form_is_refused(ctx: Ctx) -> None:
    body = urlencoded(ctx.fields).decode().encode("utf-16")
    assert_refused(ctx.post(body, URLENCODED), 400, 403, 422)


@pytest.mark.usefixtures("unchanged")
def test_form_latin1_charset_is_not_decoded_as_latin1(ctx: Ctx) -> None:
    fields = ctx.valid(**{ctx.spec.text_field: "__BAD__"})
    body = urlencoded(fields).replace(b"__BAD__", quote("Muñoz".encode("latin-1")).encode())
    response = ctx.post(body, URLENCODED + "; charset=latin-1")
    assert_refused(response, 400, 415, 422)


@pytest.mark.usefixtures("unchanged")
def test_form_unsupported_content_type_is_refused_415(ctx: Ctx) -> None:
    response = ctx.post(b'{"csrf_token": "x"}', "application/json")
    assert_refused(response, 415)


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("unchanged")
def test_form_without_csrf_token_is_refused_403(ctx: Ctx) -> None:
    fields = [(k, v) for k, v in ctx.fields if k != "csrf_token"]
    assert_refused(ctx.post_fields(fields), 403)


@pytest.mark.usefixtures("unchanged")
def test_form_modified_csrf_signature_is_refused_403(ctx: Ctx) -> None:
    token = ctx.token
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_refused(ctx.post_fields(ctx.valid(csrf_token=forged)), 403)


def test_form_csrf_token_of_another_browser_is_refused_403(ctx: Ctx, app: FastAPI) -> None:
    with TestClient(app, base_url="http://testserver") as other:
        if ctx.spec.account is not None:
            sign_in(other, ctx.session, ctx.spec.account(ctx.world))
        page = other.get(ctx.spec.page(ctx.world))
        foreign, _ = read_form_fields(page.text, ctx.action, ctx.spec.page(ctx.world))
    token = next(v for k, v in foreign if k == "csrf_token")
    assert token != ctx.token
    before = row_counts(ctx.engine)
    assert_refused(ctx.post_fields(ctx.valid(csrf_token=token)), 403)
    assert row_counts(ctx.engine) == before


@pytest.mark.usefixtures("unchanged")
def test_form_expired_csrf_token_is_refused(ctx: Ctx) -> None:
    form = _csrf_form_name(ctx)
    cookie = ctx.client.cookies.get(csrf.COOKIE_NAME)
    assert cookie
    old = utcnow() - timedelta(hours=ctx.settings.form_max_age_hours + 1)
    token = csrf.issue_token(ctx.settings.signing_key, cookie=cookie, form=form, now=old)
    # The nomination form answers an expired token with the form filled in again (403).
    assert_refused(ctx.post_fields(ctx.valid(csrf_token=token)), 403)


# Signed-in forms share one CSRF form name by design (SameSite cookies keep other sites out).
OWN_CSRF = [spec for spec in FORMS if spec.own_csrf_form]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("ctx", OWN_CSRF, ids=[s.key for s in OWN_CSRF], indirect=True)
def test_form_csrf_token_of_another_form_is_refused_403(ctx: Ctx) -> None:
    cookie = ctx.client.cookies.get(csrf.COOKIE_NAME)
    assert cookie
    other = "nominate:sustainability" if ctx.spec.key != "nomination" else "login"
    token = csrf.issue_token(ctx.settings.signing_key, cookie=cookie, form=other, now=utcnow())
    assert_refused(ctx.post_fields(ctx.valid(csrf_token=token)), 403)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "ctx",
    [
        pytest.param(
            spec,
            id=spec.key,
        )
        for spec in FORMS
    ],
    indirect=True,
)
def test_form_duplicated_csrf_token_is_refused(ctx: Ctx) -> None:
    assert_refused(ctx.post_fields([*ctx.fields, ("csrf_token", ctx.token)]), 403, 422)


def _csrf_form_name(ctx: Ctx) -> str:
    if ctx.spec.key == "nomination":
        return "nominate:youth"
    if not ctx.spec.own_csrf_form:
        return "signed-in"
    from app.routes import auth
    from app.routes import consent as consent_routes

    names = {
        "consent": consent_routes.CONSENT_FORM,
        "login": auth.LOGIN_FORM,
        "password_reset": auth.RESET_FORM,
        "set_password": auth.SET_PASSWORD_FORM,
    }
    return names[ctx.spec.key]


# --- parameter pollution and mass assignment -----------------------------------------------------


# These forms read their fields into a dict, so the last of two values silently wins; the
# nomination form and the score sheet refuse a repeated field, and so should every other form.
DUPLICATE_ACCEPTED = {
    "nomination_status",
    "nomination_note",
    "candidate_create",
    "vetting_check",
    "finalist_profile",
    "criterion",
    "meeting",
    "conflict_declaration",
    "arco_search",
    "users_invite",
}
STRICT = [
    pytest.param(
        spec,
        id=spec.key,
    )
    for spec in FORMS
    if spec.strict_fields
]


@pytest.mark.parametrize("ctx", STRICT, indirect=True)
def test_form_duplicated_field_is_refused_422(ctx: Ctx) -> None:
    before = row_counts(ctx.engine)
    value = dict(ctx.fields)[ctx.spec.text_field]
    response = ctx.post_fields([*ctx.fields, (ctx.spec.text_field, value)])
    assert_refused(response, 422)
    assert row_counts(ctx.engine) == before


MASS_ASSIGNMENT = {
    "status": "eligible",
    "role": "admin",
    "id": "1",
    "account_id": "1",
    "is_active": "true",
    "password_hash": "x",
    "candidate_id": "1",
}


def test_form_extra_fields_are_refused_or_ignored(ctx: Ctx) -> None:
    extra = {k: v for k, v in MASS_ASSIGNMENT.items() if k not in dict(ctx.fields)}
    before = row_counts(ctx.engine)
    accounts_before = _accounts(ctx.engine)
    response = ctx.post_fields(ctx.valid(**extra))
    assert response.status_code < 500
    if ctx.spec.strict_fields:
        assert_refused(response, 422)
        assert row_counts(ctx.engine) == before
    # However the form answered, no account changed role, activity or address.
    assert _accounts(ctx.engine) == accounts_before


def _accounts(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, role, is_active, email FROM account ORDER BY id")
        ).all()
    return [tuple(row) for row in rows]


# --- injection strings ---------------------------------------------------------------------------

INJECTIONS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}} y {% raw %}",
    "' OR 1=1 --",
    "; DROP TABLE nomination; --",
]
SHOWN = [spec for spec in FORMS if spec.shown_on is not None]


@pytest.mark.parametrize("ctx", SHOWN, ids=[s.key for s in SHOWN], indirect=True)
@pytest.mark.parametrize("payload", INJECTIONS)
def test_form_injection_is_stored_as_typed_and_shown_escaped(ctx: Ctx, payload: str) -> None:
    value = f"Texto {payload} fin"
    response = ctx.post_fields(ctx.valid(**{ctx.spec.text_field: value}))
    assert response.status_code == 303, response.text[:2000]
    assert _stored_somewhere(ctx.engine, value), "the text was not stored as typed"
    if ctx.spec.key == "nomination":
        sign_in(ctx.client, ctx.session, ctx.world.staff)
        reference = response.headers["location"].rsplit("/", 1)[-1]
        with ctx.engine.connect() as conn:
            nid = conn.execute(
                text("SELECT id FROM nomination WHERE reference = :r"), {"r": reference}
            ).scalar_one()
        page = ctx.client.get(f"/staff/nominations/{nid}")
    else:
        page = ctx.client.get(ctx.spec.shown_on(ctx.world))
    assert page.status_code == 200
    assert str(escape(value)) in page.text
    if "<" in payload:
        assert payload not in page.text
    if "{{7*7}}" in payload:
        assert "Texto 49" not in page.text
    # Every table is still there.
    assert row_counts(ctx.engine)["nomination"] >= 1


def _stored_somewhere(engine: Engine, value: str) -> bool:
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                kind = getattr(column.type, "impl", column.type)
                if not isinstance(kind, String) or isinstance(kind, SaEnum):
                    continue
                hit = conn.execute(
                    select(func.count()).select_from(table).where(column == value)
                ).scalar_one()
                if hit:
                    return True
    return False


# --- hostile files (the nomination's evidence and the finalist's photo) -------------------------


@functools.cache
def _png_bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(out, "JPEG")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


HOSTILE_FILES = {
    "polyglot_pdf_html": (
        "oficio.pdf",
        b"<html><script>alert(1)</script></html>\n%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n",
        "application/pdf",
    ),
    "zip_renamed_pdf": ("oficio.pdf", _zip(), "application/pdf"),
    "svg_with_script": (
        "foto.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "image/svg+xml",
    ),
    "png_decompression_bomb": ("foto.png", b"", "image/png"),  # built lazily: it is slow
    "truncated_jpeg": ("foto.jpg", b"", "image/jpeg"),
    "html_as_png": ("foto.png", b"<html><script>alert(1)</script></html>", "image/png"),
}


def _hostile_file(kind: str) -> tuple[str, bytes, str]:
    name, data, ctype = HOSTILE_FILES[kind]
    if kind == "png_decompression_bomb":
        data = _png_bomb()
    elif kind == "truncated_jpeg":
        data = _jpeg()[:200]
    return name, data, ctype


UPLOAD_FORMS = [spec for spec in FORMS if spec.key in ("nomination", "finalist_profile")]


@pytest.mark.parametrize("ctx", UPLOAD_FORMS, ids=[s.key for s in UPLOAD_FORMS], indirect=True)
@pytest.mark.parametrize("kind", list(HOSTILE_FILES))
def test_form_hostile_file_is_refused_422(
    ctx: Ctx, kind: str, request: pytest.FixtureRequest
) -> None:
    field_name = "evidence" if ctx.spec.key == "nomination" else "photo"
    fields = ctx.valid(sensitive_consent="yes") if ctx.spec.key == "nomination" else ctx.fields
    name, data, ctype = _hostile_file(kind)
    before = row_counts(ctx.engine)
    files = files_on_disk(ctx.settings)
    body = multipart_body(fields, part(field_name.encode(), data, name.encode(), ctype.encode()))
    response = ctx.post(body, MULTIPART)
    assert_refused(response, 413, 422)
    assert row_counts(ctx.engine) == before
    assert files_on_disk(ctx.settings) == files


HOSTILE_NAMES = {
    "dot_dot_slash": "../../etc/passwd",
    "dot_dot_backslash": "..\\..\\win.ini",
    "nul": "foto\x00.png.exe",
    "crlf": "foto\r\nContent-Type: text/html.png",
    "rtl_override": "foto\u202egnp.exe",
    "very_long": "a" * 10_000 + ".png",
}


@pytest.mark.parametrize("kind", list(HOSTILE_NAMES))
def test_nomination_hostile_file_name_is_refused_or_cleaned(
    client: TestClient, session: Session, engine: Engine, settings: Settings, kind: str
) -> None:
    make_open_campaign(session)
    name = HOSTILE_NAMES[kind]
    page = client.get("/nominate/youth")
    fields, _ = read_form_fields(page.text, "/nominate/youth")
    values = {**_nomination_values(), "sensitive_consent": "yes"}
    fields = [(k, values.get(k, v)) for k, v in fields]
    fields += [(k, v) for k, v in values.items() if k not in dict(fields)]
    raw_name = name.replace("\r\n", "%0D%0A").encode("utf-8")
    before = row_counts(engine)
    body = multipart_body(fields, part(b"evidence", _jpeg(), raw_name, b"image/jpeg"))
    response = client.post(
        "/nominate/youth",
        content=body,
        headers={"Content-Type": MULTIPART},
        follow_redirects=False,
    )
    if response.status_code != 303:
        assert_refused(response, 400, 422)
        assert row_counts(engine) == before
        assert files_on_disk(settings) == []
        return
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT original_name FROM evidence_file")).scalar_one()
    assert "/" not in stored and "\\" not in stored and ".." not in stored.split(".")[0:1]
    assert not any(ord(c) < 32 or c in "\u202e\u202d\u200e\u200f" for c in stored)
    assert len(stored) <= 200
    root = settings.files_dir.resolve()
    assert all(p.resolve().is_relative_to(root) for p in root.rglob("*"))
    assert not (settings.data_dir / "etc").exists()


# --- open redirects and the Host header ----------------------------------------------------------

EVIL_NEXT = [
    "//evil.example",
    "/\\evil.example",
    "https://evil.example",
    "/%2F%2Fevil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "\\\\evil.example",
    "http:evil.example",
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_next_to_another_site_is_ignored(
    client: TestClient, session: Session, target: str
) -> None:
    account = make_account(session, Role.staff)
    page = client.get("/login", params={"next": target})
    assert page.status_code == 200
    fields, _ = read_form_fields(page.text, "/login")
    values = {"email": account.email, "password": DEFAULT_PASSWORD, "next": target}
    fields = [(k, values.get(k, v)) for k, v in fields] + [
        (k, v) for k, v in values.items() if k not in {n for n, _ in fields}
    ]
    response = client.post("/login", data=dict(fields), follow_redirects=False)
    assert response.status_code == 303
    # Wherever a browser goes next, it stays on this site.
    landing = urlsplit(urljoin("http://testserver/login", response.headers["location"]))
    assert (landing.scheme, landing.netloc) == ("http", "testserver")


def test_password_reset_mail_with_hostile_host_uses_base_url(
    client: TestClient, session: Session, engine: Engine, settings: Settings
) -> None:
    account = make_account(session, Role.staff)
    # A foreign Host is refused before anything runs (test_edge.py); what still arrives are
    # the headers a proxy could pass on, never believed for links.
    assert client.get("/password-reset", headers={"Host": "evil.example"}).status_code == 400
    headers = {"X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"}
    page = client.get("/password-reset", headers=headers)
    assert page.status_code < 500
    assert "evil.example" not in page.text
    fields, _ = read_form_fields(page.text, "/password-reset")
    data = {**dict(fields), "email": account.email}
    response = client.post("/password-reset", data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 303
    assert "evil.example" not in response.headers["location"]
    with Session(engine) as db:
        messages = list(db.exec(sqlmodel_select(OutboxMessage)).all())
    assert len(messages) == 1
    body = messages[0].body
    assert "evil.example" not in body
    links = re.findall(r"https?://[^\s\"'<>]+", body)
    assert links
    assert all(link.startswith(settings.base_url.rstrip("/") + "/") for link in links)


def test_invite_mail_with_hostile_host_uses_base_url(
    client: TestClient, session: Session, engine: Engine, settings: Settings
) -> None:
    admin = make_account(session, Role.admin)
    sign_in(client, session, admin)
    assert client.get("/staff/users", headers={"Host": "evil.example"}).status_code == 400
    headers = {"X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"}
    page = client.get("/staff/users", headers=headers)
    assert page.status_code == 200
    assert "evil.example" not in page.text
    fields, _ = read_form_fields(page.text, "/staff/users/invite")
    data = {**dict(fields), "name": "Nueva Jueza", "email": "jueza@example.org", "role": "judge"}
    response = client.post(
        "/staff/users/invite", data=data, headers=headers, follow_redirects=False
    )
    assert response.status_code == 303
    assert "evil.example" not in response.headers["location"]
    with Session(engine) as db:
        messages = list(db.exec(sqlmodel_select(OutboxMessage)).all())
    assert messages
    for message in messages:
        assert "evil.example" not in message.body
        links = re.findall(r"https?://[^\s\"'<>]+", message.body)
        assert all(link.startswith(settings.base_url.rstrip("/") + "/") for link in links)
