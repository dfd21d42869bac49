"""`python -m app backup DIR` and `restore DIR`: a consistent copy of the database and the data
directory, checked against a manifest of SHA-256 checksums on the way back.

The database is copied first, while the server keeps serving: on SQLite with the online backup
API inside one read transaction (a snapshot that writers, in WAL mode, do not wait for), on
PostgreSQL with `pg_dump` (which reads one snapshot too). The data directory (uploaded files,
the development secret key and whatever else lives there) comes after: uploads are written and
flushed before the row that names them is committed, so every file the copied database names
is already there. A backup is complete once its manifest is written, last.

Layout of DIR: `manifest.json`, `database.sqlite3` or `database.pgdump`, and `data/` mirroring
the data directory.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import make_engine
from app.models import utcnow

FORMAT = "integrity-icon-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATA = "data"
CHUNK = 1024 * 1024
# Pages of SQLite copied per step: about 4 MB with the default page size.
SQLITE_PAGES_PER_STEP = 1024
# The SQLite database and its companions are copied through the backup API, never as files.
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


class BackupError(Exception):
    """What the operator must fix; the command prints it and exits with status 1."""


class Progress:
    """Lines on stderr saying how far the work is, at most one every `every` seconds per
    stage (and always the last)."""

    def __init__(self, command: str, out: TextIO | None = None, every: float = 2.0) -> None:
        self.command = command
        self.out = out or sys.stderr
        self.every = every
        self._last = 0.0

    def say(self, text: str) -> None:
        print(f"{self.command}: {text}", file=self.out, flush=True)
        self._last = time.monotonic()

    def tick(self, text: str, *, done: bool = False) -> None:
        if done or time.monotonic() - self._last >= self.every:
            self.say(text)


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the backup directory, with "/"
    size: int
    sha256: str
    mode: int


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy(source: Path, target: Path, *, mode: int) -> tuple[int, str]:
    """Copies a file and returns its size and the checksum of the bytes written."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, target.open("xb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    target.chmod(mode & 0o777)
    return size, digest.hexdigest()


def _engine_name(settings: Settings) -> str:
    return "sqlite" if settings.sqlalchemy_url.startswith("sqlite") else "postgresql"


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.sqlalchemy_url).database
    if not database or database == ":memory:":
        raise BackupError("the SQLite database must be a file")
    return Path(database)


def _libpq(settings: Settings) -> tuple[str, dict[str, str]]:
    """The database URL for pg_dump and pg_restore, and an environment carrying the password,
    which stays off the command line (where `ps` would show it)."""
    url = make_url(settings.sqlalchemy_url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _postgres_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; on Debian or Ubuntu: apt-get install postgresql-client"
        )
    return found


def _data_files(data_dir: Path, skip: set[Path]) -> Iterator[Path]:
    """Regular files under the data directory, in a stable order, but for what `skip` names
    (files, or directories with everything below) and uploads still being written."""
    if not data_dir.is_dir():
        return
    temporary = (data_dir / "files" / "tmp").resolve()
    for root, dirs, names in os.walk(data_dir):
        here = Path(root)
        dirs[:] = sorted(
            name
            for name in dirs
            if (here / name).resolve() not in skip and (here / name).resolve() != temporary
        )
        for name in sorted(names):
            path = here / name
            if path.resolve() not in skip and path.is_file() and not path.is_symlink():
                yield path


# --- backup ----------------------------------------------------------------------------------


def backup(settings: Settings, target: Path, *, out: TextIO | None = None) -> list[Entry]:
    progress = Progress("backup", out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not empty; back up into a new or empty directory")
    target.mkdir(parents=True, exist_ok=True)
    # A backup holds everything personal the portal keeps.
    target.chmod(0o700)
    engine_name = _engine_name(settings)
    started = time.monotonic()

    if engine_name == "sqlite":
        database, revision = _sqlite_backup(settings, target, progress)
    else:
        database, revision = _postgres_backup(settings, target, progress)

    skip = {target.resolve()}
    if engine_name == "sqlite":
        source = _sqlite_path(settings).resolve()
        skip |= {source.with_name(source.name + suffix) for suffix in SQLITE_COMPANIONS}
    entries = [database, *_copy_data(settings.data_dir, target / DATA, skip, progress)]

    # The manifest comes last and only once everything above is on disk: a directory without
    # one is an unfinished backup, and restore refuses it.
    os.sync()
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": utcnow().isoformat(),
        "engine": engine_name,
        "schema_revision": revision,
        "database": database.path,
        "entries": [{**entry.__dict__, "mode": f"{entry.mode:04o}"} for entry in entries],
    }
    partial = target / (MANIFEST + ".part")
    with partial.open("w", encoding="utf-8") as file:
        json.dump(manifest, file, indent=1, sort_keys=True)
        file.flush()
        os.fsync(file.fileno())
    partial.chmod(0o600)
    partial.rename(target / MANIFEST)
    total = sum(entry.size for entry in entries)
    progress.say(
        f"done: database and {len(entries) - 1} file(s), {_mib(total)}, in"
        f" {time.monotonic() - started:.1f} s, into {target}"
    )
    return entries


def _sqlite_backup(settings: Settings, target: Path, progress: Progress) -> tuple[Entry, str]:
    path = _sqlite_path(settings)
    if not path.exists():
        raise BackupError(f"there is no database at {path}")
    copy = target / "database.sqlite3"
    timeout = settings.sqlite_busy_timeout_ms / 1000
    source = sqlite3.connect(path, timeout=timeout)
    destination = sqlite3.connect(copy)
    try:
        # One read transaction for the whole copy: every step reads the same snapshot, so
        # writers go on (WAL) and the copy never starts over because one of them committed.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def step(_status: int, remaining: int, total: int) -> None:
            share = 100 * (total - remaining) // max(total, 1)
            progress.tick(f"database {share}% of {total} pages", done=remaining == 0)

        source.backup(destination, pages=SQLITE_PAGES_PER_STEP, progress=step)
        source.execute("COMMIT")
        # The copy stands alone: one file, not a WAL to replay.
        destination.execute("PRAGMA journal_mode=DELETE")
        problem = destination.execute("PRAGMA quick_check").fetchone()[0]
        row = destination.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        destination.close()
        source.close()
    if problem != "ok":
        raise BackupError(f"the copied database fails SQLite's check: {problem}")
    copy.chmod(0o600)
    return Entry(copy.name, copy.stat().st_size, _sha256(copy), 0o600), str(row[0]) if row else ""


def _postgres_backup(settings: Settings, target: Path, progress: Progress) -> tuple[Entry, str]:
    pg_dump = _postgres_tool("pg_dump")
    url, env = _libpq(settings)
    copy = target / "database.pgdump"
    progress.say("database: pg_dump (one consistent snapshot)")
    _run_with_progress(
        [pg_dump, "--format=custom", "--verbose", "--file", str(copy), "--dbname", url],
        env=env,
        progress=progress,
        marker="dumping contents of table",
        what="pg_dump",
    )
    copy.chmod(0o600)
    size = copy.stat().st_size
    progress.say(f"database: {_mib(size)} written")
    # Read beside the dump, not from it: told to the operator, who runs `migrate` after a
    # restore into a newer portal either way.
    return Entry(copy.name, size, _sha256(copy), 0o600), _schema_revision(settings)


def _run_with_progress(
    command: list[str], *, env: dict[str, str], progress: Progress, marker: str, what: str
) -> None:
    """Runs pg_dump or pg_restore, turning its --verbose lines about tables into progress and
    keeping its errors for the message if it fails."""
    errors: list[str] = []
    tables = 0
    # S603: our own fixed arguments and the configured database URL; no shell.
    with subprocess.Popen(  # noqa: S603
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stderr is not None
        for line in child.stderr:
            if marker in line:
                tables += 1
                table = line.rsplit(" ", 1)[-1].strip().strip('"')
                progress.tick(f"database: table {table} ({tables} so far)")
            elif "error" in line.lower() or "warning" in line.lower():
                errors.append(line.strip())
        status = child.wait()
    if status != 0:
        detail = "; ".join(errors[-5:]) or f"exit status {status}"
        raise BackupError(f"{what} failed: {detail}")
    progress.say(f"database: {tables} table(s)")


def _schema_revision(settings: Settings) -> str:
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    finally:
        engine.dispose()
    return str(row[0]) if row else ""


def _copy_data(data_dir: Path, target: Path, skip: set[Path], progress: Progress) -> list[Entry]:
    files = list(_data_files(data_dir, skip))
    entries = []
    copied = 0
    for number, path in enumerate(files, start=1):
        relative = path.relative_to(data_dir).as_posix()
        try:
            mode = path.stat().st_mode
            size, sha256 = _copy(path, target / relative, mode=mode)
        except FileNotFoundError:
            continue  # removed meanwhile (an orphan swept): not in the copy either
        copied += size
        entries.append(Entry(f"{DATA}/{relative}", size, sha256, mode & 0o777))
        progress.tick(f"files {number}/{len(files)}, {_mib(copied)}", done=number == len(files))
    if not files:
        progress.say("files: none in the data directory")
    return entries


# --- restore ---------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} has no {MANIFEST}: not a backup, or an unfinished one")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise BackupError(f"{path} is not valid JSON: {error}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError(f"{path} is not a manifest this version of the portal reads")
    return manifest


def verify(source: Path, manifest: dict[str, Any], progress: Progress) -> list[Entry]:
    """Every file the manifest lists is there, unchanged; raises BackupError otherwise."""
    try:
        entries = [
            Entry(**{**entry, "mode": int(entry["mode"], 8)}) for entry in manifest["entries"]
        ]
    except (KeyError, TypeError, ValueError):
        raise BackupError(f"the manifest of {source} is damaged") from None
    root = source.resolve()
    total = sum(entry.size for entry in entries)
    checked = 0
    for number, entry in enumerate(entries, start=1):
        path = (source / entry.path).resolve()
        if (
            Path(entry.path).is_absolute()
            or ".." in Path(entry.path).parts
            or root not in path.parents
        ):
            raise BackupError(f"the manifest names a file outside the backup: {entry.path}")
        if not path.is_file():
            raise BackupError(f"{entry.path} is missing from the backup")
        if path.stat().st_size != entry.size or _sha256(path) != entry.sha256:
            raise BackupError(f"{entry.path} has changed since the backup: its checksum differs")
        checked += entry.size
        progress.tick(
            f"checked {number}/{len(entries)} file(s), {_mib(checked)} of {_mib(total)}",
            done=number == len(entries),
        )
    listed = {(source / entry.path).resolve() for entry in entries}
    for path in sorted(source.rglob("*")):
        if path.is_file() and path.name != MANIFEST and path.resolve() not in listed:
            progress.say(f"ignored, not in the manifest: {path.relative_to(source)}")
    return entries


def restore(settings: Settings, source: Path, *, out: TextIO | None = None) -> list[Entry]:
    progress = Progress("restore", out)
    started = time.monotonic()
    manifest = read_manifest(source)
    engine_name = _engine_name(settings)
    if manifest.get("engine") != engine_name:
        raise BackupError(
            f"this backup is of a {manifest.get('engine')} database; DATABASE_URL names a"
            f" {engine_name} one"
        )
    _refuse_non_empty(settings, engine_name)
    entries = verify(source, manifest, progress)
    database = next((entry for entry in entries if entry.path == manifest.get("database")), None)
    if database is None:
        raise BackupError(f"the manifest of {source} names no database")

    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    files = [entry for entry in entries if entry.path.startswith(DATA + "/")]
    restored = 0
    for number, entry in enumerate(files, start=1):
        target = data_dir / entry.path[len(DATA) + 1 :]
        size, sha256 = _copy(source / entry.path, target, mode=entry.mode)
        if (size, sha256) != (entry.size, entry.sha256):
            raise BackupError(f"{entry.path} changed while it was being restored")
        restored += size
        progress.tick(f"files {number}/{len(files)}, {_mib(restored)}", done=number == len(files))

    if engine_name == "sqlite":
        _sqlite_restore(settings, source / database.path, database)
    else:
        _postgres_restore(settings, source / database.path, progress)
    os.sync()
    progress.say(
        f"done: database and {len(files)} file(s) from {source}, in"
        f" {time.monotonic() - started:.1f} s (schema {manifest.get('schema_revision') or 'none'};"
        " run `python -m app migrate` if this portal is newer than the backup)"
    )
    return entries


def _refuse_non_empty(settings: Settings, engine_name: str) -> None:
    data_dir = settings.data_dir
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise BackupError(f"the data directory {data_dir} is not empty; restore into an empty one")
    if engine_name == "sqlite":
        path = _sqlite_path(settings)
        if any(path.with_name(path.name + suffix).exists() for suffix in SQLITE_COMPANIONS):
            raise BackupError(f"there is a database at {path} already; restore into none")
        return
    engine = make_engine(settings)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            f"the database has {len(tables)} table(s) already; restore into an empty database"
            " (createdb, without running migrate)"
        )


def _sqlite_restore(settings: Settings, source: Path, entry: Entry) -> None:
    path = _sqlite_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".restoring")
    size, sha256 = _copy(source, partial, mode=entry.mode)
    if (size, sha256) != (entry.size, entry.sha256):
        partial.unlink()
        raise BackupError(f"{entry.path} changed while it was being restored")
    with partial.open("rb") as file:
        os.fsync(file.fileno())
    partial.rename(path)


def _postgres_restore(settings: Settings, dump: Path, progress: Progress) -> None:
    pg_restore = _postgres_tool("pg_restore")
    url, env = _libpq(settings)
    progress.say("database: pg_restore (one transaction: all or nothing)")
    _run_with_progress(
        [
            pg_restore,
            "--verbose",
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            url,
            str(dump),
        ],
        env=env,
        progress=progress,
        marker="processing data for table",
        what="pg_restore",
    )
