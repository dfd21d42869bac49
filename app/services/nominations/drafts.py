"""Save and finish later (issue 21): a nomination form saved as typed, under a link mailed to
the nominator, that brings the form back filled in.

A draft need not be valid: only the e-mail address the link goes to must be. Only the link's
hash is stored (as with password links); the draft is deleted when its nomination is sent, and
expired drafts (DRAFT_DAYS) are deleted whenever a draft is saved. Files are not kept in a
draft: they are personal data that a person may never come back for, and the form says so.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.forms.nomination import NominationForm
from app.models import NominationDraft, Theme
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail

# What a draft keeps: the form's own fields and nothing else (not the token, nor the honeypot).
DRAFT_FIELDS: tuple[str, ...] = tuple(NominationForm.model_fields)
# Longer than any field the form takes (5,000 characters); a draft is not the place to store more.
MAX_FIELD_CHARS = 5000
# The path of a draft's link, "{}" standing for its token.
DRAFT_PATH = "/drafts/{}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Draft:
    """A draft brought back: its theme's slug and what was typed."""

    theme_slug: str
    values: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class SavedDraft:
    token: str
    expires_at: datetime
    # Whether a link was mailed now: on a new draft, or when the address changed.
    mailed: bool

    @property
    def path(self) -> str:
        return DRAFT_PATH.format(self.token)


def draft_values(fields: dict[str, str]) -> dict[str, str]:
    """The form's fields as typed, each cut to a bounded length."""
    return {
        name: fields[name][:MAX_FIELD_CHARS]
        for name in DRAFT_FIELDS
        if name in fields and fields[name] != ""
    }


def _find(session: Session, token: str, now: datetime) -> NominationDraft | None:
    if not token or len(token) > 100:
        return None
    draft = session.exec(
        select(NominationDraft).where(NominationDraft.token_hash == _hash(token))
    ).first()
    if draft is None or draft.expires_at <= now:
        return None
    return draft


def open_draft(session: Session, *, token: str, now: datetime) -> Draft | None:
    """The draft behind a link, unless the link is unknown, used or expired."""
    draft = _find(session, token, now)
    if draft is None:
        return None
    theme = session.get(Theme, draft.theme_id)
    assert theme is not None
    return Draft(theme.slug, json.loads(draft.content), draft.expires_at)


def save_draft(
    session: Session,
    *,
    theme: Theme,
    values: dict[str, str],
    email: str,
    token: str | None,
    locale: str,
    days: int,
    now: datetime,
    base_url: str,
) -> SavedDraft:
    """Saves what was typed, in the caller's write transaction (the caller commits). With the token
    of a draft of this theme, that draft is updated; else a new one is made and its link mailed
    to `email`. The link is mailed again when the address changed."""
    session.exec(delete(NominationDraft).where(col(NominationDraft.expires_at) <= now))
    expires_at = now + timedelta(days=days)
    content = json.dumps(values, ensure_ascii=False, sort_keys=True)
    draft = _find(session, token, now) if token else None
    if draft is not None and draft.theme_id == theme.id:
        assert token is not None
        earlier = json.loads(draft.content).get("nominator_email", "")
        draft.content, draft.updated_at, draft.expires_at = content, now, expires_at
        draft.locale = locale
        session.add(draft)
        mailed = earlier.casefold() != email.casefold()
    else:
        token = secrets.token_urlsafe(32)
        assert theme.id is not None
        session.add(
            NominationDraft(
                theme_id=theme.id,
                token_hash=_hash(token),
                content=content,
                locale=locale,
                created_at=now,
                updated_at=now,
                expires_at=expires_at,
            )
        )
        mailed = True
    saved = SavedDraft(token, expires_at, mailed)
    if mailed:
        subject, body = render_mail(
            "nomination_draft",
            locale,
            theme_name=theme.name_es if locale == "es" else theme.name_en,
            nominee=values.get("nominee_name", ""),
            link=base_url.rstrip("/") + saved.path,
            expires_at=expires_at,
        )
        queue_mail(session, to=email, subject=subject, body=body)
    session.flush()
    return saved


def discard_draft(session: Session, *, token: str) -> None:
    """The draft's nomination was sent: the draft goes with the same transaction."""
    if token and len(token) <= 100:
        session.exec(delete(NominationDraft).where(col(NominationDraft.token_hash) == _hash(token)))
