"""Personal-data requests of nominators (derechos ARCO: access, rectification, cancellation).

A nominator is known by the e-mail address they gave. Everything held about them is found by
that address, folded (trimmed, lower case): their nominations, the e-mails written to them, and
the places where the address shows up elsewhere (an account, another nomination's references,
staff notes, the audit trail) for staff to review by hand.

Cancellation anonymises the nominator and deletes the evidence files they sent (which their
sensitive-data consent covered); it keeps the nomination's substance (nominee, story,
references), which belongs to the campaign's record, unless staff also redact the stories at the
person's request. The audit trail records which nominations and fields changed, never the
personal values: it is append-only and could not be cleaned later.
"""

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, delete, select, update

from app.errors import NotFound
from app.forms.privacy import DataFormat
from app.i18n import N_, TIMEZONE
from app.models import (
    Account,
    AuditEvent,
    Campaign,
    EvidenceFile,
    Nomination,
    NominationNote,
    OutboxMessage,
    Theme,
    utcnow,
)
from app.services import audit
from app.services.privacy import erasure
from app.services.text import neutralise

# What a cancellation blanks on each nomination of the person.
ANONYMISED_FIELDS = (
    "nominator_name",
    "nominator_email",
    "nominator_phone",
    "may_contact",
    "reveal_identity",
)
# The nomination fields that mention other people and might hold this person's address.
CONTACT_FIELDS = ("nominee_contact", "reference1_contact", "reference2_contact")
PLACEHOLDER_DOMAIN = "invalid"


def fold_email(value: str) -> str:
    return value.strip().lower()


def placeholder_email(nomination_id: int) -> str:
    """What replaces a cancelled nominator's address (the column is NOT NULL). All nominations of
    one person get the same one, so a candidate's count of independent nominators holds."""
    return f"anonimizado+{nomination_id}@{PLACEHOLDER_DOMAIN}"


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class HeldNomination:
    nomination: Nomination
    theme: Theme
    year: int
    files: list[EvidenceFile]


@dataclass(frozen=True)
class Mention:
    """Another nomination that names the address in a contact field."""

    nomination_id: int
    fields: list[str]


@dataclass(frozen=True)
class PersonalData:
    email: str
    nominations: list[HeldNomination]
    messages: list[OutboxMessage]
    accounts: list[Account]
    mentions: list[Mention]
    note_nomination_ids: list[int]
    audit_events: int

    @property
    def nomination_ids(self) -> list[int]:
        return [held.nomination.id for held in self.nominations if held.nomination.id is not None]

    @property
    def elsewhere(self) -> bool:
        return bool(self.accounts or self.mentions or self.note_nomination_ids or self.audit_events)

    @property
    def is_empty(self) -> bool:
        return not (self.nominations or self.messages or self.elsewhere)


def _own_nominations(session: Session, folded: str) -> list[Nomination]:
    query = (
        select(Nomination)
        .where(func.lower(func.trim(col(Nomination.nominator_email))) == folded)
        .order_by(col(Nomination.submitted_at), col(Nomination.id))
    )
    return list(session.exec(query).all())


def _messages(session: Session, folded: str) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(func.lower(func.trim(col(OutboxMessage.to_address))) == folded)
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
    )
    return list(session.exec(query).all())


def find_personal_data(session: Session, *, email: str) -> PersonalData:
    """Everything held about the person with this e-mail address, in a fixed number of queries."""
    folded = fold_email(email)
    nominations = _own_nominations(session, folded)
    ids = [n.id for n in nominations if n.id is not None]
    themes: dict[int, tuple[Theme, int]] = {}
    files: dict[int, list[EvidenceFile]] = defaultdict(list)
    if ids:
        theme_ids = {n.theme_id for n in nominations}
        for theme, year in session.exec(
            select(Theme, Campaign.year)
            .join(Campaign, col(Campaign.id) == Theme.campaign_id)
            .where(col(Theme.id).in_(theme_ids))
        ):
            assert theme.id is not None
            themes[theme.id] = (theme, year)
        for file in session.exec(
            select(EvidenceFile)
            .where(col(EvidenceFile.nomination_id).in_(ids))
            .order_by(col(EvidenceFile.nomination_id), col(EvidenceFile.position))
        ):
            files[file.nomination_id].append(file)
    held = [
        HeldNomination(
            nomination=n,
            theme=themes[n.theme_id][0],
            year=themes[n.theme_id][1],
            files=files.get(n.id or 0, []),
        )
        for n in nominations
    ]

    pattern = _like(folded)
    contacts = (
        col(Nomination.nominee_contact),
        col(Nomination.reference1_contact),
        col(Nomination.reference2_contact),
    )
    mentions = []
    for nomination_id, *values in session.exec(
        select(col(Nomination.id), *contacts)
        .where(or_(*(func.lower(c).like(pattern, escape="\\") for c in contacts)))
        .order_by(col(Nomination.id))
    ).all():
        named = [
            name
            for name, value in zip(CONTACT_FIELDS, values, strict=True)
            if folded in str(value).lower()
        ]
        if nomination_id is not None:
            mentions.append(Mention(nomination_id=nomination_id, fields=named))
    note_ids = sorted(
        set(
            session.exec(
                select(NominationNote.nomination_id).where(
                    func.lower(col(NominationNote.body)).like(pattern, escape="\\")
                )
            ).all()
        )
    )
    accounts = list(
        session.exec(
            select(Account).where(func.lower(func.trim(col(Account.email))) == folded)
        ).all()
    )
    audit_events = int(
        session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                or_(
                    func.lower(col(AuditEvent.actor_label)).like(pattern, escape="\\"),
                    func.lower(col(AuditEvent.before)).like(pattern, escape="\\"),
                    func.lower(col(AuditEvent.after)).like(pattern, escape="\\"),
                )
            )
        ).one()
    )
    return PersonalData(
        email=folded,
        nominations=held,
        messages=_messages(session, folded),
        accounts=accounts,
        mentions=mentions,
        note_nomination_ids=note_ids,
        audit_events=audit_events,
    )


# -- access ----------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.astimezone(TIMEZONE).isoformat(timespec="seconds") if value else ""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _when(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


# What the person gave with each nomination (and when they consented); the receipt's reference
# and staff's own assessment (status, notes, candidate) are left out.
GIVEN_FIELDS = (
    "id",
    "submitted_at",
    "nominee_name",
    "nominee_position",
    "nominee_institution",
    "government_level",
    "state",
    "years_of_service",
    "nominee_age",
    "nominee_contact",
    "nominee_gender",
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
    "nominator_phone",
    "nominator_relationship",
    "may_contact",
    "reveal_identity",
    "privacy_consent_at",
    "sensitive_consent_at",
    "locale",
)


def personal_data_document(data: PersonalData) -> dict[str, Any]:
    """Everything held, as plain values: what the person receives when they ask for access."""
    return {
        "email": data.email,
        "generated_at": _when(utcnow()),
        "nominations": [
            {
                **{name: _plain(getattr(held.nomination, name)) for name in GIVEN_FIELDS},
                "campaign": held.year,
                "theme": held.theme.slug,
                "evidence_files": [
                    {"name": f.original_name, "type": f.content_type, "bytes": f.size}
                    for f in held.files
                ],
            }
            for held in data.nominations
        ],
        "emails": [
            {
                "subject": m.subject,
                "body": m.body,
                "written_at": _when(m.created_at),
                "sent_at": _when(m.sent_at),
            }
            for m in data.messages
        ],
        "accounts": [
            {"name": a.name, "role": a.role.value, "created_at": _when(a.created_at)}
            for a in data.accounts
        ],
        "named_in_other_nominations": [
            {"nomination": m.nomination_id, "fields": m.fields} for m in data.mentions
        ],
        "staff_notes_on_nominations": data.note_nomination_ids,
        "audit_events_mentioning": data.audit_events,
    }


def _as_csv(document: dict[str, Any]) -> bytes:
    """One line per value (section, item, field, value): every part fits one sheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "item", "field", "value"])

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return neutralise(text)

    for key, value in document.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for number, item in enumerate(value, start=1):
                for name, field_value in item.items():
                    writer.writerow([key, number, name, cell(field_value)])
        else:
            writer.writerow([key, "", "", cell(value)])
    return ("\ufeff" + buffer.getvalue()).encode()


@dataclass(frozen=True)
class DataFile:
    filename: str
    media_type: str
    content: bytes


def export_personal_data(
    session: Session, *, actor: Account, email: str, file_format: DataFormat, today: date
) -> DataFile:
    """The person's data as a file for them, recorded as an access in the audit trail."""
    data = find_personal_data(session, email=email)
    if data.is_empty:
        raise NotFound(N_("We hold no data about this e-mail address."))
    document = personal_data_document(data)
    if file_format is DataFormat.csv:
        content = _as_csv(document)
        media_type = "text/csv; charset=utf-8"
    else:
        content = json.dumps(document, ensure_ascii=False, indent=2).encode()
        media_type = "application/json"
    audit.record(
        session,
        actor=actor,
        action="arco.access",
        object_type="nominator",
        after={
            "format": file_format.value,
            "nominations": data.nomination_ids,
            "emails": len(data.messages),
        },
    )
    session.flush()
    return DataFile(
        filename=f"datos-personales-{today.isoformat()}.{file_format.value}",
        media_type=media_type,
        content=content,
    )


# -- cancellation and rectification ----------------------------------------------------------


@dataclass(frozen=True)
class Cancelled:
    nominations: int
    messages_deleted: int
    messages_blanked: int
    files_deleted: int
    # The deleted evidence files' hashes: erasure.remove_files, once committed.
    file_hashes: set[str]


def cancel_personal_data(
    session: Session, *, actor: Account, email: str, redact_stories: bool = False
) -> Cancelled:
    """Anonymises the nominator on all their nominations, deletes the evidence files they sent
    and the e-mails to them, and with `redact_stories` blanks what they wrote."""
    folded = fold_email(email)
    nominations = _own_nominations(session, folded)
    messages = _messages(session, folded)
    if not nominations and not messages:
        raise NotFound(N_("We hold no nominations or e-mails for this address."))
    ids = sorted(n.id for n in nominations if n.id is not None)
    placeholder = placeholder_email(ids[0]) if ids else ""
    blank = {
        "nominator_name": "",
        "nominator_email": placeholder,
        "nominator_phone": "",
        "may_contact": False,
        "reveal_identity": False,
    }
    changed = sorted(
        {name for n in nominations for name, value in blank.items() if getattr(n, name) != value}
    )
    if redact_stories:
        changed = sorted(
            {*changed, *(f for n in nominations for f in erasure.STORY_FIELDS if getattr(n, f))}
        )
    if ids:
        session.exec(
            update(Nomination)
            .where(col(Nomination.id).in_(ids))
            .values(**blank)
            .execution_options(synchronize_session="fetch")
        )
        if redact_stories:
            erasure.redact_stories(session, nomination_ids=ids)
    files_deleted, file_hashes = erasure.delete_evidence(session, nomination_ids=ids)
    unsent = [m.id for m in messages if m.sent_at is None and m.id is not None]
    sent = [m.id for m in messages if m.sent_at is not None and m.id is not None]
    if unsent:
        session.exec(delete(OutboxMessage).where(col(OutboxMessage.id).in_(unsent)))
    if sent:
        # A sent e-mail stays as a record that it was sent; its body greets the person by name.
        session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(sent))
            .values(to_address="", body="")
            .execution_options(synchronize_session="fetch")
        )
    audit.record(
        session,
        actor=actor,
        action="arco.cancel",
        object_type="nominator",
        after={
            "nominations": ids,
            "fields": changed,
            "emails_deleted": len(unsent),
            "emails_blanked": len(sent),
            "evidence_files_deleted": files_deleted,
        },
    )
    session.flush()
    session.expire_all()
    return Cancelled(
        nominations=len(ids),
        messages_deleted=len(unsent),
        messages_blanked=len(sent),
        files_deleted=files_deleted,
        file_hashes=file_hashes,
    )


def rectify_nominator(
    session: Session, *, actor: Account, email: str, name: str, phone: str
) -> int:
    """Corrects the name and phone on all nominations of this address; returns how many."""
    folded = fold_email(email)
    nominations = _own_nominations(session, folded)
    if not nominations:
        raise NotFound(N_("We hold no nominations for this address."))
    values = {"nominator_name": name, "nominator_phone": phone}
    changed = sorted(
        {
            field
            for n in nominations
            for field, value in values.items()
            if getattr(n, field) != value
        }
    )
    if not changed:
        return 0
    ids = sorted(n.id for n in nominations if n.id is not None)
    session.exec(
        update(Nomination)
        .where(col(Nomination.id).in_(ids))
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    audit.record(
        session,
        actor=actor,
        action="arco.rectify",
        object_type="nominator",
        after={"nominations": ids, "fields": changed},
    )
    session.flush()
    return len(ids)
