from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlmodel.sql.sqltypes import AutoString

import app.models
from app.config import get_settings
from app.db import make_engine
from app.migrate import include_name
from app.models.base import UTCDateTime

target_metadata = app.models.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not import the app or SQLModel: they are written in plain SQLAlchemy types.
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.Text()"
    return False


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    # Tests and `python -m app migrate` hand over their own connection; otherwise use the settings.
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = make_engine(get_settings())
    with engine.connect() as conn:
        run_with(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `python -m app migrate`")
run_online()
