"""The portal in a real browser (Chromium through Playwright) against a real uvicorn process.

Skipped unless E2E_TESTS is set and /usr/bin/chromium exists. Screenshots of the main pages are
saved under test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from app.config import Settings
from tests.e2e_helpers import (
    DESKTOP,
    PHONE,
    launch,
    new_context,
    running_portal,
    screenshot,
    skip_reason,
)
from tests.factories import (
    DEFAULT_PASSWORD,
    make_account,
    make_criteria,
    make_finalist,
    make_judge,
    make_meeting,
    make_open_campaign,
    make_pdf,
    nomination_data,
)

_reason = skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright  # noqa: E402

from app.i18n import TIMEZONE  # noqa: E402
from app.models import Nomination, Role, utcnow  # noqa: E402
from app.services.results.data_releases import make_release  # noqa: E402


def mexico_today() -> date:
    """The date forms take: Mexico City's, which differs from UTC's between 00:00 and 06:00."""
    return utcnow().astimezone(TIMEZONE).date()


PDF = make_pdf()
REFERENCE = re.compile(r"\S{6,}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def fill_nomination_with_mouse(page: Page) -> None:
    data = nomination_data()
    for name in (
        "nominee_name",
        "nominee_position",
        "nominee_institution",
        "years_of_service",
        "nominee_age",
        "achievement",
        "impact",
        "obstacles",
        "how_known",
        "reference1_name",
        "reference1_contact",
        "reference2_name",
        "reference2_contact",
        "nominator_name",
        "nominator_email",
    ):
        page.locator(f"#field-{name}").click()
        page.locator(f"#field-{name}").fill(data[name])
    page.get_by_label("Level of government").select_option("municipal")
    page.get_by_label("State", exact=True).select_option("VER")
    page.get_by_label("Your relationship with the nominee").select_option("colleague")
    page.get_by_label("Evidence files").set_input_files(
        files=[{"name": "oficio.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.locator("#field-may_contact").check()
    page.locator("#field-privacy_consent").check()
    page.locator("#field-sensitive_consent").check()


def test_e2e_whole_cycle_from_nomination_to_published_winner(
    browser: Browser, settings: Settings, session: Session
) -> None:
    campaign, youth, sustainability = make_open_campaign(session)
    staff = make_account(session, Role.staff, email="staff@example.org")
    make_criteria(session, campaign)
    judge_a = make_judge(session, youth, email="judge-a@example.org", name="Jueza A")
    judge_b = make_judge(session, youth, email="judge-b@example.org", name="Juez B")
    second = make_finalist(session, youth, public_name="Segunda Finalista", citation_en="Second.")
    assert judge_a.id and judge_b.id and second.id

    with running_portal(settings) as portal:
        # A citizen nominates from the home page.
        citizen = new_context(browser, portal, viewport=DESKTOP)
        page = citizen.new_page()
        page.goto("/")
        screenshot(page, "cycle-01-home")
        page.get_by_role("link", name="Nominate under Youth").click()
        expect(page).to_have_url(re.compile(r"/nominate/youth$"))
        fill_nomination_with_mouse(page)
        screenshot(page, "cycle-02-nomination-filled")
        page.get_by_role("button", name="Send nomination").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("your nomination was received")
        reference = page.locator("dl.receipt code").inner_text().strip()
        assert REFERENCE.fullmatch(reference)
        expect(page.locator("dl.receipt")).to_contain_text("1 file")
        screenshot(page, "cycle-03-receipt")
        citizen.close()
        nomination = session.exec(select(Nomination)).one()
        assert nomination.reference == reference

        # The call closes: the finalists are announced only after it (issue 21).
        for theme in (youth, sustainability):
            theme.closes_at = utcnow() - timedelta(minutes=1)
            session.add(theme)
        session.commit()

        # Staff screen it, make a candidate, vet it and choose it as a finalist.
        office = new_context(browser, portal, viewport=DESKTOP)
        page = office.new_page()
        sign_in(page, staff.email)
        page.goto("/staff/nominations")
        screenshot(page, "cycle-04-staff-nominations")
        page.get_by_role("link", name=nomination.nominee_name).click()
        expect(page.get_by_role("link", name="oficio.pdf")).to_be_visible()
        page.get_by_label("Decision").select_option("eligible")
        page.get_by_role("button", name="Save decision").click()
        expect(page.locator("main")).to_contain_text("Eligible")
        screenshot(page, "cycle-05-nomination-eligible")

        page.goto("/staff/candidates")
        page.get_by_role("button", name="Make it a new candidate").click()
        page.get_by_role("link", name=nomination.nominee_name).first.click()
        expect(page).to_have_url(re.compile(r"/staff/candidates/\d+$"))
        # The four standard checks and the status in one form.
        page.get_by_label("Date of the checks").fill(mexico_today().isoformat())
        for kind in ("references", "press", "public_records", "sanctions"):
            page.locator(f"#field-result_{kind}").select_option("clear")
            page.locator(f"#field-note_{kind}").fill(f"Revisado: {kind}.")
        page.get_by_label("Then set the vetting status").select_option("cleared")
        page.get_by_role("button", name="Record the checks").click()
        for kind in ("references", "press", "public_records", "sanctions"):
            expect(page.locator("main")).to_contain_text(f"Revisado: {kind}.")
        screenshot(page, "cycle-06-candidate-cleared")

        page.goto("/staff/finalists")
        chooser = page.get_by_label("Cleared candidate")
        option = chooser.locator("option", has_text=nomination.nominee_name)
        chooser.select_option(option.get_attribute("value"))
        page.get_by_role("button", name="Choose as finalist").click()
        expect(page.locator("main")).to_contain_text(nomination.nominee_name)
        screenshot(page, "cycle-07-finalists")
        # The finalist consented in a signed letter, which staff record (issue 15).
        page.get_by_role("link", name="Consent to being named").click()
        page.get_by_label("How they answered").select_option("letter")
        page.get_by_label("Their answer").select_option("consent")
        page.get_by_label("Name and position").check()
        page.get_by_label("The story told about them").check()
        page.get_by_role("button", name="Record the answer").click()
        expect(page.locator("#consent-status")).to_contain_text("consented")

        # Staff open a meeting of the Youth theme: both finalists are in it.
        page.goto("/staff/meetings")
        page.get_by_label("Number").fill("1")
        page.get_by_label("Date", exact=True).fill(mexico_today().isoformat())
        page.get_by_label("Youth").check()
        page.get_by_role("button", name="Create meeting").click()
        expect(page).to_have_url(re.compile(r"/staff/meetings/\d+$"))
        meeting_url = page.url
        expect(page.locator("main")).to_contain_text(nomination.nominee_name)
        expect(page.locator("main")).to_contain_text("Segunda Finalista")
        page.get_by_role("button", name="Open the meeting for scoring").click()
        expect(page.get_by_role("link", name="Close and lock the scores")).to_be_visible()
        screenshot(page, "cycle-08-meeting-open")

        # Judge B declares a conflict with the second finalist; both judges score.
        scores = {judge_a.email: {nomination.nominee_name: "5", "Segunda Finalista": "3"}}
        scores[judge_b.email] = {nomination.nominee_name: "4"}
        for judge, sheet in scores.items():
            bench = new_context(browser, portal, viewport=DESKTOP)
            jpage = bench.new_page()
            sign_in(jpage, judge)
            if judge == judge_b.email:
                jpage.goto("/judges/conflicts")
                card = jpage.locator("li.card", has_text="Segunda Finalista")
                card.get_by_label("Yes, I have a conflict of interest").check()
                card.get_by_label("If so, describe it").fill("Fuimos compañeros de trabajo.")
                card.get_by_role("button", name="Save my answer").click()
                expect(jpage.locator("li.card", has_text="Segunda Finalista")).to_contain_text(
                    "Conflict: recused"
                )
                screenshot(jpage, "cycle-09-judge-conflicts")
            jpage.goto("/judges")
            jpage.get_by_role("link", name="Meeting 1").click()
            if judge == judge_b.email:
                expect(jpage.get_by_role("link", name="Segunda Finalista")).to_have_count(0)
            for name, score in sheet.items():
                jpage.get_by_role("link", name=name).click()
                jpage.get_by_label("Criterion 1").fill(score)
                jpage.get_by_label("Criterion 2").fill(score)
                jpage.get_by_label("Comment").fill("Trayectoria sólida.")
                jpage.get_by_role("button", name="Submit", exact=True).click()
                expect(jpage.locator("main")).to_contain_text("Submitted")
                jpage.get_by_role("link", name="Meeting 1").click()
            screenshot(jpage, f"cycle-10-judge-{judge.split('@')[0]}")
            bench.close()

        # Staff close the meeting, record the decision, confirm the winner and publish.
        page.goto(meeting_url)
        page.get_by_role("link", name="Close and lock the scores").click()
        page.get_by_label("I confirm: close the meeting and lock its scores.").check()
        page.get_by_role("button", name="Close and lock the scores").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Closed")
        page.goto(meeting_url + "/results")
        page.get_by_label(f"{nomination.nominee_name} is proposed as a winner").check()
        page.get_by_label("Minutes").fill("El panel propone a la persona mejor evaluada.")
        page.get_by_role("button", name="Record the decision").click()
        expect(page.locator("main")).to_contain_text("El panel propone")
        screenshot(page, "cycle-11-meeting-results")

        page.goto("/staff/publishing/winners")
        page.get_by_label(nomination.nominee_name).check()
        page.get_by_role("button", name="Confirm the winners of Youth").click()
        page.goto("/staff/publishing/finalists")
        page.get_by_role("button", name="Announce the finalists").click()
        page.goto("/staff/publishing")
        youth_row = page.get_by_role("row", name=re.compile("^Youth"))
        expect(youth_row).to_contain_text(nomination.nominee_name)
        expect(page.locator("main")).to_contain_text("Announced on")
        page.get_by_role("button", name="Prepare the results for publication").click()
        expect(page).to_have_url(re.compile(r"/staff/publishing/revisions/1"))
        page.get_by_role("button", name="Publish revision 1").click()
        expect(page.locator("main")).to_contain_text("The results were published.")
        screenshot(page, "cycle-12-published")
        office.close()

        # Anyone sees the winner on /results.
        public = new_context(browser, portal, viewport=DESKTOP)
        page = public.new_page()
        page.goto("/results")
        expect(page.get_by_role("heading", name="Winner", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name=nomination.nominee_name)).to_be_visible()
        expect(page.locator("main")).to_contain_text("Segunda Finalista")
        screenshot(page, "cycle-13-results")
        public.close()


# -- the keyboard alone ------------------------------------------------------------------------


def focused(page: Page) -> dict[str, str]:
    return page.evaluate(  # type: ignore[no-any-return]
        "() => { const e = document.activeElement;"
        " return {id: e.id || '', tag: e.tagName, type: e.getAttribute('type') || '',"
        " text: (e.innerText || '').trim()}; }"
    )


def test_e2e_nomination_with_keyboard_only_reaches_receipt(
    browser: Browser, settings: Settings, session: Session
) -> None:
    make_open_campaign(session)
    data = nomination_data()
    typed = {
        name: data[name]
        for name in (
            "nominee_name",
            "nominee_position",
            "nominee_institution",
            "years_of_service",
            "nominee_age",
            "achievement",
            "impact",
            "obstacles",
            "how_known",
            "reference1_name",
            "reference1_contact",
            "reference2_name",
            "reference2_contact",
            "nominator_name",
            "nominator_email",
        )
    }
    ticked = {"may_contact", "privacy_consent"}
    with running_portal(settings) as portal:
        context = new_context(browser, portal, viewport=DESKTOP)
        page = context.new_page()
        page.goto("/nominate/youth")
        reached: set[str] = set()
        for _ in range(120):
            page.keyboard.press("Tab")
            element = focused(page)
            field = element["id"].removeprefix("field-")
            if element["tag"] == "BUTTON" and element["text"] == "Send nomination":
                break
            if field in reached:
                continue
            reached.add(field)
            if field in typed:
                page.keyboard.type(typed[field])
            elif field == "government_level":
                # Choose…, Federal, State, Municipal: three steps down.
                for _step in range(3):
                    page.keyboard.press("ArrowDown")
            elif field in ("state", "nominator_relationship"):
                page.keyboard.type("Veracruz" if field == "state" else "Colleague")
            elif field in ticked:
                page.keyboard.press("Space")
        else:
            pytest.fail("Tab never reached the Send nomination button")
        assert set(typed) | ticked | {"government_level", "state"} <= reached

        # Shift+Tab goes back to the last checkbox, Tab returns to the button.
        page.keyboard.press("Shift+Tab")
        assert focused(page)["id"] == "field-sensitive_consent"
        page.keyboard.press("Tab")
        assert focused(page)["text"] == "Send nomination"
        for name, value in typed.items():
            expect(page.locator(f"#field-{name}")).to_have_value(value)
        expect(page.locator("#field-government_level")).to_have_value("municipal")
        expect(page.locator("#field-state")).to_have_value("VER")
        expect(page.locator("#field-nominator_relationship")).to_have_value("colleague")
        expect(page.locator("#field-privacy_consent")).to_be_checked()
        screenshot(page, "keyboard-01-filled")

        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_contain_text("your nomination was received")
        reference = page.locator("dl.receipt code").inner_text().strip()
        screenshot(page, "keyboard-02-receipt")
        context.close()
    stored = session.exec(select(Nomination)).one()
    assert stored.reference == reference
    assert stored.government_level == "municipal" and stored.state == "VER"
    assert stored.may_contact and not stored.reveal_identity


# -- console errors, CSP violations and screenshots ---------------------------------------------

PUBLIC_PAGES = [
    "/",
    "/about",
    "/privacy",
    "/nominate/youth",
    "/nominate/youth/print",
    "/results",
    "/finalists",
    "/login",
    "/data",
]
# Recorded by the page itself: a violation the console might word differently is still caught.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def seed_pages_world(session: Session) -> dict[str, str]:
    """A campaign with a finalist in an open meeting: every page has something to show."""
    campaign, youth, _ = make_open_campaign(session)
    make_criteria(session, campaign)
    finalist = make_finalist(session, youth, public_name="Finalista de Prueba")
    meeting = make_meeting(session, campaign, [finalist])
    staff = make_account(session, Role.staff, email="staff@example.org")
    judge = make_judge(session, youth, email="judge@example.org")
    # An open-data release, so that /data shows its files and charts (issue 16).
    make_release(session, campaign=campaign, min_count=5, made_by="command", now=utcnow())
    session.commit()
    return {
        "staff": staff.email,
        "judge": judge.email,
        "meeting": f"/judges/meetings/{meeting.id}",
        "dossier": f"/judges/meetings/{meeting.id}/finalists/{finalist.id}",
        "staff_meeting": f"/staff/meetings/{meeting.id}",
    }


def watch(page: Page, *, include_favicon: bool = False) -> list[str]:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error" and "Content Security Policy" not in message.text:
            return
        url = message.location.get("url", "")
        if not include_favicon and url.endswith("/favicon.ico"):
            return  # known and tested on its own: test_e2e_favicon_is_not_a_404
        problems.append(f"console {message.type}: {message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400
            else None
        ),
    )
    page.add_init_script(CSP_LISTENER)
    return problems


def visit(page: Page, path: str, problems: list[str]) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, (
        f"{path}: {response and response.status}"
    )
    page.wait_for_load_state("load")
    for violation in page.evaluate("() => window.__cspViolations || []"):
        problems.append(f"{path}: CSP violation {violation}")


def test_e2e_pages_have_no_console_errors_or_csp_violations(
    browser: Browser, settings: Settings, session: Session
) -> None:
    world = seed_pages_world(session)
    problems: list[str] = []
    with running_portal(settings) as portal:
        for who, paths in (
            (None, PUBLIC_PAGES),
            ("staff", ["/staff", "/staff/nominations", "/staff/meetings", world["staff_meeting"]]),
            ("judge", ["/judges", "/judges/conflicts", world["meeting"], world["dossier"]]),
        ):
            context = new_context(browser, portal, viewport=DESKTOP)
            page = context.new_page()
            seen = watch(page)
            if who:
                sign_in(page, world[who])
            for path in paths:
                visit(page, path, seen)
            problems += [f"{who or 'public'}: {problem}" for problem in seen]
            context.close()
    assert problems == []


def test_e2e_favicon_is_not_a_404(browser: Browser, settings: Settings, session: Session) -> None:
    make_open_campaign(session)
    with running_portal(settings) as portal:
        context = new_context(browser, portal)
        page = context.new_page()
        problems = watch(page, include_favicon=True)
        visit(page, "/", problems)
        for _ in range(30):  # the browser asks for the icon after the page has loaded
            if problems:
                break
            page.wait_for_timeout(100)
        context.close()
    assert problems == []


def test_e2e_main_pages_fit_a_phone_and_a_desktop(
    browser: Browser, settings: Settings, session: Session
) -> None:
    world = seed_pages_world(session)
    overflowing: list[str] = []
    with running_portal(settings) as portal:
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            for who, paths in (
                (None, PUBLIC_PAGES),
                ("staff", ["/staff", "/staff/nominations", world["staff_meeting"]]),
                ("judge", ["/judges", world["dossier"]]),
            ):
                context = new_context(
                    browser, portal, viewport=viewport, is_mobile=label == "phone"
                )
                page = context.new_page()
                if who:
                    sign_in(page, world[who])
                for path in paths:
                    page.goto(path)
                    expect(page.locator("main")).to_be_visible()
                    name = path.strip("/").replace("/", "-") or "home"
                    shot = screenshot(page, f"{label}-{name}")
                    assert shot.stat().st_size > 0
                    width = page.evaluate("() => document.documentElement.scrollWidth")
                    if width > viewport["width"]:
                        overflowing.append(f"{label} {path}: {width}px wide")
                context.close()
    # Wide tables scroll inside their own box; the page itself never scrolls sideways.
    assert overflowing == []


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_REPORT = Path(__file__).parent.parent / "test-artifacts" / "axe-report.json"
# What axe must not find: serious and critical violations (WCAG 2.1 A and AA rules, and its
# best practices); minor and moderate ones are kept in the report for a person to look at.
BLOCKING = ("serious", "critical")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return list(result)


def test_e2e_axe_finds_no_serious_violation_in_either_language_or_width(
    browser: Browser, settings: Settings, session: Session
) -> None:
    world = seed_pages_world(session)
    staff_pages = [
        "/staff",
        "/staff/nominations",
        "/staff/candidates",
        "/staff/finalists",
        "/staff/criteria",
        "/staff/judges",
        "/staff/meetings",
        world["staff_meeting"],
        world["staff_meeting"] + "/close",
        world["staff_meeting"] + "/results",
        "/staff/publishing",
        "/staff/exports",
        "/staff/arco",
        "/staff/outbox",
        "/staff/intake",
        "/staff/intake/new/youth",
        "/staff/intake/import",
        "/staff/data",
    ]
    judge_pages = ["/judges", "/judges/conflicts", world["meeting"], world["dossier"]]
    report: list[dict[str, Any]] = []
    blocking: list[str] = []
    with running_portal(settings) as portal:
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            for lang in ("es", "en"):
                for who, paths in (
                    (None, PUBLIC_PAGES),
                    ("staff", staff_pages),
                    ("judge", judge_pages),
                ):
                    # axe is injected as an inline script, which the portal's CSP rightly refuses.
                    context = new_context(
                        browser,
                        portal,
                        viewport=viewport,
                        is_mobile=label == "phone",
                        bypass_csp=True,
                    )
                    page = context.new_page()
                    if who:
                        sign_in(page, world[who])
                    page.goto(f"/?lang={lang}")
                    for path in paths:
                        response = page.goto(path)
                        assert response is not None and response.status == 200, path
                        for violation in axe_violations(page):
                            where = f"{label} {lang} {path}"
                            report.append({"page": where, **violation})
                            if violation["impact"] in BLOCKING:
                                targets = [n["target"] for n in violation["nodes"]][:3]
                                blocking.append(f"{where}: {violation['id']} {targets}")
                    context.close()
    AXE_REPORT.parent.mkdir(parents=True, exist_ok=True)
    AXE_REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    assert blocking == [], "\n".join(blocking)


def test_e2e_a_draft_saved_on_a_phone_is_finished_on_another_device(
    browser: Browser, settings: Settings, session: Session
) -> None:
    """Issue 21 item 9: half a form saved on a phone, its mailed link opened elsewhere, the
    form there filled in as it was left, sent from there."""
    make_open_campaign(session)
    data = nomination_data()
    with running_portal(settings) as portal:
        phone = new_context(browser, portal, viewport=PHONE, is_mobile=True)
        page = phone.new_page()
        page.goto("/nominate/youth")
        page.locator("#field-nominee_name").fill(data["nominee_name"])
        page.locator("#field-achievement").fill(data["achievement"])
        page.locator("#field-nominator_email").fill(data["nominator_email"])
        page.get_by_role("button", name="Save and finish later").click()
        expect(page.get_by_text("Your draft is saved. It has not been sent yet.")).to_be_visible()
        expect(page.locator("#field-nominee_name")).to_have_value(data["nominee_name"])
        screenshot(page, "draft-saved-phone")
        link = page.url.split("?")[0]
        phone.close()

        desktop = new_context(browser, portal, viewport=DESKTOP)
        page = desktop.new_page()
        page.goto(link)
        expect(page.get_by_text("This is your saved draft.")).to_be_visible()
        expect(page.locator("#field-achievement")).to_have_value(data["achievement"])
        fill_nomination_with_mouse(page)
        page.get_by_role("button", name="Send nomination").click()
        expect(
            page.get_by_role("heading", name=re.compile("your nomination was received"))
        ).to_be_visible()
        page.goto(link)
        expect(page.get_by_text("already sent")).to_be_visible()
        desktop.close()
    session.rollback()
    assert session.exec(select(Nomination.nominee_name)).all() == [data["nominee_name"]]


# Pages that download a file, end the session or change something on a GET are not crawled.
NOT_CRAWLED = re.compile(
    r"/logout|/export|\.(csv|xlsx|json|pdf|jpg|jpeg|png|webp|svg|ico|txt)$|^/static/|^/media/"
)


def page_pattern(path: str) -> str:
    """A page's kind: /staff/meetings/3 and /staff/meetings/4 are one page of the demo."""
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def crawl_links(page: Page, prefixes: tuple[str, ...]) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "a[href]",
        "links => links.map(a => new URL(a.href, location.href))"
        ".filter(u => u.origin === location.origin).map(u => u.pathname)",
    )
    return [h for h in hrefs if h.startswith(prefixes) and not NOT_CRAWLED.search(h)]


def sign_in_as(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_e2e_axe_on_every_page_of_the_demo_at_every_stage(
    browser: Browser, settings: Settings, session: Session
) -> None:
    """Issue 21 item 12: the demo built up stage by stage (`seed-demo --stage`), and at each
    stage every page a visitor, staff and a demo judge can reach by following links (at most
    three links deep from their home) checked with axe. A kind of page seen for the first time
    is checked in both languages at both widths; at later stages, where only its content
    changed, in one of the four, a different one at each stage."""
    from app.db import session_scope
    from app.services.demo.edition import STAGES, build_edition
    from app.services.files import FileStore

    combos = [(w, lang) for w in ("phone", "desktop") for lang in ("es", "en")]
    seen: set[str] = set()
    report: list[dict[str, Any]] = []
    blocking: list[str] = []
    checked = 0
    for index, stage in enumerate(STAGES):
        with session_scope(session.get_bind(), write=True) as writer:  # type: ignore[arg-type]
            built = build_edition(
                writer,
                stage=stage,
                now=utcnow(),
                store=FileStore(settings.files_dir),
                base_url="http://127.0.0.1",
            )
            writer.commit()
        passwords = {email: password for email, password, _ in built.demo.credentials}
        visitors: list[tuple[str | None, tuple[str, ...], list[str]]] = [
            (None, ("/",), ["/", "/results", "/finalists", "/transparency"]),
            ("staff@demo.integrity-icon.invalid", ("/staff",), ["/staff"]),
            ("judge1@demo.integrity-icon.invalid", ("/judges",), ["/judges"]),
        ]
        with running_portal(settings) as portal:
            for who, prefixes, starts in visitors:
                # Find the pages first (desktop, Spanish), then check them.
                context = new_context(browser, portal, viewport=DESKTOP, bypass_csp=True)
                page = context.new_page()
                if who:
                    sign_in_as(page, who, passwords[who])
                found: dict[str, str] = {}
                frontier = list(starts)
                for _depth in range(3):
                    following: list[str] = []
                    for path in frontier:
                        kind = page_pattern(path)
                        if kind in found or (
                            who is None and path.startswith(("/staff", "/judges"))
                        ):
                            continue
                        response = page.goto(path)
                        if response is None or response.status != 200:
                            continue
                        found[kind] = path
                        following += crawl_links(page, prefixes)
                    frontier = following
                context.close()
                for combo_index, (width, lang) in enumerate(combos):
                    paths = [
                        path
                        for kind, path in found.items()
                        if kind not in seen or combo_index == index % len(combos)
                    ]
                    viewport = PHONE if width == "phone" else DESKTOP
                    context = new_context(
                        browser,
                        portal,
                        viewport=viewport,
                        is_mobile=width == "phone",
                        bypass_csp=True,
                    )
                    page = context.new_page()
                    if who:
                        sign_in_as(page, who, passwords[who])
                    page.goto(f"/?lang={lang}")
                    for path in paths:
                        response = page.goto(path)
                        assert response is not None and response.status == 200, path
                        checked += 1
                        for violation in axe_violations(page):
                            where = f"{stage} {width} {lang} {path}"
                            report.append({"page": where, **violation})
                            if violation["impact"] in BLOCKING:
                                targets = [n["target"] for n in violation["nodes"]][:3]
                                blocking.append(f"{where}: {violation['id']} {targets}")
                    context.close()
                seen.update(found)
    report_file = AXE_REPORT.with_name("axe-report-demo-stages.json")
    report_file.parent.mkdir(parents=True, exist_ok=True)
    report_file.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    assert checked > 100  # the crawl found the staff's and judges' pages, not just the homes
    assert blocking == [], "\n".join(blocking)
