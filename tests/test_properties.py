"""Property-based tests of the validators and parsers that hostile input reaches first."""

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.forms.nomination import NominationForm, validate_nomination
from app.forms.text import email, normalise, phone, single_line
from app.i18n import Translator, negotiate
from app.services.text import fold, neutralise
from app.web import csrf
from app.web.body import BodyError, read_form

MODEST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Every code point, surrogates excluded (a Python str from a request cannot hold one).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=80)
# Text weighted towards what breaks parsers: controls, separators, combining marks, odd spaces.
AWKWARD = st.text(
    st.one_of(
        st.sampled_from(
            "\x00\x01\t\n\r\x0b\x0c\x1f\x7f\x80\x85\x9f\u00a0\u0301\u200b\u200e\u202e"
            "\u2028\u2029\ufeff\ufffd @.+-()0123456789aé"
        ),
        st.characters(exclude_categories=["Cs"]),
    ),
    max_size=60,
)
TEXTS = st.one_of(ANY_TEXT, AWKWARD)


def _is_forbidden_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" and char not in "\n\t"


# --- app.forms.text ------------------------------------------------------------------------------


@MODEST
@given(TEXTS)
@example("a\x85b")  # NEL, a C1 control character
@example("a\x9bb")  # CSI, the C1 escape that starts terminal control sequences
def test_normalise_any_text_is_clean_or_refused(value: str) -> None:
    try:
        result = normalise(value)
    except PydanticCustomError:
        return
    assert isinstance(result, str)
    assert unicodedata.is_normalized("NFC", result)
    assert result == result.strip()
    assert "\r" not in result
    assert not any(_is_forbidden_control(c) for c in result), repr(result)


@MODEST
@given(TEXTS)
def test_normalise_clean_text_is_a_fixed_point(value: str) -> None:
    try:
        result = normalise(value)
    except PydanticCustomError:
        return
    assert normalise(result) == result


@MODEST
@given(TEXTS)
def test_single_line_any_text_returns_or_refuses(value: str) -> None:
    try:
        result = single_line(value)
    except PydanticCustomError:
        assert "\n" in value or "\t" in value
        return
    assert result == value


@MODEST
@given(TEXTS)
@example("+52 55 5555 0000")
def test_phone_any_text_returns_or_refuses(value: str) -> None:
    try:
        result = phone(value)
    except PydanticCustomError:
        return
    assert result == value
    assert not value or sum(c.isdigit() for c in value) >= 7


@MODEST
@given(st.one_of(TEXTS, st.emails().map(str)))
@example("a@b.c" + "\u202e")
@example("@")
@example("a@[127.0.0.1]")
@example('"a b"@example.org')
def test_email_any_text_returns_or_refuses(value: str) -> None:
    try:
        result = email(value)
    except PydanticCustomError:
        return
    assert isinstance(result, str)
    assert "@" in result


# --- app.forms.nomination ------------------------------------------------------------------------

FIELD_NAMES = [*NominationForm.model_fields, "csrf_token", "website", "status", "id"]


@MODEST
@given(
    data=st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), ANY_TEXT), TEXTS, max_size=30),
    max_age=st.one_of(st.none(), st.integers(-5, 120)),
    has_files=st.booleans(),
    bad_encoding=st.sets(st.sampled_from(FIELD_NAMES), max_size=3),
    locale=st.sampled_from(["es", "en"]),
)
def test_validate_nomination_any_dict_returns_form_or_errors(
    data: dict[str, str],
    max_age: int | None,
    has_files: bool,
    bad_encoding: set[str],
    locale: str,
) -> None:
    form, errors = validate_nomination(
        data,
        Translator(locale),
        max_age=max_age,
        theme_name="Jóvenes",
        has_files=has_files,
        bad_encoding=bad_encoding,
    )
    assert form is not None or errors
    if form is not None and not errors:
        assert isinstance(form, NominationForm)


# --- app.web.body.read_form -----------------------------------------------------------------------

LIMITS = {
    "max_fields": 5,
    "max_field_bytes": 64,
    "max_files": 2,
    "max_file_bytes": 128,
    "max_total_bytes": 256,
}


async def _endpoint(request: Request) -> JSONResponse:
    try:
        body = await read_form(request, **LIMITS)
    except BodyError as error:
        return JSONResponse({"code": error.code}, status_code=error.status)
    return JSONResponse(
        {
            "fields": len(body.fields),
            "files": len(body.files),
            "texts_ok": all(isinstance(v, str) for _, v in body.fields),
        }
    )


@pytest.fixture(scope="module")
def body_client() -> Any:
    # raise_server_exceptions: anything but a BodyError escapes read_form and fails the test.
    with TestClient(Starlette(routes=[Route("/", _endpoint, methods=["POST"])])) as client:
        yield client


BOUNDARY = b"xYzBoundary"
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "multipart/form-data; boundary=xYzBoundary",
        'multipart/form-data; boundary="xYzBoundary"',
        "multipart/form-data",
        "multipart/form-data; boundary=" + "b" * 100,
        "multipart/form-data; boundary=",
    ]
)
MULTIPART_PIECES = st.sampled_from(
    [
        b"--xYzBoundary\r\n",
        b"--xYzBoundary--\r\n",
        b"--xYzBoundary--",
        b'Content-Disposition: form-data; name="a"\r\n\r\n',
        b'Content-Disposition: form-data; name="f"; filename="x.png"\r\n',
        b'Content-Disposition: form-data; name="\xff\xfe"\r\n\r\n',
        b'Content-Disposition: attachment; name="a"\r\n\r\n',
        b"Content-Disposition: form-data\r\n\r\n",
        b"Content-Type: image/png\r\n\r\n",
        b"Content-Type: \xff\r\n\r\n",
        b"\r\n",
        b"value",
        b"\x00\xff\xfe",
        b"%zz%C3%28+&=",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=400),
    st.lists(st.one_of(MULTIPART_PIECES, st.binary(max_size=20)), max_size=12).map(b"".join),
    st.lists(
        st.tuples(
            st.text(st.sampled_from("ab%zZ09+=&\u00e9\x00"), max_size=8),
            st.text(st.sampled_from("ab%zZ09+=&\u00e9\x00"), max_size=80),
        ),
        max_size=8,
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode()),
)


@MODEST
@given(body=BODIES, content_type=CONTENT_TYPES)
@example(body=b"a=%ff%fe", content_type="application/x-www-form-urlencoded")
@example(body=b"%ff=1", content_type="application/x-www-form-urlencoded")
@example(body=b"--xYzBoundary\r\n", content_type="multipart/form-data; boundary=xYzBoundary")
def test_read_form_any_body_parses_or_refuses_with_4xx(
    body_client: TestClient, body: bytes, content_type: str
) -> None:
    response = body_client.post("/", content=body, headers={"Content-Type": content_type})
    assert 200 <= response.status_code < 500
    if response.status_code == 200:
        assert response.json()["texts_ok"]
    else:
        assert response.status_code in (400, 413, 415, 422)


@MODEST
@given(length=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12))
def test_read_form_any_content_length_header_parses_or_refuses_with_4xx(
    body_client: TestClient, length: str
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": length}
    try:
        request = body_client.build_request("POST", "/", content=b"a=1", headers=headers)
    except (UnicodeEncodeError, ValueError):
        return  # httpx cannot send it; neither can a real browser
    request.headers["Content-Length"] = length
    try:
        response = body_client.send(request)
    except (UnicodeEncodeError, ValueError):
        return
    assert response.status_code < 500


# --- app.web.csrf ---------------------------------------------------------------------------------

KEY = b"k" * 32
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TOKENISH = st.one_of(
    ANY_TEXT,
    st.tuples(
        st.text(max_size=30),
        st.one_of(st.integers(0, 2**40).map(str), st.text(st.sampled_from("0123456789٣"))),
        st.text(max_size=50),
    ).map(".".join),
)


def _check(token: str | None, cookie: str | None = "cookie", form: str = "nominate") -> Any:
    return csrf.check_token(
        KEY, cookie=cookie, form=form, token=token, now=NOW, max_age=timedelta(hours=4)
    )


@MODEST
@given(token=st.one_of(st.none(), TOKENISH), cookie=st.one_of(st.none(), ANY_TEXT))
@example(token="a.٣٣٣.b", cookie="cookie")  # Arabic-Indic digits pass str.isdigit()
@example(token="a.99999999999999999999.b", cookie="cookie")
def test_check_token_arbitrary_tokens_never_validate(token: str | None, cookie: str | None) -> None:
    with pytest.raises(csrf.CsrfError):
        _check(token, cookie=cookie)


@MODEST
@given(
    position=st.integers(0, 200),
    replacement=st.characters(exclude_categories=["Cs"]),
)
def test_check_token_any_one_character_change_is_refused(position: int, replacement: str) -> None:
    token = csrf.issue_token(KEY, cookie="cookie", form="nominate", now=NOW)
    position %= len(token)
    forged = token[:position] + replacement + token[position + 1 :]
    if forged == token:
        return
    with pytest.raises(csrf.CsrfError):
        _check(forged)


@MODEST
@given(cookie=ANY_TEXT.filter(bool), form=ANY_TEXT)
def test_check_token_issued_token_validates_only_for_its_cookie_and_form(
    cookie: str, form: str
) -> None:
    token = csrf.issue_token(KEY, cookie=cookie, form=form, now=NOW)
    assert _check(token, cookie=cookie, form=form).issued_at == NOW
    with pytest.raises(csrf.CsrfError):
        _check(token, cookie=cookie + "x", form=form)
    with pytest.raises(csrf.CsrfError):
        _check(token, cookie=cookie, form=form + "x")


# --- app.i18n and app.services.text ------------------------------------------------------------


@MODEST
@given(header=st.one_of(st.none(), ANY_TEXT, st.text(st.sampled_from("esn-;q=0.9,*"), max_size=60)))
@example(header="es;q=nan, en;q=1")
@example(header="en;q=inf")
@example(header="en;q=-1, es;q=1e309")
def test_negotiate_any_header_returns_a_known_language(header: str | None) -> None:
    assert negotiate(header, "es") in ("es", "en")


@MODEST
@given(TEXTS)
@example("𝐀")  # MATHEMATICAL BOLD CAPITAL A: fold gives "A", fold(fold) gives "a"
@example("ǰ")
@example("ΐ")
@example("ﬃ İ")
def test_fold_is_idempotent(value: str) -> None:
    once = fold(value)
    assert fold(once) == once


@MODEST
@given(st.one_of(AWKWARD, ANY_TEXT))
@example("=1+1")
@example("\r=1")
@example("'=1")
def test_neutralise_leaves_no_formula_and_changes_nothing_else(value: str) -> None:
    # What a spreadsheet runs as a formula (OWASP "CSV injection").
    formula = value.startswith(("=", "+", "-", "@", "\t", "\r"))

    cell = neutralise(value)

    assert cell == ("'" + value if formula else value)
