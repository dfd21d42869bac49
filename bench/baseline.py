"""The bare baseline: the least FastAPI, Jinja2 and SQLAlchemy need to do the portal's public
work, served by uvicorn with the portal's settings, so the portal's figures can be read as a
share of what this stack gives at best on the same machine and database.

- GET / and GET /form render a small Jinja2 page (the form page carries a hidden token, so the
  load driver does the same work on both servers);
- POST /form parses the form with python-multipart (`await request.form()`), stores any file
  durably (fsync), inserts one row with SQLAlchemy core and redirects 303 to /done/{id};
- GET /done/{id} reads that row back and renders a small page, as the receipt does.

Configured by the environment: BENCH_BASELINE_URL (SQLAlchemy URL), BENCH_BASELINE_FILES (a
directory). Run: `python -m bench.baseline --port P --workers N`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import DictLoader, Environment, select_autoescape
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

metadata = MetaData()
submission = Table(
    "bench_submission",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token", String(200), nullable=False),
    Column("fields", Text, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

PAGES = {
    "page.html": """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><p>{{ text }}</p>
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul></body></html>
""",
    "form.html": """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>
<form method="post" action="/form" enctype="multipart/form-data">
<input type="hidden" name="csrf_token" value="{{ token }}">
<input name="nominee_name"><textarea name="achievement"></textarea>
<input type="file" name="evidence"><button>Enviar</button></form></body></html>
""",
    "done.html": """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>Recibido</title></head>
<body><h1>Recibido</h1><p>Referencia {{ row.id }}, {{ row.file_count }} archivo(s),
{{ row.created_at }}.</p></body></html>
""",
}


# Connections kept open and never more: with the portal's 10 + 10 overflow, requests beyond 10
# at once open a connection and close it again (a new PostgreSQL backend each time), work the
# baseline should not do. 20 per worker stays within PostgreSQL's default 100 connections.
POOL = {"pool_size": 20, "max_overflow": 0}


def make_engine(url: str) -> Engine:
    """The portal's engine settings without its extras (no pre-ping, no BEGIN IMMEDIATE, no
    connection churn)."""
    if not url.startswith("sqlite"):
        return create_engine(url, **POOL)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **POOL)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The portal's defaults: a commit is on disk before the citizen sees its receipt.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    return engine


def create_schema(url: str) -> None:
    engine = make_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def _store_file(directory: Path, data: bytes) -> None:
    # Durable like an evidence file: the data and its directory entry reach the disk.
    path = directory / secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def create_app() -> FastAPI:
    engine = make_engine(os.environ["BENCH_BASELINE_URL"])
    files_dir = Path(os.environ["BENCH_BASELINE_FILES"])
    files_dir.mkdir(parents=True, exist_ok=True)
    pages = Environment(loader=DictLoader(PAGES), autoescape=select_autoescape(default=True))
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def render(name: str, **context: Any) -> HTMLResponse:
        return HTMLResponse(pages.get_template(name).render(**context))

    @app.get("/")
    async def page() -> Response:
        items = ["Jóvenes", "Sustentabilidad"]
        return render("page.html", title="Integrity Icon", text="Nomina a alguien.", items=items)

    @app.get("/form")
    async def form_page() -> Response:
        return render("form.html", title="Nominar", token=secrets.token_urlsafe(32))

    def store(fields: dict[str, str], uploads: list[bytes]) -> int:
        for data in uploads:
            _store_file(files_dir, data)
        with engine.begin() as connection:
            new_id = connection.execute(
                insert(submission).values(
                    token=fields.get("csrf_token", ""),
                    fields=json.dumps(fields),
                    file_count=len(uploads),
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key
        assert new_id is not None
        return int(new_id[0])

    @app.post("/form")
    async def submit(request: Request) -> Response:
        form = await request.form()
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        uploads = [
            await v.read() for _, v in form.multi_items() if isinstance(v, UploadFile) and v.size
        ]
        await form.close()
        # Blocking database and disk work goes to the thread pool, as the portal's sync
        # handlers do, so one slow commit does not stall the event loop.
        new_id = await run_in_threadpool(store, fields, uploads)
        return RedirectResponse(f"/done/{new_id}", status_code=303)

    @app.get("/done/{row_id}")
    def done(row_id: int) -> Response:
        with engine.connect() as connection:
            row = connection.execute(select(submission).where(submission.c.id == row_id)).first()
        if row is None:
            return HTMLResponse("not found", status_code=404)
        return render("done.html", row=row)

    return app


def main(argv: list[str]) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    # The same uvicorn.run arguments as `python -m app serve` (app/__main__.py).
    uvicorn.run(
        "bench.baseline:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        proxy_headers=False,
        server_header=False,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
