"""Signed checkpoints of the audit chain, and its verification.

The chain itself is written by app/services/audit.py. A checkpoint is the chain's head at one
moment (how many events, the last one's hash), signed with the installation's Ed25519 key and
published at /transparency/checkpoints.json. Rewriting history then shows three ways: an event
whose hash no longer matches its fields or its place, a checkpoint kept in the database that no
longer matches the chain, and one kept by an outside observer that no longer matches either,
even if whoever rewrote the history also rewrote the database's checkpoints.

What a checkpoint's signature covers is `signed_message`: compact JSON with sorted keys of its
`created_at`, `edition`, `event_count`, `head_hash`, `reason` and `subject`, exactly as the JSON
file publishes them, so that anyone can check a signature with any Ed25519 tool.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from app.config import Settings
from app.models import AuditChainHead, AuditCheckpoint, AuditEvent, CheckpointReason
from app.services.audit import GENESIS, ChainHead, after_linking, event_fields, link_hash, lock_head

KEY_FILE = "checkpoint_key.pem"
# The execution option of an engine that carries its Signer, for checkpoints made at commit.
SIGNER_OPTION = "audit_checkpoint_signer"
DOCUMENT_FORMAT = 1
# The server makes a checkpoint when the newest is this old (app/main.py looks every few
# minutes): so there is one at least every day.
DAILY = timedelta(hours=23, minutes=45)


# --- keys ----------------------------------------------------------------------------------


class BadKey(ValueError):
    """A key that cannot be read: the message says which and why."""


@dataclass(frozen=True)
class PublicKey:
    key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(
            encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
        )

    @property
    def base64(self) -> str:
        return base64.b64encode(self.raw).decode()

    @property
    def pem(self) -> str:
        return self.key.public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        ).decode()

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]

    def verifies(self, message: bytes, signature: str) -> bool:
        try:
            self.key.verify(base64.b64decode(signature, validate=True), message)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    @classmethod
    def from_base64(cls, text: str) -> PublicKey:
        try:
            return cls(Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True)))
        except (binascii.Error, ValueError) as error:
            raise BadKey(f"not an Ed25519 public key in base64: {error}") from None


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.key.sign(message)).decode()


def _parse_private_key(text: str, origin: str) -> Signer:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, TypeError) as error:
        raise BadKey(f"{origin} is not an Ed25519 private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadKey(f"{origin} is not an Ed25519 private key")
    return Signer(key)


def load_signer(settings: Settings, *, create: bool = True) -> Signer | None:
    """CHECKPOINT_SIGNING_KEY (PEM, or the 32-byte private key in base64), else the key file
    in DATA_DIR, made on first use when `create` is set. Several machines serving one
    database must share the setting: each would otherwise make a key of its own."""
    if settings.checkpoint_signing_key:
        return _parse_private_key(settings.checkpoint_signing_key, "CHECKPOINT_SIGNING_KEY")
    path: Path = settings.data_dir / KEY_FILE
    if path.exists():
        return _parse_private_key(path.read_text(), str(path))
    if not create:
        return None
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Written whole under a name of its own, then linked into place: a link never replaces a
    # file, so of several processes starting at once one key wins, and none reads half a key.
    draft = path.with_name(f"{KEY_FILE}.{os.getpid()}.tmp")
    try:
        with draft.open("wb") as handle:
            draft.chmod(0o600)
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)
    except FileExistsError:
        return _parse_private_key(path.read_text(), str(path))
    finally:
        draft.unlink(missing_ok=True)
    return Signer(key)


def use_signer(engine: Engine, signer: Signer) -> None:
    """Lets sessions of `engine` sign the checkpoints they make at commit."""
    engine.update_execution_options(**{SIGNER_OPTION: signer})


# --- making checkpoints ----------------------------------------------------------------------


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def checkpoint_fields(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """What a checkpoint's signature covers, as the JSON file publishes it."""
    return {
        "created_at": _instant(checkpoint.created_at),
        "edition": checkpoint.edition,
        "event_count": checkpoint.event_count,
        "head_hash": checkpoint.head_hash,
        "reason": checkpoint.reason.value,
        "subject": checkpoint.subject,
    }


SIGNED_FIELDS = ("created_at", "edition", "event_count", "head_hash", "reason", "subject")


def signed_message(fields: dict[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers: its SIGNED_FIELDS as compact ASCII JSON with
    sorted keys, from the checkpoint or from an entry of the published JSON alike."""
    signed = {name: fields[name] for name in SIGNED_FIELDS}
    return json.dumps(signed, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode()


def _make(
    session: Session,
    *,
    signer: Signer,
    head: ChainHead,
    reason: CheckpointReason,
    edition: int | None,
    subject: str,
    now: datetime,
) -> AuditCheckpoint:
    checkpoint = AuditCheckpoint(
        created_at=now,
        event_count=head.event_count,
        head_hash=head.head_hash,
        reason=reason,
        edition=edition,
        subject=subject,
        key_id=signer.public.key_id,
        signature="",
    )
    checkpoint.signature = signer.sign(signed_message(checkpoint_fields(checkpoint)))
    session.add(checkpoint)
    return checkpoint


def checkpoint_now(
    session: Session,
    *,
    signer: Signer,
    reason: CheckpointReason,
    now: datetime,
    edition: int | None = None,
    subject: str = "",
) -> AuditCheckpoint:
    """A checkpoint of the head as committed now (the head stays locked until the caller's
    commit, so no event slips in between)."""
    checkpoint = _make(
        session,
        signer=signer,
        head=lock_head(session),
        reason=reason,
        edition=edition,
        subject=subject,
        now=now,
    )
    session.flush()
    return checkpoint


def checkpoint_at_commit(
    session: Session,
    *,
    reason: CheckpointReason,
    edition: int | None,
    subject: str = "",
    then: Callable[[AuditCheckpoint], None] | None = None,
) -> None:
    """A checkpoint of the head this transaction commits, its own events included: for a stage
    change of an edition, recorded in the same transaction. `then` gets the checkpoint."""

    def make(session: Session, head: ChainHead) -> None:
        signer = session.connection().get_execution_options().get(SIGNER_OPTION)
        if not isinstance(signer, Signer):
            raise RuntimeError("no checkpoint signing key for this database (use_signer)")
        checkpoint = _make(
            session,
            signer=signer,
            head=head,
            reason=reason,
            edition=edition,
            subject=subject,
            now=datetime.now(UTC),
        )
        if then is not None:
            then(checkpoint)

    after_linking(session, make)


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.exec(
        select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc()).limit(1)
    ).first()


def daily_checkpoint(session: Session, *, signer: Signer, now: datetime) -> AuditCheckpoint | None:
    """The day's checkpoint, unless one was made within the day. Decided with the head locked,
    so that several workers or machines looking at once make one between them."""
    lock_head(session)
    latest = latest_checkpoint(session)
    if latest is not None and latest.created_at > now - DAILY:
        return None
    return checkpoint_now(session, signer=signer, reason=CheckpointReason.daily, now=now)


def checkpoints(session: Session) -> list[AuditCheckpoint]:
    return list(session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id))).all())


def checkpoints_document(session: Session, *, public_key: PublicKey) -> dict[str, Any]:
    """/transparency/checkpoints.json: the public key and every checkpoint, oldest first."""
    return {
        "format": DOCUMENT_FORMAT,
        "public_key": {
            "algorithm": "Ed25519",
            "key_id": public_key.key_id,
            "base64": public_key.base64,
            "pem": public_key.pem,
        },
        "signed_fields": list(SIGNED_FIELDS),
        "checkpoints": [
            {
                "id": c.id,
                **checkpoint_fields(c),
                "key_id": c.key_id,
                "signature": c.signature,
            }
            for c in checkpoints(session)
        ],
    }


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """A head some checkpoint vouches for."""

    label: str
    event_count: int
    head_hash: str


@dataclass
class Verification:
    event_count: int = 0
    head_hash: str = GENESIS
    checkpoints: int = 0
    published: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class PublishedError(ValueError):
    """A checkpoints file that cannot be read or understood."""


def read_published(source: str) -> dict[str, Any]:
    """The JSON of /transparency/checkpoints.json, from an http(s) URL or a file."""
    try:
        if source.startswith(("http://", "https://")):
            # S310: the scheme is checked on the line above.
            with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310
                text = response.read().decode()
        else:
            text = Path(source).read_text()
        document = json.loads(text)
    except (OSError, ValueError) as error:
        raise PublishedError(f"cannot read checkpoints from {source}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("checkpoints"), list):
        raise PublishedError(f"{source} is not a checkpoints file (no list of checkpoints)")
    return document


def _label(fields: dict[str, Any], *, published: bool) -> str:
    kind = "published checkpoint" if published else "checkpoint"
    ident = f" #{fields['id']}" if fields.get("id") is not None else ""
    return f"{kind}{ident} of {fields['created_at']} ({fields['event_count']} events)"


def published_key(document: dict[str, Any]) -> PublicKey | None:
    """The public key a checkpoints file gives, if it gives a usable one."""
    try:
        return PublicKey.from_base64(str(document["public_key"]["base64"]))
    except (KeyError, TypeError, BadKey):
        return None


def _published_expectations(document: dict[str, Any], result: Verification) -> list[Expected]:
    key = published_key(document)
    if key is None:
        result.problems.append("the checkpoints file has no usable public key")
        return []
    expected: list[Expected] = []
    for entry in document["checkpoints"]:
        try:
            label = _label(entry, published=True)
            message = signed_message(entry)
            signature = str(entry["signature"])
            count, head = int(entry["event_count"]), str(entry["head_hash"])
        except (KeyError, TypeError, ValueError):
            result.problems.append(f"the checkpoints file has an unreadable entry: {entry!r}")
            return expected
        if not key.verifies(message, signature):
            result.problems.append(f"{label}: its signature does not verify with the file's key")
            return expected
        expected.append(Expected(label, count, head))
    result.published = len(expected)
    return expected


def _stored_expectations(
    session: Session, public_key: PublicKey | None, result: Verification
) -> list[Expected]:
    expected: list[Expected] = []
    for checkpoint in checkpoints(session):
        fields = {"id": checkpoint.id, **checkpoint_fields(checkpoint)}
        label = _label(fields, published=False)
        if public_key is None:
            result.problems.append(f"{label}: there is no key to check its signature with")
            return expected
        if not public_key.verifies(signed_message(fields), checkpoint.signature):
            result.problems.append(
                f"{label} no longer matches its signature: it was changed after it was signed"
                if checkpoint.key_id == public_key.key_id
                else f"{label} was signed by key {checkpoint.key_id}, not this installation's"
                f" key {public_key.key_id}"
            )
            return expected
        expected.append(Expected(label, checkpoint.event_count, checkpoint.head_hash))
    result.checkpoints = len(expected)
    return expected


def _describe(row: Any) -> str:
    return f"event #{row.seq} (id {row.id}, {row.action}, {_instant(row.created_at)})"


def _event_problem(
    connection: Connection, row: Any, *, position: int, prev: str, fields: list[Any]
) -> str | None:
    """What is wrong with the event found at `position` of the chain, whose predecessor's
    stored hash is `prev`; None when it is the link it should be."""
    if row.seq > position:
        missing = f"#{position}" if row.seq == position + 1 else f"#{position} to #{row.seq - 1}"
        return f"event {missing} was removed: {_describe(row)} follows event #{position - 1}"
    if row.seq < position:
        return f"{_describe(row)} appears twice in the chain"
    if row.prev_hash == prev:
        if link_hash(prev, fields) == row.hash:
            return None
        return f"{_describe(row)} was changed after it was written"
    # It does not follow the event before it: moved here, or what it followed was removed.
    predecessor = _seq_of(connection, row.prev_hash)
    if predecessor is None:
        if link_hash(row.prev_hash, fields) == row.hash:
            return f"the event before {_describe(row)} was removed"
        return (
            f"{_describe(row)} was changed, and the event it followed is gone: events before it"
            " were removed and the rest renumbered"
        )
    written_as = predecessor + 1
    if written_as != position and link_hash(row.prev_hash, [written_as, *fields[1:]]) == row.hash:
        return (
            f"{_describe(row)} is out of place: it was written as event #{written_as},"
            f" after event #{predecessor}"
        )
    return f"{_describe(row)} was changed after it was written"


def _seq_of(connection: Connection, digest: str) -> int | None:
    """The place of the event whose hash is `digest` (0: the chain's start); only for a
    broken link, so a scan without an index is fine."""
    if digest == GENESIS:
        return 0
    found = connection.execute(
        select(col(AuditEvent.seq)).where(col(AuditEvent.hash) == digest).limit(1)
    ).first()
    return int(found[0]) if found else None


def _columns() -> Iterable[Any]:
    return (
        col(AuditEvent.id),
        col(AuditEvent.seq),
        col(AuditEvent.prev_hash),
        col(AuditEvent.hash),
        col(AuditEvent.created_at),
        col(AuditEvent.actor_id),
        col(AuditEvent.actor_label),
        col(AuditEvent.action),
        col(AuditEvent.object_type),
        col(AuditEvent.object_id),
        col(AuditEvent.before),
        col(AuditEvent.after),
        col(AuditEvent.client_hash),
    )


def verify(
    session: Session,
    *,
    public_key: PublicKey | None,
    published: dict[str, Any] | None = None,
) -> Verification:
    """Recomputes the chain from the first event and checks every checkpoint against it (the
    database's own, and those of a published file when given). Reads one snapshot: run it on
    a session whose transaction it may own (on PostgreSQL it asks for REPEATABLE READ)."""
    result = Verification()
    snapshot = not session.in_transaction() and session.get_bind().dialect.name == "postgresql"
    connection = session.connection(
        execution_options={"isolation_level": "REPEATABLE READ"} if snapshot else None
    )
    expected = _stored_expectations(session, public_key, result)
    if published is not None:
        expected += _published_expectations(published, result)
    by_count: dict[int, list[Expected]] = {}
    for item in expected:
        by_count.setdefault(item.event_count, []).append(item)

    def check_head(count: int, head: str) -> bool:
        for item in by_count.pop(count, []):
            if item.head_hash != head:
                result.problems.append(
                    f"{item.label} no longer matches: the chain's hash after event #{count} is"
                    f" {head}, the checkpoint signed {item.head_hash}; the events up to"
                    f" #{count} were rewritten"
                )
                return False
        return True

    prev = GENESIS
    position = 0
    if not check_head(0, GENESIS):
        return result
    rows = connection.execution_options(yield_per=2000).execute(
        select(*_columns()).order_by(col(AuditEvent.seq))
    )
    for row in rows:
        position += 1
        fields = event_fields(row)
        problem = _event_problem(connection, row, position=position, prev=prev, fields=fields)
        if problem is not None:
            result.problems.insert(0, problem)
            rows.close()
            return result
        prev = row.hash
        if not check_head(position, prev):
            rows.close()
            return result
    result.event_count, result.head_hash = position, prev
    for count in sorted(by_count):
        item = by_count[count][0]
        result.problems.append(
            f"{item.label} no longer matches: it covers {count} events and the chain has only"
            f" {position}; the newest events were removed"
        )
        return result
    # The head row moves with every link: a chain cut short after the last checkpoint shows
    # there too, unless whoever cut it also rewound the row.
    head = connection.execute(select(AuditChainHead.event_count, AuditChainHead.head_hash)).first()
    if head is not None and (head[0], head[1] or GENESIS) != (position, prev):
        result.problems.append(
            f"the chain's head row says {head[0]} events ending in {head[1]}, the events give"
            f" {position} ending in {prev}: the newest events were removed"
        )
    return result
