from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


# Made by the migrations beside the models' tables for the staff queue's full-text search
# (app/services/nominations/search.py): on SQLite an FTS5 table (with the shadow tables SQLite
# keeps for it) and a narrow index; on PostgreSQL a generated tsvector column and its index.
# Comparing the schema with the models leaves them out.
SEARCH_TABLES = "nomination_search"
SEARCH_INDEXES = ("nomination_search_filters", "ix_nomination_search_vector")
SEARCH_COLUMN = "search_vector"


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """For Alembic's `include_name`: everything but the search objects above."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(SEARCH_TABLES)
    if type_ == "index":
        return name not in SEARCH_INDEXES
    if type_ == "column":
        return name != SEARCH_COLUMN
    return True
