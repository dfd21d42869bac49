"""meeting deadlines and reminders, full-text search of the queue

A meeting gets the time its scoring is due to close (closes_at), how many hours before it the
server reminds judges with sheets left (reminder_hours), and when it did (reminded_at).

The staff queue's search (q=) gets a full-text index of Nomination.search_text, which now holds
the search words of the nominee's name and institution, one space apart
(app.services.text.search_text), so that each engine's index only splits at spaces:

- SQLite: an FTS5 table kept by triggers, with prefix indexes, and a narrow index that answers
  the queue's filters and order for a match without reading its wide row;
- PostgreSQL: a stored tsvector column (search_vector) of every word's beginnings ("lopez":
  l, lo, lop, lope, lopez), so that a search looks up whole lexemes (a GIN prefix search,
  `lop:*`, took 5 times longer), in one GIN index with the queue's filter columns (the
  `btree_gin` extension, part of Debian's postgresql-15 and trusted: a database owner may
  create it), so that no plan ANDs it with a 50,000-row bitmap of the theme's index. The words
  are folded already, so neither `unaccent` nor `pg_trgm` is needed. Stored rather than an
  expression: the planner, checking each row's words along another index, would compute them
  100,000 times for one page.

On SQLite, a later migration that makes batch_alter_table recreate `nomination` drops these
triggers with the old table: it must call _create_sqlite_search() again.

Revision ID: ef745cf17f66
Revises: 69261b2abc15
Create Date: 2026-12-04 17:36:41.238962
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'ef745cf17f66'
down_revision: str | None = '69261b2abc15'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_TABLE = "nomination_search"
SEARCH_TRIGGERS = ("nomination_search_insert", "nomination_search_delete", "nomination_search_update")
SEARCH_FILTERS = "nomination_search_filters"
SEARCH_INDEX = "ix_nomination_search_vector"
SEARCH_FUNCTION = "nomination_search_prefixes"


def upgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminder_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))

    _refill_search_text()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {SEARCH_FUNCTION}(words text) RETURNS tsvector "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
            "SELECT coalesce(array_to_tsvector(array_agg(DISTINCT left(w, n))), ''::tsvector) "
            "FROM unnest(string_to_array(words, ' ')) AS w, generate_series(1, length(w)) AS n "
            "WHERE w <> '' $$"
        )
        op.execute(
            "ALTER TABLE nomination ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            f"({SEARCH_FUNCTION}(search_text)) STORED"
        )
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.execute(
            f"CREATE INDEX {SEARCH_INDEX} ON nomination "
            "USING gin (search_vector, theme_id, status, state)"
        )
    else:
        _create_sqlite_search()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
        op.execute("ALTER TABLE nomination DROP COLUMN IF EXISTS search_vector")
        op.execute(f"DROP FUNCTION IF EXISTS {SEARCH_FUNCTION}(text)")
        op.execute("DROP EXTENSION IF EXISTS btree_gin")
    else:
        op.execute(f"DROP INDEX IF EXISTS {SEARCH_FILTERS}")
        for trigger in SEARCH_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not batch mode's copy of the table, which
    # foreign keys pointing at meetings would refuse once the table holds rows.
    for column in ("reminded_at", "reminder_hours", "closes_at"):
        op.drop_column("meeting", column)


def _create_sqlite_search() -> None:
    # External content: the words live in nomination.search_text only; the FTS5 table keeps
    # the index. The text is already folded, so the tokenizer must change nothing.
    op.execute(
        f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5(search_text, content='nomination', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='2 3')"
    )
    op.execute(
        "CREATE TRIGGER nomination_search_insert AFTER INSERT ON nomination BEGIN "
        f"INSERT INTO {SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER nomination_search_delete AFTER DELETE ON nomination BEGIN "
        f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER nomination_search_update AFTER UPDATE OF search_text ON nomination BEGIN "
        f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('rebuild')")
    # The matches of a search are looked up by id: this index answers the queue's filters and
    # order for them without reading each nomination's wide row (half the time of a search
    # matching 5,000 of 100,000 nominations).
    op.execute(
        f"CREATE INDEX {SEARCH_FILTERS} ON nomination (id, theme_id, status, state, submitted_at)"
    )


# The same words as app.services.text.search_text, copied: a migration must not import the app.
def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


_PLAIN_LETTERS = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"}
)


def _kind(char: str) -> str:
    if char.isascii():
        return "l" if char.isalpha() else "d" if char.isdigit() else ""
    return "l" if unicodedata.category(char).startswith("L") else ""


def _search_text(text: str) -> str:
    words: list[str] = []
    current: list[str] = []
    previous = ""
    for char in _fold(text).translate(_PLAIN_LETTERS):
        kind = _kind(char)
        if kind != previous and current:
            words.append("".join(current))
            current = []
        if kind:
            current.append(char)
        previous = kind
    if current:
        words.append("".join(current))
    joined = " ".join(words)
    if len(joined) > 450:
        joined = joined[:451].rsplit(" ", 1)[0]
    return joined


def _refill_search_text() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, nominee_name, nominee_institution, search_text FROM nomination")
    )
    changed = [
        {"id": row.id, "text": text}
        for row in rows
        if (text := _search_text(f"{row.nominee_name} {row.nominee_institution}"))
        != row.search_text
    ]
    for start in range(0, len(changed), 1000):
        connection.execute(
            sa.text("UPDATE nomination SET search_text = :text WHERE id = :id"),
            changed[start : start + 1000],
        )
