"""The panel of judges: which judge accounts judge which themes of the campaign, and inviting
new judges by e-mail."""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from app.errors import InvalidInput, NotFound
from app.i18n import LOCALES, N_
from app.models import Account, Campaign, JudgeAssignment, Role, Theme
from app.services import audit
from app.services.accounts.accounts import SET_PASSWORD_LIFETIME, create_account
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail


@dataclass
class PanelMember:
    judge: Account
    themes: list[Theme] = field(default_factory=list)

    @property
    def theme_ids(self) -> set[int]:
        return {theme.id for theme in self.themes if theme.id is not None}


@dataclass(frozen=True)
class PanelView:
    themes: list[Theme]
    # Judges on at least one theme of the campaign, then judge accounts on none of them.
    members: list[PanelMember]
    others: list[Account]


def campaign_themes(session: Session, *, campaign_id: int) -> list[Theme]:
    return list(
        session.exec(
            select(Theme).where(Theme.campaign_id == campaign_id).order_by(col(Theme.position))
        ).all()
    )


def panel_view(session: Session, *, campaign: Campaign) -> PanelView:
    assert campaign.id is not None
    themes = campaign_themes(session, campaign_id=campaign.id)
    by_id = {theme.id: theme for theme in themes}
    judges = session.exec(
        select(Account)
        .where(Account.role == Role.judge, col(Account.is_active).is_(True))
        .order_by(col(Account.name), col(Account.id))
    ).all()
    assignments = session.exec(
        select(JudgeAssignment).where(col(JudgeAssignment.theme_id).in_(list(by_id)))
    ).all()
    themes_of: dict[int, list[Theme]] = {}
    for assignment in assignments:
        themes_of.setdefault(assignment.account_id, []).append(by_id[assignment.theme_id])
    members, others = [], []
    for judge in judges:
        assert judge.id is not None
        if judge.id in themes_of:
            assigned = sorted(themes_of[judge.id], key=lambda theme: theme.position)
            members.append(PanelMember(judge=judge, themes=assigned))
        else:
            others.append(judge)
    return PanelView(themes=themes, members=members, others=others)


def get_judge(session: Session, *, judge_id: int) -> Account:
    """The judge account, locked until commit: changes to one judge's panel places (and
    conflicts) run one at a time, so a double click cannot insert the same row twice."""
    judge = session.exec(
        select(Account)
        .where(Account.id == judge_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if judge is None or judge.role != Role.judge:
        raise NotFound(N_("There is no judge account with this number."))
    return judge


def _campaign_themes_by_id(
    session: Session, campaign: Campaign, theme_ids: Collection[int]
) -> list[Theme]:
    assert campaign.id is not None
    themes = campaign_themes(session, campaign_id=campaign.id)
    chosen = [theme for theme in themes if theme.id in set(theme_ids)]
    if len(chosen) != len(set(theme_ids)):
        raise InvalidInput(N_("Choose themes of the current campaign."))
    return chosen


def set_judge_themes(
    session: Session,
    *,
    campaign: Campaign,
    judge_id: int,
    theme_ids: Collection[int],
    actor: Account,
) -> Account:
    """Puts the judge on exactly these themes of the campaign (none: off the panel). Their
    assignments to other campaigns' themes are left alone."""
    judge = get_judge(session, judge_id=judge_id)
    assert campaign.id is not None
    chosen = _campaign_themes_by_id(session, campaign, theme_ids)
    campaign_theme_ids = [theme.id for theme in campaign_themes(session, campaign_id=campaign.id)]
    current = session.exec(
        select(JudgeAssignment).where(
            JudgeAssignment.account_id == judge_id,
            col(JudgeAssignment.theme_id).in_(campaign_theme_ids),
        )
    ).all()
    before = sorted(a.theme_id for a in current)
    wanted = {theme.id for theme in chosen}
    for assignment in current:
        if assignment.theme_id not in wanted:
            session.delete(assignment)
    for theme_id in wanted - set(before):
        assert theme_id is not None
        session.add(JudgeAssignment(account_id=judge_id, theme_id=theme_id))
    session.flush()
    after = sorted(theme_id for theme_id in wanted if theme_id is not None)
    if after != before:
        slugs = {
            theme.id: theme.slug for theme in campaign_themes(session, campaign_id=campaign.id)
        }
        audit.record(
            session,
            actor=actor,
            action="panel.themes_changed",
            object_type="account",
            object_id=judge_id,
            before={"themes": [slugs[i] for i in before]},
            after={"themes": [slugs[i] for i in after]},
        )
    return judge


@dataclass(frozen=True)
class Invitation:
    judge: Account
    link: str


def invite_judge(
    session: Session,
    *,
    campaign: Campaign,
    name: str,
    email: str,
    theme_ids: Collection[int],
    locale: str,
    actor: Account,
    base_url: str,
    now: datetime,
) -> Invitation:
    """A new judge account on these themes, and an e-mail with its one-time link to choose a
    password, written to the outbox in the same transaction."""
    if locale not in LOCALES:
        raise InvalidInput(N_("Choose one of the options."))
    # Invitations to one campaign run one at a time: the same address twice is a clear message.
    session.exec(select(Campaign.id).where(Campaign.id == campaign.id).with_for_update()).one()
    chosen = _campaign_themes_by_id(session, campaign, theme_ids)
    # Raises Conflict when the address already has an account: assign that one instead.
    new = create_account(session, email=email, name=name, role=Role.judge, password=None, now=now)
    judge = new.account
    assert judge.id is not None and new.set_password_token is not None
    judge.locale = locale
    session.add(judge)
    session.add_all(
        [JudgeAssignment(account_id=judge.id, theme_id=t.id) for t in chosen if t.id is not None]
    )
    session.flush()
    link = f"{base_url.rstrip('/')}/account/set-password/{new.set_password_token}"
    subject, body = render_mail(
        "judge_invitation",
        locale,
        judge=judge,
        campaign=campaign,
        themes=chosen,
        link=link,
        valid_days=SET_PASSWORD_LIFETIME.days,
        base_url=base_url.rstrip("/"),
    )
    queue_mail(session, to=judge.email, subject=subject, body=body)
    # The link itself stays out of the trail: it is a credential until it is used.
    audit.record(
        session,
        actor=actor,
        action="panel.judge_invited",
        object_type="account",
        object_id=judge.id,
        after={
            "name": judge.name,
            "email": judge.email,
            "locale": locale,
            "themes": [theme.slug for theme in chosen],
        },
    )
    return Invitation(judge=judge, link=link)
