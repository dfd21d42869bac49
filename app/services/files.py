"""Evidence uploads: what a file really is, a copy without metadata, PDFs without active content,
and storage by content hash."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import stat
import tempfile
import threading
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal, TypeGuard

import pikepdf
from PIL import Image, ImageOps

from app.i18n import N_

# What a PDF may not contain (see _pdf_risk): JavaScript, files inside it, actions that open
# programs, other files or addresses or send data, actions that run by themselves when it is
# opened, and a password that keeps everybody here from reading it.
PdfRisk = Literal["pdf_javascript", "pdf_embedded", "pdf_launch", "pdf_automatic", "pdf_encrypted"]
RejectionCode = Literal["empty", "too_large", "type", "corrupt", "dimensions"] | PdfRisk

# Why a PDF was refused, and what the person can do about it; %(name)s is the file's name.
PDF_MESSAGES: dict[str, str] = {
    "pdf_javascript": N_(
        "The PDF %(name)s contains JavaScript, which could run on the computers of the people who"
        " read it. Print it to a new PDF (“Save as PDF”) and send that file instead."
    ),
    "pdf_embedded": N_(
        "The PDF %(name)s has other files inside it. Send each of those files on its own, or"
        " print the PDF to a new one (“Save as PDF”) and send that."
    ),
    "pdf_launch": N_(
        "The PDF %(name)s contains actions that open programs or other files, or send data"
        " somewhere. Print it to a new PDF (“Save as PDF”) and send that file instead."
    ),
    "pdf_automatic": N_(
        "The PDF %(name)s does something by itself when it is opened (an automatic action)."
        " Print it to a new PDF (“Save as PDF”) and send that file instead."
    ),
    "pdf_encrypted": N_(
        "The PDF %(name)s is protected with a password, so nobody here could open it. Send it"
        " without the password."
    ),
}

PDF = "application/pdf"
_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

# Readers accept a PDF header anywhere in the first 1024 bytes (PDF 1.7, annex H.3, note 13),
# and the trailer must end near the end of the file.
_PDF_TRAILER_WINDOW = 2048

_MAX_NAME_CHARS = 200
_MAX_KEPT_SUFFIX = 16
# Bidirectional controls let "report\u202efdp.exe" display as "reportexe.pdf".
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})

# Pillow raises all of these for hostile or damaged input; any of them means "does not decode".
_DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
)

_SHA256 = re.compile(r"[0-9a-f]{64}")

# `warnings.catch_warnings` swaps the process-wide filter list and is not thread-safe before
# Python 3.14; sync handlers run in a thread pool, so our uploads take turns for the moment
# Pillow reads a header. Only this module's own use is serialised: the filter it adds only
# turns one Pillow warning into an error, which is harmless if another thread glimpses it.
_OPEN_LOCK = threading.Lock()


class EvidenceRejected(Exception):
    def __init__(self, code: RejectionCode, filename: str) -> None:
        super().__init__(f"{filename}: {code}")
        self.code: RejectionCode = code
        self.filename = filename


@dataclass(frozen=True)
class CleanFile:
    content: bytes
    content_type: str
    sha256: str
    size: int
    original_name: str


def clean_upload(
    data: bytes, filename: str, *, max_bytes: int, max_pixels: int, allow_pdf: bool = True
) -> CleanFile:
    """The file as we keep it, or EvidenceRejected saying why not. `allow_pdf=False` (photos)
    refuses a PDF as the wrong type before reading it."""
    name = _display_name(filename)
    if not data:
        raise EvidenceRejected("empty", name)
    if len(data) > max_bytes:
        raise EvidenceRejected("too_large", name)

    image_format = _image_format(data)
    if image_format is not None:
        content = _clean_image(data, image_format, max_pixels=max_pixels, name=name)
        content_type = _IMAGE_TYPES[image_format]
    elif data.startswith(b"%PDF-") and allow_pdf:
        # Readers accept the header anywhere in the first KB, but what comes before it could
        # make the file an HTML page too; no honest PDF needs that, so we refuse it.
        if b"%%EOF" not in data[-_PDF_TRAILER_WINDOW:]:
            raise EvidenceRejected("corrupt", name)  # a PDF cut short
        risk = _pdf_risk(data, name=name)
        if risk is not None:
            raise EvidenceRejected(risk, name)
        # Stored as sent once checked: a rewrite could change what the evidence shows, and
        # whoever sent a refused file can print it to a new PDF, which drops all of it.
        content = data
        content_type = PDF
    else:
        raise EvidenceRejected("type", name)

    return CleanFile(
        content=content,
        content_type=content_type,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        original_name=name,
    )


# -- PDFs ----------------------------------------------------------------------------------------
#
# Staff and judges open evidence PDFs in their own readers, so a PDF must not be able to do
# anything there but show pages. qpdf (through pikepdf) reads the file as a reader would, and we
# look where the PDF standard (ISO 32000, 12.6) lets a file act: the document's open action and
# additional actions, each page's and each annotation's, form fields, outline entries, the
# JavaScript and embedded-file name trees, XFA forms; plus every indirect object, for JavaScript
# or an embedded file anywhere. What qpdf cannot read we cannot check, so it is refused as damaged.

# Actions a click may run: moving within the document or to a web address, and the reader's own
# commands (next page, print). Any other kind, or one we do not know, is refused.
_CLICK_ACTIONS = frozenset(
    {"/GoTo", "/URI", "/Named", "/Thread", "/SetOCGState", "/Hide", "/Trans", "/GoTo3DView"}
)
# What may happen by itself, when the document or a page opens or closes: moving within it.
_AUTOMATIC_ACTIONS = frozenset({"/GoTo"})
# Actions that open a program or another file, or send the reader's data somewhere.
_LAUNCH_ACTIONS = frozenset(
    {"/Launch", "/GoToR", "/GoToE", "/SubmitForm", "/ImportData", "/RichMediaExecute"}
)
_ATTACHMENT_ANNOTATIONS = frozenset({"/FileAttachment", "/RichMedia"})
# Pages, annotations, fields, outline entries and actions one file may have before we stop and
# refuse it as damaged: far more than any document a person writes.
_PDF_BUDGET = 200_000


class _PdfTooLarge(Exception):
    pass


# qpdf's own errors, and what reading a hostile file's values may raise on the way.
_PDF_ERRORS: tuple[type[Exception], ...] = (pikepdf.PdfError, _PdfTooLarge, *_DECODE_ERRORS)


def _is_dict(value: object) -> TypeGuard[pikepdf.Object]:
    return isinstance(value, (pikepdf.Dictionary, pikepdf.Stream))


def _pdf_risk(data: bytes, *, name: str) -> PdfRisk | None:
    """What the PDF may not contain, the first found; EvidenceRejected("corrupt") if it cannot
    be read."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return _PdfScan(pdf).risk()
    except pikepdf.PasswordError:
        return "pdf_encrypted"
    except _PDF_ERRORS:
        raise EvidenceRejected("corrupt", name) from None


class _PdfScan:
    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.budget = _PDF_BUDGET
        self.seen: set[tuple[int, int]] = set()

    def risk(self) -> PdfRisk | None:
        return self._objects() or self._catalog() or self._pages()

    def _visit(self, value: pikepdf.Object) -> bool:
        """Counts one thing looked at; False for an indirect object already seen (a cycle)."""
        self.budget -= 1
        if self.budget < 0:
            raise _PdfTooLarge
        if value.is_indirect:
            if value.objgen in self.seen:
                return False
            self.seen.add(value.objgen)
        return True

    def _objects(self) -> PdfRisk | None:
        """JavaScript or an embedded file anywhere, even where nothing would run or show it."""
        for obj in self.pdf.objects:
            self.budget -= 1
            if self.budget < 0:
                raise _PdfTooLarge
            if not _is_dict(obj):
                continue
            keys = obj.keys()
            if "/JS" in keys or "/JavaScript" in keys or "/XFA" in keys:
                return "pdf_javascript"
            if "/EF" in keys or "/EmbeddedFiles" in keys or obj.get("/Type") == "/EmbeddedFile":
                return "pdf_embedded"
        return None

    def _catalog(self) -> PdfRisk | None:
        root = self.pdf.Root
        names = root.get("/Names")
        if _is_dict(names):
            if "/JavaScript" in names:
                return "pdf_javascript"
            if "/EmbeddedFiles" in names:
                return "pdf_embedded"
        if "/Collection" in root or "/AF" in root:  # a portfolio; files associated with it
            return "pdf_embedded"
        form = root.get("/AcroForm")
        if _is_dict(form):
            if "/XFA" in form:
                return "pdf_javascript"
            if risk := self._fields(form.get("/Fields")):
                return risk
        opening = root.get("/OpenAction")
        # An array (or a name) is a destination: the page and zoom the reader opens at.
        if _is_dict(opening) and (risk := self._action(opening, automatic=True)):
            return risk
        return self._triggers(root) or self._outline(root.get("/Outlines"))

    def _pages(self) -> PdfRisk | None:
        for page in self.pdf.pages:
            obj = page.obj
            self._visit(obj)
            if "/AF" in obj:
                return "pdf_embedded"
            if risk := self._triggers(obj):
                return risk
            annotations = obj.get("/Annots")
            if not isinstance(annotations, pikepdf.Array):
                continue
            for annotation in annotations:
                if not _is_dict(annotation) or not self._visit(annotation):
                    continue
                if annotation.get("/Subtype") in _ATTACHMENT_ANNOTATIONS or "/AF" in annotation:
                    return "pdf_embedded"
                if risk := self._triggers(annotation):
                    return risk
        return None

    def _triggers(self, obj: pikepdf.Object) -> PdfRisk | None:
        """An object's click action (/A) and its additional actions (/AA: on opening, closing,
        printing, focus...), which run by themselves."""
        click = obj.get("/A")
        if _is_dict(click) and (risk := self._action(click, automatic=False)):
            return risk
        additional = obj.get("/AA")
        if _is_dict(additional):
            for action in additional.values():
                if _is_dict(action) and (risk := self._action(action, automatic=True)):
                    return risk
        return None

    def _action(self, action: pikepdf.Object, *, automatic: bool) -> PdfRisk | None:
        """An action and those it chains (/Next)."""
        pending = [action]
        while pending:
            item = pending.pop()
            if isinstance(item, pikepdf.Array):
                pending.extend(item)
                continue
            if not _is_dict(item) or not self._visit(item):
                continue
            kind = str(item.get("/S", ""))
            if kind == "/JavaScript" or "/JS" in item:
                return "pdf_javascript"
            if kind in _LAUNCH_ACTIONS or kind not in _CLICK_ACTIONS:
                return "pdf_launch"
            if automatic and kind not in _AUTOMATIC_ACTIONS:
                return "pdf_automatic"
            following = item.get("/Next")
            if following is not None:
                pending.append(following)
        return None

    def _fields(self, fields: object) -> PdfRisk | None:
        pending = [fields]
        while pending:
            item = pending.pop()
            if isinstance(item, pikepdf.Array):
                pending.extend(item)
                continue
            if not _is_dict(item) or not self._visit(item):
                continue
            if risk := self._triggers(item):
                return risk
            kids = item.get("/Kids")
            if kids is not None:
                pending.append(kids)
        return None

    def _outline(self, outlines: object) -> PdfRisk | None:
        pending = [outlines]
        while pending:
            item = pending.pop()
            if not _is_dict(item) or not self._visit(item):
                continue
            if risk := self._triggers(item):
                return risk
            pending.extend(item.get(key) for key in ("/First", "/Next"))
        return None


def _display_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(
        ch
        for ch in name
        if unicodedata.category(ch) not in _DROPPED_CATEGORIES and ch not in _BIDI_CONTROLS
    ).strip()
    if len(name) > _MAX_NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        if dot and stem and len(suffix) <= _MAX_KEPT_SUFFIX:
            # Keep the extension, so the name still says what kind of file it was.
            name = stem[: _MAX_NAME_CHARS - len(suffix) - 1].rstrip() + "." + suffix
        else:
            name = name[:_MAX_NAME_CHARS].rstrip()
    # "." and ".." name no file of their own.
    return name if name.strip(".") else "file"


def _image_format(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _webp_canvas(data: bytes) -> tuple[int, int] | None:
    # Pillow's WebP reader allocates the whole canvas while opening the file, before we could
    # look at its size, so the size is read from the first chunk here.
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a" and len(data) >= 30:
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _check_pixels(size: tuple[int, int], *, max_pixels: int, name: str) -> None:
    width, height = size
    if width * height > max_pixels:
        raise EvidenceRejected("dimensions", name)


def _open_image(data: bytes, image_format: str) -> Image.Image:
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # Only reads the header; pixels are decoded by load().
        return Image.open(io.BytesIO(data), formats=[image_format])


def _clean_image(data: bytes, image_format: str, *, max_pixels: int, name: str) -> bytes:
    if image_format == "WEBP":
        canvas = _webp_canvas(data)
        if canvas is None:
            raise EvidenceRejected("corrupt", name)
        _check_pixels(canvas, max_pixels=max_pixels, name=name)
    try:
        with _open_image(data, image_format) as image:
            _check_pixels(image.size, max_pixels=max_pixels, name=name)
            image.load()
            pixels = _upright(image)
            pixels = _encodable(pixels, image_format)
            # A new image carries nothing over: no EXIF, XMP, ICC profile, text chunks or
            # comments, which Pillow's encoders would otherwise copy from `info`.
            bare = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise EvidenceRejected("dimensions", name) from None
    except _DECODE_ERRORS:
        raise EvidenceRejected("corrupt", name) from None

    out = io.BytesIO()
    if image_format == "JPEG":
        bare.save(out, format="JPEG", quality=90)
    elif image_format == "PNG":
        bare.save(out, format="PNG", optimize=True)
    else:
        bare.save(out, format="WEBP", quality=90)
    return out.getvalue()


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        # The pixels decoded; only the orientation tag is unreadable, and it goes with the rest.
        return image


def _encodable(image: Image.Image, image_format: str) -> Image.Image:
    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit greyscale: scale down, since converting straight to L clips everything to white.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    has_alpha = "transparency" in image.info or image.mode in {"RGBA", "LA", "PA", "RGBa", "La"}
    if image_format == "JPEG":
        target = "L" if image.mode in {"1", "L"} else "RGB"
    elif image_format == "PNG":
        if (image.mode in {"1", "L", "RGB"} and not has_alpha) or image.mode in {"LA", "RGBA"}:
            target = image.mode
        else:
            target = "RGBA" if has_alpha else "RGB"
    else:
        target = "RGBA" if has_alpha else "RGB"
    return image if image.mode == target else image.convert(target)


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, file: CleanFile) -> bool:
        if hashlib.sha256(file.content).hexdigest() != file.sha256:
            raise ValueError("the content does not match its hash")
        target = self.path_for(file.sha256)
        try:
            # A sweep may be deciding about this very file; a fresh mtime makes it too young.
            os.utime(target)
        except FileNotFoundError:
            pass
        else:
            return False

        _make_dirs(self._tmp)
        _make_dirs(target.parent)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=file.sha256[:16], suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(file.content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return True

    def remove(self, sha256: str) -> None:
        self.path_for(sha256).unlink(missing_ok=True)

    def sweep(
        self, referenced: Callable[[set[str]], set[str]], *, older_than: timedelta
    ) -> list[str]:
        cutoff = time.time() - older_than.total_seconds()
        for path in self._files_in(self._tmp):
            if _mtime(path) < cutoff:
                path.unlink(missing_ok=True)

        candidates = {path.name for path in self._stored() if _mtime(path) < cutoff}
        if not candidates:
            return []
        unreferenced = candidates - referenced(set(candidates))

        _make_dirs(self._tmp)
        removed = []
        for sha256 in sorted(unreferenced):
            # Moved aside first, so a put() of the same content either finds no file and writes
            # one, or refreshed the mtime before the move and gets its file back below.
            doomed = self._tmp / f"{sha256}.sweep"
            try:
                os.replace(self.path_for(sha256), doomed)
            except FileNotFoundError:
                continue
            try:
                refreshed = doomed.lstat().st_mtime >= cutoff
            except FileNotFoundError:
                continue  # another sweep cleared it as an old temp file
            if refreshed:
                os.replace(doomed, self.path_for(sha256))
                continue
            doomed.unlink(missing_ok=True)
            removed.append(sha256)
        return removed

    def _stored(self) -> Iterator[Path]:
        for path in self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            name = path.name
            if (
                _SHA256.fullmatch(name)
                and path.parent.name == name[2:4]
                and path.parent.parent.name == name[:2]
                and _is_file(path)
            ):
                yield path

    @staticmethod
    def _files_in(directory: Path) -> Iterator[Path]:
        if directory.is_dir():
            yield from (path for path in directory.iterdir() if _is_file(path))


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        # Gone already: as good as new, so nobody tries to remove it.
        return float("inf")


def _make_dirs(path: Path) -> None:
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue  # a concurrent put() made it, and syncs its parent
        # The new entry must survive a crash as well as the file that will live in it.
        _fsync_dir(directory.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HeldFiles:
    """The evidence files of a refused submission, kept for its form until it is sent again
    (issue 21): under the form's key (its first token's nonce, signed and unguessable; only its
    hash names the folder), written and synced like stored files, and gone once the form has
    expired (`max_age`, the form token's) or was stored."""

    MANIFEST = "files.json"

    def __init__(self, root: Path, form_key: str, *, max_age: timedelta) -> None:
        self.dir = root / "held" / hashlib.sha256(form_key.encode()).hexdigest()[:40]
        self.max_age = max_age

    def files(self) -> list[CleanFile]:
        """The files kept for this form, in the order they were attached; none once expired."""
        try:
            manifest = self.dir / self.MANIFEST
            if time.time() - manifest.stat().st_mtime > self.max_age.total_seconds():
                self.clear()
                return []
            entries = json.loads(manifest.read_text("utf-8"))
            kept = []
            for entry in entries:
                content = (self.dir / entry["sha256"]).read_bytes()
                kept.append(CleanFile(content=content, **entry))
            return kept
        except (OSError, ValueError, KeyError, TypeError):
            return []  # nothing kept, or a leftover of a crash: as if nothing was kept

    def keep(self, files: list[CleanFile]) -> None:
        """Keeps these files (all of them: the ones kept before and the new ones)."""
        if not files:
            self.clear()
            return
        _make_dirs(self.dir)
        for file in files:
            target = self.dir / file.sha256
            if not target.exists():
                _write_synced(target, file.content)
        entries = [
            {
                "sha256": f.sha256,
                "content_type": f.content_type,
                "size": f.size,
                "original_name": f.original_name,
            }
            for f in files
        ]
        _write_synced(self.dir / self.MANIFEST, json.dumps(entries).encode())
        _fsync_dir(self.dir)
        for path in self.dir.iterdir():
            if path.name not in {self.MANIFEST, *(f.sha256 for f in files)}:
                path.unlink(missing_ok=True)

    def clear(self) -> None:
        _remove_tree(self.dir)


def _write_synced(target: Path, content: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _remove_tree(directory: Path) -> None:
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # a file added meanwhile: the next sweep takes it
        directory.rmdir()


def sweep_held_files(root: Path, *, older_than: timedelta) -> int:
    """Removes the files kept for forms that have expired (personal data: not kept longer)."""
    held = root / "held"
    if not held.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for directory in held.iterdir():
        if directory.is_dir() and _mtime(directory) < cutoff:
            manifest = directory / HeldFiles.MANIFEST
            if _mtime(manifest) == float("inf") or _mtime(manifest) < cutoff:
                _remove_tree(directory)
                removed += 1
    return removed
