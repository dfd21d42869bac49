"""The staff queue's text search: every word typed must begin a word of the nominee's name or
institution, whatever its case and accents ("lop" finds López; "pez" does not).

The words are cut the same way on both sides (app.services.text.search_words) and looked up in
a full-text index that each engine keeps by itself (the migration "meeting deadlines and
reminders, full-text search of the queue"): on SQLite an FTS5 table filled by triggers, queried
with prefixes ("lop"*); on PostgreSQL a GIN index of a stored tsvector of every word's
beginnings, queried with whole lexemes. Each splits the stored text at its spaces only, so both
engines find the same nominations.
"""

from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from app.models import Nomination
from app.services.text import search_words

# More words than this add nothing a person types to find someone.
MAX_WORDS = 8
# PostgreSQL's stored tsvector of search_text's word beginnings, made by the migration and not
# a model field (the SQLite schema has none); the compiled SQL names it with its table.
_VECTOR: ColumnClause[Any] = ColumnClause(
    "search_vector",
    _selectable=Nomination.__table__,  # type: ignore[attr-defined]  # SQLModel sets it
)


class _matches(FunctionElement[Any]):
    """SQL true where the nomination's search text has a word beginning with each of the words
    bound (one space apart); the engine's own syntax is built in SQL from them.

    Untyped on purpose: typed Boolean, SQLAlchemy writes `(… IN (…)) = 1` on SQLite, which no
    index serves."""

    inherit_cache = True
    name = "matches_search"


@compiles(_matches, "sqlite")
def _matches_sqlite(element: _matches, compiler: Any, **kw: Any) -> str:
    row_id, _vector, words = (compiler.process(c, **kw) for c in element.clauses)
    # "lop mar" becomes the FTS5 query "lop"* AND "mar"*.
    query = f"""('"' || replace({words}, ' ', '"* AND "') || '"*')"""
    # S608: every part is our own SQL or a bound parameter's placeholder.
    return (
        f"{row_id} IN (SELECT rowid FROM nomination_search"  # noqa: S608
        f" WHERE nomination_search MATCH {query})"
    )


@compiles(_matches, "postgresql")
def _matches_postgresql(element: _matches, compiler: Any, **kw: Any) -> str:
    _row_id, vector, words = (compiler.process(c, **kw) for c in element.clauses)
    # The vector holds every word's beginnings, so "lop mar" is the plain tsquery 'lop' & 'mar'
    # (cast, not parsed: the words are letters or digits only).
    return f"{vector} @@ CAST(replace({words}, ' ', ' & ') AS tsquery)"


class _off_index(FunctionElement[Any]):
    """A sort key that SQLite must not read from an index: `+column`. Walking the order's index
    to find a search's matches (SQLite's choice, blind to how few they may be) reads every
    nomination; reading the matches from the full-text index and sorting them reads only
    those. PostgreSQL estimates the matches from the index's statistics and needs no hint."""

    inherit_cache = True
    name = "off_index"

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(_off_index)
def _off_index_default(element: _off_index, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_off_index, "sqlite")
def _off_index_sqlite(element: _off_index, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


def sort_key(column: Any) -> Any:
    """`column` as the sort key of a search's matches (see _off_index)."""
    return _off_index(column)


def query_words(typed: str) -> list[str]:
    return search_words(typed)[:MAX_WORDS]


def matches(typed: str) -> ColumnElement[Any] | None:
    """The condition for a search box's text; None when it holds no word to look for (only
    punctuation, say), which finds nothing."""
    words = query_words(typed)
    if not words:
        return None
    return _matches(col(Nomination.id), _VECTOR, bindparam("search_words", " ".join(words)))
