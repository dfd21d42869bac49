from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import timestamp


class Campaign(SQLModel, table=True):
    """One edition of the award, e.g. Mexico 2026; the newest published year is the current one."""

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True)
    title_es: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    intro_es: str = Field(default="", max_length=4000)
    intro_en: str = Field(default="", max_length=4000)
    # The dates of each phase, shown to citizens; a theme's own window decides its form.
    nominations_open_on: date
    nominations_close_on: date
    screening_until: date
    vetting_until: date
    finalists_on: date
    deliberation_on: date
    results_on: date
    created_at: datetime = timestamp(default_now=True)
    winners_per_theme: int = 1
    # Set by the staff action that makes /finalists public; None until then.
    finalists_announced_at: datetime | None = timestamp(nullable=True)


class Theme(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("campaign_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    slug: str = Field(max_length=40)
    position: int = 0
    name_es: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    description_es: str = Field(default="", max_length=4000)
    description_en: str = Field(default="", max_length=4000)
    eligibility_es: str = Field(default="", max_length=4000)
    eligibility_en: str = Field(default="", max_length=4000)
    # When set, the form asks the nominee's age and refuses anyone older.
    max_age: int | None = None
    opens_at: datetime = timestamp()
    closes_at: datetime = timestamp()
