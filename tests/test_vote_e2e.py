"""The People's Choice in a real browser (Chromium through Playwright) against a real uvicorn
process (issue 18): a citizen votes and confirms from a phone, in Spanish and in English,
without JavaScript.

Skipped unless E2E_TESTS is set and /usr/bin/chromium exists; screenshots land in
test-artifacts/screenshots/."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from app.config import Settings
from tests.e2e_helpers import (
    DESKTOP,
    PHONE,
    launch,
    running_portal,
    screenshot,
    skip_reason,
)
from tests.vote_helpers import cast, cast_and_confirm, confirm_tokens, voting_world

_reason = skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

from fastapi.testclient import TestClient  # noqa: E402
from playwright.sync_api import Browser, expect, sync_playwright  # noqa: E402

from app.main import create_app  # noqa: E402
from app.models import Role  # noqa: E402
from app.services.voting.counting import confirmed_counts  # noqa: E402
from tests.factories import DEFAULT_PASSWORD, make_account  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_e2e_a_citizen_votes_and_confirms_from_a_phone(
    browser: Browser, settings: Settings, session: Session, lang: str
) -> None:
    _campaign, _theme, vote, (_ana, beto) = voting_world(session)
    texts = {
        "en": ("Your e-mail", "Send my vote", "Check your e-mail", "Confirm my vote", "confirmed"),
        "es": (
            "Tu correo electrónico",
            "Enviar mi voto",
            "Revise su correo",
            "Confirmar mi voto",
            "confirmado",
        ),
    }[lang]
    email_label, send, check, confirm_button, confirmed = texts

    with running_portal(settings) as portal:
        # No JavaScript: the vote works as plain HTML forms.
        context = browser.new_context(
            base_url=portal.url,
            locale="es-MX" if lang == "es" else "en-GB",
            extra_http_headers={"Accept-Language": lang},
            viewport=PHONE,  # type: ignore[arg-type]
            is_mobile=True,
            has_touch=True,
            java_script_enabled=False,
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto("/vote")
        page.locator('a[href="/vote/youth"]').first.click()
        expect(page.locator("h1")).to_be_visible()
        page.get_by_text(beto.public_name).click()
        page.get_by_label(email_label, exact=True).fill(f"celular-{lang}@example.org")
        screenshot(page, f"vote-{lang}-01-ballot-phone")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the ballot is {width}px wide on a phone"
        page.get_by_role("button", name=send).click()
        expect(page.locator("main")).to_contain_text(check)
        screenshot(page, f"vote-{lang}-02-sent-phone")

        # The voter opens the link from the e-mail on the same phone.
        (token,) = confirm_tokens(session, f"celular-{lang}@example.org")
        page.goto(f"/vote/confirm/{token}")
        assert vote.id is not None
        assert confirmed_counts(session, theme_vote_id=vote.id) == {}  # opening is not confirming
        page.get_by_role("button", name=confirm_button).click()
        expect(page.locator("main")).to_contain_text(confirmed)
        screenshot(page, f"vote-{lang}-03-confirmed-phone")
        context.close()

    session.rollback()
    assert confirmed_counts(session, theme_vote_id=vote.id) == {beto.id: 1}


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def test_e2e_axe_finds_no_serious_violation_on_the_vote_pages(
    browser: Browser, settings: Settings, session: Session
) -> None:
    _campaign, theme, vote, (ana, beto) = voting_world(session)
    staff = make_account(session, Role.staff, email="staff-vote@example.org")
    with TestClient(create_app(settings), base_url="http://testserver") as voter:
        cast_and_confirm(voter, session, ana, "axe@example.org")
        sent = cast(voter, beto, "axe2@example.org").headers["location"]
    (pending,) = confirm_tokens(session, "axe2@example.org")
    public = ["/vote", "/vote/youth", sent, f"/vote/confirm/{pending}"]
    signed_in = ["/staff/vote", f"/staff/vote/{theme.id}"]
    blocking: list[str] = []
    with running_portal(settings) as portal:
        for width, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            for lang in ("es", "en"):
                context = browser.new_context(
                    base_url=portal.url,
                    extra_http_headers={"Accept-Language": lang},
                    viewport=viewport,  # type: ignore[arg-type]
                    is_mobile=width == "phone",
                    bypass_csp=True,
                )
                context.set_default_timeout(10_000)
                page = context.new_page()
                paths = list(public)
                if width == "desktop":
                    page.goto("/login")
                    page.locator("input[type=email]").fill(staff.email)
                    page.locator("input[type=password]").fill(DEFAULT_PASSWORD)
                    page.locator("form button[type=submit]").last.click()
                    paths += signed_in
                for path in paths:
                    response = page.goto(path)
                    assert response is not None and response.status == 200, path
                    assert page.url.endswith(path), f"{path} went to {page.url}"
                    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
                    found = page.evaluate(
                        "async () => (await axe.run(document, {resultTypes: ['violations']}))"
                        ".violations"
                    )
                    blocking += [
                        f"{width} {lang} {path}: {v['id']} {[n['target'] for n in v['nodes']][:3]}"
                        for v in found
                        if v["impact"] in BLOCKING
                    ]
                    width_px = page.evaluate("() => document.documentElement.scrollWidth")
                    if width_px > viewport["width"]:
                        blocking.append(f"{width} {lang} {path}: {width_px}px wide")
                context.close()
    assert blocking == [], "\n".join(blocking)
    del vote
