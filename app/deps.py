"""Dependencies shared by the route modules, as `Annotated` aliases."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.config import Settings
from app.db import WRITE
from app.i18n import Translator
from app.templating import Templates, translator


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    engine = request.app.state.engine
    if request.method not in ("GET", "HEAD"):
        # A request that writes takes SQLite's write lock at its first query (see app.db.WRITE),
        # not before: work without the database (parsing, images) runs outside the lock.
        engine = engine.execution_options(**WRITE)
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def open_session(request: Request) -> Iterator[Session]:
    """A session opened by the route itself, outside FastAPI's dependencies: for the hottest
    routes (a kept public page's render, a nomination, its receipt), which make one trip to the
    thread pool where a sync route with a session dependency makes three."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_templates(request: Request) -> Templates:
    templates: Templates = request.app.state.templates
    return templates


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
TemplatesDep = Annotated[Templates, Depends(get_templates)]
TranslatorDep = Annotated[Translator, Depends(translator)]
