"""Streaming reader for public form bodies.

Starlette's `request.form()` spools uploads to temporary files and applies its own limits; public
forms need every limit to be ours and an oversize upload refused before a byte of it is kept, so
this reader feeds `request.stream()` straight into python-multipart's low-level parsers.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from python_multipart import MultipartParser, QuerystringParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks, QuerystringCallbacks

# Room on top of the file budget for text fields and multipart framing.
TEXT_ROOM = 1024 * 1024
# A form that keeps its text past the file limits (`drop_oversize_files`) reads on, discarding
# file bytes, up to this many times its budget: a phone photo or three over the limit, not an
# endless body. Past it, the bare refusal stands.
DISCARD_FACTOR = 4

# A percent-encoded byte takes three bytes on the wire, so a field within its decoded limit can
# arrive up to three times as long; beyond that it cannot fit and we stop buffering it.
_PERCENT_EXPANSION = 3

# A browser encodes a literal % as %25, so a % not followed by two hex digits was never typed in
# a form; decoding would keep it silently, and a tool sending it gets a clear 400 instead.
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
# What browsers send for every text field of a form: read without the general parser, which
# took a quarter of a nomination's parsing. Anything else (a file, quoting) goes through it.
_PLAIN_FIELD = re.compile(rb'form-data; name="([^"\\]*)"')


# A file part stays in memory up to this size and goes to a temporary file beyond it. Under a
# spike of uploads most requests wait for a thread with their bodies read: held in memory, 64
# nominations with a 1 MB PDF each took a worker from 113 to 182 MB (bench/).
SPOOL_BYTES = 64 * 1024


def _spool() -> SpooledTemporaryFile[bytes]:
    return SpooledTemporaryFile(max_size=SPOOL_BYTES)  # closed by FormBody.close


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str
    declared_type: str
    size: int
    # `field` is a field's name in this class: the function under its module's name.
    spool: SpooledTemporaryFile[bytes] = dataclasses.field(repr=False, compare=False)

    @property
    def data(self) -> bytes:
        """The file's bytes, read from memory or from its temporary file."""
        self.spool.seek(0)
        return self.spool.read()


@dataclass(frozen=True)
class DroppedFile:
    """A file over a limit, read past and not kept: its name and the limit ("file_too_large",
    one file over MAX_FILE_BYTES; "too_large", the files together over MAX_UPLOAD_BYTES)."""

    field: str
    filename: str
    code: str


@dataclass
class FormBody:
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list)
    bad_encoding: set[str] = field(default_factory=set)
    # With `drop_oversize_files`: the files that broke a limit. Then no file is kept at all
    # (`files` is empty) and the text fields are all there, to show the form again.
    dropped: list[DroppedFile] = field(default_factory=list)

    def close(self) -> None:
        """Frees the files' memory and removes their temporary files."""
        for upload in self.files:
            upload.spool.close()


class BodyError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


def _malformed() -> BodyError:
    return BodyError(400, "malformed")


def _field_name(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed() from None


def _add_text(body: FormBody, name: str, raw: bytes) -> None:
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        body.bad_encoding.add(name)
        value = raw.decode("utf-8", errors="replace")
    body.fields.append((name, value))


def _basename(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


class _UrlencodedReader:
    def __init__(self, *, max_fields: int, max_field_bytes: int) -> None:
        self.body = FormBody()
        self._max_fields = max_fields
        self._max_field_bytes = max_field_bytes
        self._max_raw_bytes = max_field_bytes * _PERCENT_EXPANSION
        self._count = 0
        self._name = bytearray()
        self._value = bytearray()
        callbacks: QuerystringCallbacks = {
            "on_field_start": self._on_field_start,
            "on_field_name": self._on_field_name,
            "on_field_data": self._on_field_data,
            "on_field_end": self._on_field_end,
        }
        self._parser = QuerystringParser(callbacks)

    def write(self, chunk: bytes) -> None:
        self._parser.write(chunk)

    def finish(self) -> FormBody:
        self._parser.finalize()
        return self.body

    def abandon(self) -> None:
        """Nothing to free: a urlencoded form has no files."""

    def _on_field_start(self) -> None:
        self._count += 1
        if self._count > self._max_fields:
            raise BodyError(422, "too_many_fields")
        self._name.clear()
        self._value.clear()

    def _append(self, buffer: bytearray, data: bytes, start: int, end: int) -> None:
        if len(buffer) + end - start > self._max_raw_bytes:
            raise BodyError(422, "field_too_large")
        buffer += data[start:end]

    def _on_field_name(self, data: bytes, start: int, end: int) -> None:
        self._append(self._name, data, start, end)

    def _on_field_data(self, data: bytes, start: int, end: int) -> None:
        self._append(self._value, data, start, end)

    def _on_field_end(self) -> None:
        # Browsers encode a space as `+` and everything else as %XX; decoding to bytes first
        # keeps the UTF-8 check honest (unquote_plus would substitute silently).
        if _BAD_ESCAPE.search(self._name) or _BAD_ESCAPE.search(self._value):
            raise _malformed()
        name = unquote_to_bytes(bytes(self._name).replace(b"+", b" "))
        value = unquote_to_bytes(bytes(self._value).replace(b"+", b" "))
        if len(name) > self._max_field_bytes or len(value) > self._max_field_bytes:
            raise BodyError(422, "field_too_large")
        _add_text(self.body, _field_name(name), value)


@dataclass
class _Part:
    name: str
    filename: str | None  # None for a text field
    declared_type: str
    data: bytearray = field(default_factory=bytearray)  # a text field's
    spool: SpooledTemporaryFile[bytes] | None = None  # a file's
    size: int = 0
    counted: bool = False
    discarded: bool = False  # a file read past, not kept (drop_oversize_files)


class _MultipartReader:
    def __init__(
        self,
        boundary: bytes,
        *,
        max_fields: int,
        max_field_bytes: int,
        max_files: int,
        max_file_bytes: int,
        max_total_bytes: int,
        drop_oversize_files: bool = False,
    ) -> None:
        self.body = FormBody()
        self._drop_oversize = drop_oversize_files
        self._max_fields = max_fields
        self._max_field_bytes = max_field_bytes
        self._max_files = max_files
        self._max_file_bytes = max_file_bytes
        self._max_total_bytes = max_total_bytes
        self._field_count = 0
        self._file_count = 0
        self._file_bytes = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._part: _Part | None = None
        self._ended = False
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_end": self._on_end,
        }
        try:
            self._parser = MultipartParser(boundary, callbacks)
        except FormParserError:  # boundary longer than the parser accepts
            raise _malformed() from None

    def write(self, chunk: bytes) -> None:
        self._parser.write(chunk)

    def finish(self) -> FormBody:
        self._parser.finalize()
        # The parser does not notice a body that stops before the closing boundary.
        if not self._ended:
            raise _malformed()
        return self.body

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._part = None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value).strip(b" \t")
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        header = self._headers.get(b"content-disposition", b"")
        plain = _PLAIN_FIELD.fullmatch(header)
        if plain is not None:
            self._add_part(_field_name(plain.group(1)), None)
            return
        disposition, params = parse_options_header(header)
        raw_name = params.get(b"name")
        if disposition != b"form-data" or raw_name is None:
            raise _malformed()
        self._add_part(_field_name(raw_name), params.get(b"filename"))

    def _add_part(self, name: str, raw_filename: bytes | None) -> None:
        if raw_filename is None:
            self._field_count += 1
            if self._field_count > self._max_fields:
                raise BodyError(422, "too_many_fields")
            self._part = _Part(name=name, filename=None, declared_type="")
            return
        declared_type, _ = parse_options_header(self._headers.get(b"content-type"))
        self._part = _Part(
            name=name,
            # Browsers send the name as UTF-8; a stray byte only spoils the label, not the upload.
            filename=_basename(raw_filename.decode("utf-8", errors="replace")),
            declared_type=declared_type.decode("latin-1"),
        )

    def _count_file(self, part: _Part) -> None:
        if not part.counted:
            part.counted = True
            self._file_count += 1
            if self._file_count > self._max_files:
                raise BodyError(422, "too_many_files")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part is None:  # the parser only sends data after the headers it accepted
            raise _malformed()
        size = end - start
        if part.filename is None:
            if len(part.data) + size > self._max_field_bytes:
                raise BodyError(422, "field_too_large")
            part.data += data[start:end]
            return
        self._count_file(part)
        if part.discarded:
            return
        if self.body.dropped:  # a file broke a limit before: no file is kept any more
            self._drop(part, None)
            return
        if part.size + size > self._max_file_bytes:
            self._refuse(part, "file_too_large")
            return
        self._file_bytes += size
        if self._file_bytes > self._max_total_bytes:
            self._refuse(part, "too_large")
            return
        if part.spool is None:
            part.spool = _spool()
        part.spool.write(data[start:end])
        part.size += size

    def _refuse(self, part: _Part, code: str) -> None:
        """A file over a limit: refused outright, or read past with every file dropped."""
        if not self._drop_oversize:
            raise BodyError(413, code)
        self._drop(part, code)
        for upload in self.body.files:
            upload.spool.close()
        self.body.files.clear()

    def _drop(self, part: _Part, code: str | None) -> None:
        part.discarded = True
        if part.spool is not None:
            part.spool.close()
            part.spool = None
        if code is not None:
            self.body.dropped.append(DroppedFile(part.name, part.filename or "", code))

    def _on_part_end(self) -> None:
        part = self._part
        if part is None:
            raise _malformed()
        self._part = None
        if part.filename is None:
            _add_text(self.body, part.name, bytes(part.data))
            return
        # A file input left empty still sends a part, with no filename and no bytes.
        if part.discarded or (not part.filename and not part.size):
            return
        if self.body.dropped:  # a small file after the one that broke a limit
            self._drop(part, None)
            return
        try:
            self._count_file(part)
        except BodyError:
            if part.spool is not None:
                part.spool.close()
            raise
        self.body.files.append(
            UploadedFile(
                field=part.name,
                filename=part.filename,
                declared_type=part.declared_type,
                size=part.size,
                spool=part.spool if part.spool is not None else _spool(),
            )
        )
        part.spool = None

    def abandon(self) -> None:
        """Closes every file read so far, after an error."""
        self.body.close()
        if self._part is not None and self._part.spool is not None:
            self._part.spool.close()

    def _on_end(self) -> None:
        self._ended = True


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        raise _malformed()
    return int(value)


async def read_form(
    request: Request,
    *,
    max_fields: int = 100,
    max_field_bytes: int = 20_000,
    max_files: int,
    max_file_bytes: int,
    max_total_bytes: int,
    drop_oversize_files: bool = False,
) -> FormBody:
    """The form's fields and files, within the limits. With `drop_oversize_files`, a file over
    a file limit does not refuse the body: every file is dropped (named in `dropped`) and the
    text fields read on, so the form can be shown again with what was typed."""
    media_type, options = parse_options_header(request.headers.get("content-type"))
    reader: _UrlencodedReader | _MultipartReader
    if media_type == b"application/x-www-form-urlencoded":
        reader = _UrlencodedReader(max_fields=max_fields, max_field_bytes=max_field_bytes)
    elif media_type == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise _malformed()
        reader = _MultipartReader(
            boundary,
            max_fields=max_fields,
            max_field_bytes=max_field_bytes,
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            max_total_bytes=max_total_bytes,
            drop_oversize_files=drop_oversize_files,
        )
    else:
        raise BodyError(415, "unsupported_type")

    body_limit = max_total_bytes + TEXT_ROOM
    if drop_oversize_files and isinstance(reader, _MultipartReader):
        body_limit *= DISCARD_FACTOR  # only a multipart body has files to read past
    declared = _declared_length(request)
    if declared is not None and declared > body_limit:
        raise BodyError(413, "too_large")

    # Counted here as well as per part, because a chunked body declares no length up front.
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise BodyError(413, "too_large")
            if chunk:
                reader.write(chunk)
        return reader.finish()
    except FormParserError:
        reader.abandon()
        raise _malformed() from None
    except BaseException:
        reader.abandon()
        raise
