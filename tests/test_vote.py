"""The People's Choice, as a voter meets it (issue 18): a vote counts once confirmed from the
e-mail, a second vote of the same address replaces the first, nothing is taken after the
close, disposable addresses and automated or hurried forms are refused, in Spanish and English."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.config import Settings
from app.main import create_app
from app.models import OutboxMessage, Role, ThemeVote, Vote, VoteRefusal, utcnow
from app.services.voting.addresses import address_pattern, fold_address, is_disposable
from app.services.voting.counting import confirmed_counts, count_content
from app.services.voting.review import Selector, void_votes
from tests.factories import csrf_token_from, make_account, make_finalist, sign_in
from tests.smtp import smtp_server
from tests.vote_helpers import (
    CONFIRM_LINK,
    ballot_token,
    cast,
    cast_and_confirm,
    confirm,
    confirm_tokens,
    voting_world,
)


def count(session: Session, model: type) -> int:
    session.rollback()
    return int(session.exec(select(func.count()).select_from(model)).one())


def counted(session: Session, vote: ThemeVote) -> dict[int, int]:
    session.rollback()
    assert vote.id is not None
    return confirmed_counts(session, theme_vote_id=vote.id)


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Juan.Perez+votos@GMail.com", "juanperez@gmail.com"),
        ("juan.perez@googlemail.com", "juanperez@gmail.com"),
        ("J.U.A.N.perez@gmail.com", "juanperez@gmail.com"),
        ("Ana+x@Outlook.com", "ana@outlook.com"),
        ("Ana.Maria@Outlook.com", "ana.maria@outlook.com"),
        ("Ana+x@example.org", "ana+x@example.org"),
        ("ANA@Example.ORG", "ana@example.org"),
    ],
)
def test_fold_address_folds_case_and_the_providers_dots_and_tags(typed: str, folded: str) -> None:
    assert fold_address(typed) == folded


def test_disposable_domains_and_their_subdomains_are_known() -> None:
    assert is_disposable("someone@mailinator.com")
    assert is_disposable("someone@eu.mailinator.com")
    assert not is_disposable("someone@gmail.com")
    assert not is_disposable("someone@example.org")


def test_address_pattern_hides_the_digits_only() -> None:
    assert address_pattern("voter17@example.org") == "voter#@example.org"
    assert address_pattern("a1b22@example.org") == "a#b#@example.org"


def test_vote_counts_only_once_confirmed_and_a_get_of_the_link_confirms_nothing(
    client: TestClient, session: Session
) -> None:
    _campaign, _theme, vote, (ana, _beto) = voting_world(session)

    sent = cast(client, ana, "lucia@example.org")

    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/vote/sent/")
    page = client.get(sent.headers["location"])
    assert "Revise su correo para confirmar su voto" in page.text
    assert "lucia@example.org" not in page.text  # the address is never shown
    assert counted(session, vote) == {}
    (token,) = confirm_tokens(session, "lucia@example.org")
    stored = session.exec(select(Vote)).one()
    assert token not in (stored.token_hash or "")  # only the hash is kept
    # A mail scanner opens the link: nothing is confirmed.
    scanned = client.get(f"/vote/confirm/{token}")
    assert scanned.status_code == 200
    assert counted(session, vote) == {}

    confirmed = confirm(client, token)

    assert confirmed.status_code == 303
    assert counted(session, vote) == {ana.id: 1}
    done = client.get(confirmed.headers["location"])
    assert "su voto está confirmado" in done.text
    # Confirming again (a second click) changes nothing.
    again = client.post(
        f"/vote/confirm/{token}",
        data={"csrf_token": csrf_token_from(scanned)},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert counted(session, vote) == {ana.id: 1}
    assert "ya está confirmado" in client.get(f"/vote/confirm/{token}").text


def test_the_confirmation_goes_out_by_smtp_and_its_link_confirms(
    settings: Settings, app: FastAPI, session: Session
) -> None:
    _campaign, _theme, vote, (ana, _beto) = voting_world(session)
    with smtp_server() as (url, inbox):
        mailing = create_app(settings.model_copy(update={"smtp_url": url}))
        try:
            with TestClient(mailing, base_url="http://testserver") as voter:
                assert cast(voter, ana, "maria@example.org").status_code == 303
                (message,) = inbox.wait_for(1, timeout=20)
                body = message.get_body(("plain",))
                assert body is not None
                link = CONFIRM_LINK.search(body.get_content())
                assert link is not None
                assert message["To"] == "maria@example.org"
                assert confirm(voter, link.group(1)).status_code == 303
        finally:
            mailing.state.engine.dispose()
    assert counted(session, vote) == {ana.id: 1}


def test_a_second_vote_of_the_same_address_replaces_the_first_once_confirmed(
    client: TestClient, session: Session
) -> None:
    _campaign, _theme, vote, (ana, beto) = voting_world(session)
    cast_and_confirm(client, session, ana, "Juan.Perez@gmail.com")

    # The same mailbox, spelled as Gmail ignores it: one person.
    sent = cast(client, beto, "juanperez+otra@googlemail.com")
    assert sent.status_code == 303
    assert counted(session, vote) == {ana.id: 1}  # not replaced until confirmed
    token = confirm_tokens(session, "juanperez+otra@googlemail.com")[-1]
    assert confirm(client, token).status_code == 303

    assert counted(session, vote) == {beto.id: 1}
    first = client.get(f"/vote/sent/{session.exec(select(Vote)).first().reference}")  # type: ignore[union-attr]
    assert "reemplaz" in first.text
    # Another person's address is another vote.
    cast_and_confirm(client, session, ana, "juan.perez@example.org")
    assert counted(session, vote) == {ana.id: 1, beto.id: 1}


def test_an_older_unconfirmed_vote_cannot_be_confirmed_after_a_newer_one(
    client: TestClient, session: Session
) -> None:
    _campaign, _theme, vote, (ana, beto) = voting_world(session)
    assert cast(client, ana, "eva@example.org").status_code == 303
    cast_and_confirm(client, session, beto, "eva@example.org")
    older = confirm_tokens(session, "eva@example.org")[0]

    page = client.get(f"/vote/confirm/{older}")

    assert page.status_code == 409
    assert "Se confirmó un voto posterior desde la misma dirección" in page.text
    assert counted(session, vote) == {beto.id: 1}


def test_running_counts_are_shown_only_when_staff_chose_to(
    client: TestClient, session: Session
) -> None:
    _campaign, _theme, vote, (ana, _beto) = voting_world(session)
    cast_and_confirm(client, session, ana, "cuenta@example.org")
    client.app.state.page_cache.clear()  # type: ignore[attr-defined]

    hidden = client.get("/vote/youth?lang=en")
    session.rollback()  # a stale SQLite read snapshot cannot be upgraded to a write
    vote.show_running_counts = True
    session.add(vote)
    session.commit()
    shown = client.get("/vote/youth?lang=en")

    assert "confirmed vote so far" not in hidden.text
    assert "1 confirmed vote so far" in shown.text


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("es", "Esta votación cerró el"),
        ("en", "This vote closed on"),
    ],
)
def test_a_vote_after_the_close_is_refused_with_a_clear_message(
    client: TestClient, session: Session, lang: str, message: str
) -> None:
    _campaign, _theme, vote, (ana, _beto) = voting_world(session)
    token = ballot_token(client)
    vote.closes_at = utcnow() - timedelta(minutes=1)
    session.add(vote)
    session.commit()

    refused = client.post(
        f"/vote/youth?lang={lang}",
        data={"csrf_token": token, "finalist": str(ana.id), "email": "tarde@example.org"},
        follow_redirects=False,
        headers={"Accept-Language": lang},
    )

    assert refused.status_code == 403
    assert message in refused.text
    assert count(session, Vote) == 0
    assert count(session, OutboxMessage) == 0


def test_a_confirmation_after_the_close_is_refused_and_not_counted(
    client: TestClient, session: Session
) -> None:
    _campaign, _theme, vote, (ana, _beto) = voting_world(session)
    assert cast(client, ana, "tarde@example.org").status_code == 303
    (token,) = confirm_tokens(session)
    page = client.get(f"/vote/confirm/{token}")
    vote.closes_at = utcnow() - timedelta(seconds=1)
    session.add(vote)
    session.commit()

    refused = client.post(
        f"/vote/confirm/{token}",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=False,
    )

    assert refused.status_code == 403
    assert "cerró" in refused.text
    assert counted(session, vote) == {}


def test_a_disposable_address_is_refused_and_nothing_is_stored(
    client: TestClient, session: Session
) -> None:
    _campaign, _theme, vote, (ana, _beto) = voting_world(session)

    refused = cast(client, ana, "alguien@mailinator.com")

    assert refused.status_code == 422
    assert "correo desechable" in refused.text
    assert 'value="alguien@mailinator.com"' in refused.text  # kept as typed
    assert count(session, Vote) == 0
    assert count(session, OutboxMessage) == 0
    refusal = session.exec(select(VoteRefusal)).one()
    assert (refusal.theme_vote_id, refusal.reason, refusal.count) == (vote.id, "disposable", 1)


def test_a_hurried_or_automated_ballot_is_refused_as_the_nomination_form_is(
    settings: Settings, app: FastAPI, session: Session
) -> None:
    _campaign, _theme, _vote, (ana, _beto) = voting_world(session)
    careful = create_app(settings.model_copy(update={"form_min_seconds": 60}))
    try:
        with TestClient(careful, base_url="http://testserver") as voter:
            too_fast = cast(voter, ana, "rapido@example.org")
            automated = cast(voter, ana, "robot@example.org", website="http://spam.example")
    finally:
        careful.state.engine.dispose()

    assert too_fast.status_code == 422
    assert "muy rápido" in too_fast.text
    assert automated.status_code == 400
    assert count(session, Vote) == 0


def test_a_repeated_post_of_one_ballot_stores_one_vote(
    client: TestClient, session: Session
) -> None:
    _campaign, _theme, _vote, (ana, _beto) = voting_world(session)
    data = {
        "csrf_token": ballot_token(client),
        "finalist": str(ana.id),
        "email": "doble@example.org",
    }

    first = client.post("/vote/youth", data=data, follow_redirects=False)
    second = client.post("/vote/youth", data=data, follow_redirects=False)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count(session, Vote) == 1
    assert count(session, OutboxMessage) == 1


def test_a_missing_choice_and_a_bad_address_are_named_beside_their_fields(
    client: TestClient, session: Session
) -> None:
    voting_world(session)

    refused = client.post(
        "/vote/youth",
        data={"csrf_token": ballot_token(client), "email": "no es correo"},
        follow_redirects=False,
    )

    assert refused.status_code == 422
    assert "Elija a una de las personas finalistas." in refused.text
    assert 'id="error-email"' in refused.text
    assert count(session, Vote) == 0


class TestWithLimits:
    """Votes under the rate limits a real deployment has (the other tests turn them off)."""

    @pytest.fixture
    def limited(self, settings: Settings, app: FastAPI) -> Iterator[TestClient]:
        tight = settings.model_copy(
            update={
                "vote_rate_limit": 0,
                "vote_network_rate_limit": 3,
                "vote_address_rate_limit": 2,
                "form_min_seconds": 0,
            }
        )
        limited_app = create_app(tight)
        with TestClient(
            limited_app, base_url="http://testserver", client=("203.0.113.45", 50000)
        ) as client:
            yield client
        limited_app.state.engine.dispose()

    def test_a_burst_from_one_network_is_throttled_and_shown_on_the_review_page(
        self, limited: TestClient, session: Session
    ) -> None:
        _campaign, _theme, _vote, (ana, _beto) = voting_world(session)
        answers = [cast(limited, ana, f"votante{i}@example.org").status_code for i in range(5)]

        assert answers == [303, 303, 303, 429, 429]
        assert count(session, Vote) == 3
        refusal = session.exec(select(VoteRefusal)).one()
        assert (refusal.network, refusal.reason, refusal.count) == ("203.0.113.0/24", "throttle", 2)
        # Staff see the refused burst, by its network, on the review page.
        sign_in(limited, session, make_account(session, Role.staff))
        review = limited.get(f"/staff/vote/{_theme.id}")
        refused_rows = review.text.split('class="refusals"')[1]
        assert "203.0.113.0/24" in refused_rows
        assert "Demasiados votos desde el cliente o su red" in refused_rows

    def test_an_address_gets_a_few_confirmation_e_mails_an_hour_and_no_more(
        self, limited: TestClient, session: Session
    ) -> None:
        _campaign, _theme, _vote, (ana, beto) = voting_world(session)

        answers = [cast(limited, f, "Mismo.Buzon@gmail.com").status_code for f in (ana, beto)]
        third = cast(limited, ana, "mismobuzon+3@gmail.com")

        assert answers == [303, 303]
        assert third.status_code == 429
        assert "Ya enviamos varios correos de confirmación a esta dirección" in third.text
        assert count(session, OutboxMessage) == 2


def test_the_finalists_page_invites_to_an_open_vote_only(
    client: TestClient, session: Session
) -> None:
    _campaign, _theme, vote, _finalists = voting_world(session)

    open_page = client.get("/finalists")
    session.rollback()
    vote.closes_at = utcnow() - timedelta(minutes=1)
    session.add(vote)
    session.commit()
    client.app.state.page_cache.clear()  # type: ignore[attr-defined]
    closed_page = client.get("/finalists")

    assert 'href="/vote/youth"' in open_page.text
    assert "Voto del Público: vote por su finalista" in open_page.text
    assert 'href="/vote/youth"' not in closed_page.text


def test_an_expired_link_and_a_voided_vote_cannot_be_confirmed(
    client: TestClient, session: Session
) -> None:
    _campaign, _theme, vote, (ana, _beto) = voting_world(session)
    assert cast(client, ana, "tarda@example.org").status_code == 303
    assert cast(client, ana, "anulado@example.org").status_code == 303
    late, voided = confirm_tokens(session)
    session.rollback()
    first, second = session.exec(select(Vote).order_by(Vote.id)).all()  # type: ignore[arg-type]
    first.token_expires_at = utcnow() - timedelta(minutes=1)
    session.add(first)
    void_votes(
        session,
        actor=make_account(session, Role.staff),
        theme_id=vote.theme_id,
        selector=Selector.pattern,
        value=second.address,
        reason="Prueba.",
        now=utcnow(),
    )
    session.commit()

    expired = client.get(f"/vote/confirm/{late}?lang=en")
    refused = client.get(f"/vote/confirm/{voided}?lang=en")

    assert expired.status_code == 409
    assert "This confirmation link has expired" in expired.text
    assert refused.status_code == 409
    assert "voided by the organisers" in refused.text
    assert counted(session, vote) == {}


def test_a_finalist_without_consent_is_not_on_the_ballot_nor_named_in_the_count(
    client: TestClient, session: Session
) -> None:
    _campaign, theme, vote, (ana, _beto) = voting_world(session)
    hidden = make_finalist(
        session, theme, public_name="Persona Sin Consentimiento", consented=False
    )
    client.app.state.page_cache.clear()  # type: ignore[attr-defined]

    ballot = client.get("/vote/youth")
    refused = cast(client, hidden.id or 0, "alguien@example.org")

    assert "Persona Sin Consentimiento" not in ballot.text
    assert ana.public_name in ballot.text
    assert refused.status_code == 422
    assert count(session, Vote) == 0
    session.rollback()
    content = count_content(session, vote=vote, theme=theme)
    assert "Persona Sin Consentimiento" not in str(content)
