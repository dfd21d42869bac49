"""The rules of who may see and score what in deliberation, in one place.

- A judge with a declared conflict with a finalist (declared by themself or recorded by staff)
  is recused from that finalist: they do not see its dossier or anyone's scores for it, cannot
  score it, and their scores (if any) are left out of its aggregate.
- A judge sees only their own scores until the meeting is closed.
"""

from sqlalchemy import and_, exists
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.models import ConflictDeclaration, Meeting, MeetingStatus


def recused_clause(judge_id_column: object, finalist_id_column: object) -> ColumnElement[bool]:
    """SQL true where the judge in `judge_id_column` is recused from the finalist in
    `finalist_id_column`: for leaving recused judges out of queries and aggregates."""
    return exists().where(
        and_(
            col(ConflictDeclaration.judge_id) == judge_id_column,
            col(ConflictDeclaration.finalist_id) == finalist_id_column,
            col(ConflictDeclaration.has_conflict).is_(True),
        )
    )


def may_see_others_scores(meeting: Meeting) -> bool:
    return meeting.status is MeetingStatus.closed
