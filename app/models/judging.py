from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import enum_field, timestamp


class Criterion(SQLModel, table=True):
    """One line of a campaign's rubric; frozen once the first score exists."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    position: int = 0
    name_es: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    description_es: str = Field(default="", sa_type=Text)
    description_en: str = Field(default="", sa_type=Text)
    weight: float = 1.0
    scale_min: int = 1
    scale_max: int = 5


class JudgeAssignment(SQLModel, table=True):
    """A judge on the panel of one theme (of one campaign, through the theme)."""

    __tablename__ = "judge_assignment"
    __table_args__ = (UniqueConstraint("account_id", "theme_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    theme_id: int = Field(foreign_key="theme.id", index=True)
    created_at: datetime = timestamp(default_now=True)


class ConflictDeclaration(SQLModel, table=True):
    """A judge's answer for one finalist: no conflict, or a conflict that recuses them.

    Staff may record a conflict too (`recorded_by_staff`), which the judge cannot remove."""

    __tablename__ = "conflict_declaration"
    __table_args__ = (UniqueConstraint("judge_id", "finalist_id"),)

    id: int | None = Field(default=None, primary_key=True)
    judge_id: int = Field(foreign_key="account.id", index=True)
    finalist_id: int = Field(foreign_key="finalist.id", index=True)
    has_conflict: bool
    description: str = Field(default="", sa_type=Text)
    recorded_by_staff: bool = False
    recorded_by_id: int = Field(foreign_key="account.id")
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)


class MeetingStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


class Meeting(SQLModel, table=True):
    """A numbered deliberation meeting of a campaign; judges score its finalists while open."""

    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    number: int
    held_on: date
    status: MeetingStatus = enum_field(MeetingStatus, default=MeetingStatus.draft)
    # A later meeting takes its scope from the shortlist this earlier one advanced.
    source_meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    minutes: str = Field(default="", sa_type=Text)
    opened_at: datetime | None = timestamp(nullable=True)
    closed_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp(default_now=True)
    # When scoring is due to close, shown to judges; staff still close the meeting themselves.
    closes_at: datetime | None = timestamp(nullable=True)
    # Hours before `closes_at` at which the server reminds judges who have sheets left to
    # submit (app/services/judging/progress.py); None: no automatic reminder.
    reminder_hours: int | None = None
    # When that automatic reminder went out; cleared when the deadline or the hours change.
    reminded_at: datetime | None = timestamp(nullable=True)


class MeetingFinalist(SQLModel, table=True):
    """A finalist in a meeting's scope, and what the meeting decided about them."""

    __tablename__ = "meeting_finalist"
    __table_args__ = (UniqueConstraint("meeting_id", "finalist_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    finalist_id: int = Field(foreign_key="finalist.id", index=True)
    # Set by the meeting's decision: advanced to the next meeting, or proposed as a winner.
    advanced: bool = False
    proposed_winner: bool = False


class ScoreSheet(SQLModel, table=True):
    """One judge's sheet for one finalist in one meeting. `version` grows at every save, so a
    save from a stale page (another tab) is refused instead of overwriting."""

    __tablename__ = "score_sheet"
    __table_args__ = (UniqueConstraint("meeting_id", "judge_id", "finalist_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    judge_id: int = Field(foreign_key="account.id", index=True)
    finalist_id: int = Field(foreign_key="finalist.id", index=True)
    comment: str = Field(default="", sa_type=Text)
    version: int = 1
    submitted_at: datetime | None = timestamp(nullable=True)
    updated_at: datetime = timestamp(default_now=True)


class Score(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("sheet_id", "criterion_id"),
        Index("ix_score_criterion_id", "criterion_id"),
        # Holds everything the aggregation reads of a score, so a meeting's 180,000 scores are
        # read from the index alone (app/services/judging/aggregation.py); it also serves by sheet.
        Index("ix_score_sheet_id_criterion_id_value", "sheet_id", "criterion_id", "value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sheet_id: int = Field(foreign_key="score_sheet.id")
    criterion_id: int = Field(foreign_key="criterion.id")
    value: int
