from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.models.base import enum_field, timestamp

# Mexico's 32 entidades federativas, by their ISO 3166-2:MX codes.
MEXICAN_STATES: dict[str, str] = {
    "AGU": "Aguascalientes",
    "BCN": "Baja California",
    "BCS": "Baja California Sur",
    "CAM": "Campeche",
    "CHP": "Chiapas",
    "CHH": "Chihuahua",
    "CMX": "Ciudad de México",
    "COA": "Coahuila de Zaragoza",
    "COL": "Colima",
    "DUR": "Durango",
    "GUA": "Guanajuato",
    "GRO": "Guerrero",
    "HID": "Hidalgo",
    "JAL": "Jalisco",
    "MEX": "Estado de México",
    "MIC": "Michoacán de Ocampo",
    "MOR": "Morelos",
    "NAY": "Nayarit",
    "NLE": "Nuevo León",
    "OAX": "Oaxaca",
    "PUE": "Puebla",
    "QUE": "Querétaro",
    "ROO": "Quintana Roo",
    "SLP": "San Luis Potosí",
    "SIN": "Sinaloa",
    "SON": "Sonora",
    "TAB": "Tabasco",
    "TAM": "Tamaulipas",
    "TLA": "Tlaxcala",
    "VER": "Veracruz de Ignacio de la Llave",
    "YUC": "Yucatán",
    "ZAC": "Zacatecas",
}


class GovernmentLevel(StrEnum):
    federal = "federal"
    state = "state"
    municipal = "municipal"
    autonomous = "autonomous"
    judicial = "judicial"
    legislative = "legislative"


class Gender(StrEnum):
    woman = "woman"
    man = "man"
    non_binary = "non_binary"
    other = "other"
    undisclosed = "undisclosed"


class Relationship(StrEnum):
    colleague = "colleague"
    supervisor = "supervisor"
    team_member = "team_member"
    citizen_served = "citizen_served"
    civil_society = "civil_society"
    journalist = "journalist"
    other = "other"


class NominationStatus(StrEnum):
    received = "received"
    eligible = "eligible"
    ineligible = "ineligible"
    withdrawn = "withdrawn"


class Channel(StrEnum):
    """How a nomination reached the campaign (issue 15); `web` is only ever the public form."""

    web = "web"
    paper = "paper"
    phone = "phone"
    whatsapp_sms = "whatsapp_sms"
    email = "email"
    event = "event"


class ConsentMethod(StrEnum):
    """How the nominator agreed to the privacy notice: ticked on the web form, read to them (by
    phone, at an event) or signed on the paper form."""

    web_form = "web_form"
    read_aloud = "read_aloud"
    signed_paper = "signed_paper"


class NominationImport(SQLModel, table=True):
    """A CSV batch of nominations imported once (issue 15): its SHA-256 is remembered so the same
    file imported again stores nothing."""

    __tablename__ = "nomination_import"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    sha256: str = Field(max_length=64, unique=True)
    file_name: str = Field(max_length=200)
    channel: Channel = enum_field(Channel)
    rows: int
    imported_by_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = timestamp(default_now=True)


class Nomination(SQLModel, table=True):
    __table_args__ = (
        # The staff queue and dashboard filter and count by these (measured on 100,000 rows).
        Index("ix_nomination_theme_status_candidate", "theme_id", "status", "candidate_id"),
        Index("ix_nomination_theme_id_state", "theme_id", "state"),
        Index("ix_nomination_search_text_id", "search_text", "id"),
        Index("ix_nomination_submitted_at", "submitted_at"),
        # A page of the queue filtered by theme (and status), in each of its orders, read from
        # the index alone: page 50 walks 2,500 entries instead of fetching and sorting every
        # matching nomination (bench/ scenario "queue").
        Index("ix_nomination_theme_status_submitted", "theme_id", "status", "submitted_at", "id"),
        Index("ix_nomination_theme_submitted", "theme_id", "submitted_at", "id"),
        Index("ix_nomination_theme_search_text", "theme_id", "search_text", "id"),
        # The dashboard's reach by channel and the queue's channel filter (issue 15).
        Index("ix_nomination_theme_channel", "theme_id", "channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The receipt's reference: unguessable, the only public handle on a nomination.
    reference: str = Field(max_length=40, unique=True)
    # The form token it was sent with: a repeated POST of the same form finds this row.
    submission_key: str = Field(max_length=64, unique=True)
    theme_id: int = Field(foreign_key="theme.id")
    status: NominationStatus = enum_field(NominationStatus, default=NominationStatus.received)
    # Why staff found it not eligible; required for that status and kept after.
    status_reason: str = Field(default="", sa_type=Text)
    candidate_id: int | None = Field(default=None, foreign_key="candidate.id", index=True)
    # Nominee's name and institution folded (lower case, no accents) for the staff queue's search.
    search_text: str = Field(default="", max_length=450)
    locale: str = Field(default="es", max_length=5)

    nominee_name: str = Field(max_length=200)
    nominee_position: str = Field(max_length=200)
    nominee_institution: str = Field(max_length=200)
    government_level: GovernmentLevel = enum_field(GovernmentLevel)
    state: str = Field(max_length=3, index=True)
    years_of_service: int
    nominee_age: int | None = None
    nominee_contact: str = Field(default="", max_length=200)
    nominee_gender: Gender | None = enum_field(Gender, default=None, nullable=True)

    achievement: str = Field(max_length=5000)
    impact: str = Field(max_length=5000)
    obstacles: str = Field(max_length=5000)
    how_known: str = Field(max_length=3000)

    reference1_name: str = Field(max_length=200)
    reference1_contact: str = Field(max_length=200)
    reference2_name: str = Field(max_length=200)
    reference2_contact: str = Field(max_length=200)

    nominator_name: str = Field(max_length=200)
    nominator_email: str = Field(max_length=254, index=True)
    nominator_phone: str = Field(default="", max_length=30)
    nominator_relationship: Relationship = enum_field(Relationship)
    may_contact: bool = False
    reveal_identity: bool = False
    privacy_consent_at: datetime = timestamp()
    sensitive_consent_at: datetime | None = timestamp(nullable=True)

    submitted_at: datetime = timestamp(default_now=True)

    # Assisted and batch intake (issue 15): how it came in, when, who collected and entered it.
    channel: Channel = enum_field(Channel, default=Channel.web)
    consent_method: ConsentMethod = enum_field(ConsentMethod, default=ConsentMethod.web_form)
    received_on: date | None = None
    collected_by: str = Field(default="", max_length=200)
    entered_by_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    import_id: int | None = Field(default=None, foreign_key="nomination_import.id", index=True)


class EvidenceFile(SQLModel, table=True):
    """A file attached to a nomination, stored under DATA_DIR by the SHA-256 of its content."""

    __tablename__ = "evidence_file"

    id: int | None = Field(default=None, primary_key=True)
    nomination_id: int = Field(foreign_key="nomination.id", index=True)
    position: int
    sha256: str = Field(max_length=64, index=True)
    content_type: str = Field(max_length=40)
    size: int
    original_name: str = Field(max_length=200)
    created_at: datetime = timestamp(default_now=True)


class NominationNote(SQLModel, table=True):
    """A dated note staff leave on a nomination while screening it."""

    __tablename__ = "nomination_note"

    id: int | None = Field(default=None, primary_key=True)
    nomination_id: int = Field(foreign_key="nomination.id", index=True)
    author_id: int = Field(foreign_key="account.id")
    body: str = Field(sa_type=Text)
    created_at: datetime = timestamp(default_now=True)


class NominationDraft(SQLModel, table=True):
    """A nomination saved to finish later (issue 21): what was typed, under a link mailed to the
    nominator. Only the link's hash is kept; the draft goes when the nomination is sent or when
    it expires (DRAFT_DAYS)."""

    __tablename__ = "nomination_draft"

    id: int | None = Field(default=None, primary_key=True)
    theme_id: int = Field(foreign_key="theme.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    # The fields as typed, a JSON object of strings: a draft need not be valid yet.
    content: str = Field(sa_type=Text)
    locale: str = Field(default="es", max_length=5)
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)
    expires_at: datetime = timestamp(index=True)
