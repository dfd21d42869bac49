"""The app's route table as (method, path) pairs, for tests generated from it."""

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Mount

from app.main import create_app
from tests.conftest import make_settings


def _walk(routes: list[Any]) -> Iterator[tuple[str, set[str]]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route.path, set(route.methods)
        elif isinstance(route, Mount) and route.routes:
            # A mounted application (the API at /api/v1): its routes under the mount's path.
            for path, methods in _walk(list(route.routes)):
                yield route.path + path, methods
        elif hasattr(route, "effective_route_contexts"):
            # FastAPI keeps included routers as wrappers; their contexts carry the full path.
            for context in route.effective_route_contexts():
                yield context.path, set(context.methods or ())


def route_templates() -> list[tuple[str, str]]:
    """Every (method, path template) of the app's GETs and POSTs, parameters left as {name}."""
    app = create_app(make_settings(Path(tempfile.mkdtemp()), "sqlite://"))
    found = {
        (method, path)
        for path, methods in _walk(app.routes)
        for method in methods
        if method in ("GET", "POST")
    }
    app.state.engine.dispose()
    return sorted(found)


def app_routes(prefix: str) -> list[tuple[str, str]]:
    """Every route under `prefix`, path parameters filled with 1."""
    app = create_app(make_settings(Path(tempfile.mkdtemp()), "sqlite://"))
    found = set()
    for path, methods in _walk(app.routes):
        if path == prefix or path.startswith(prefix + "/"):
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            found |= {(method, concrete) for method in methods if method != "HEAD"}
    return sorted(found)
