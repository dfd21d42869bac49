import hashlib
import io
import os
import struct
import time
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from app.services.files import CleanFile, EvidenceRejected, FileStore, clean_upload
from tests.factories import make_pdf

MAX_BYTES = 5_000_000
MAX_PIXELS = 4_000_000

PDF_BYTES = make_pdf()
SECRET = "Secret Person"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>' + SECRET.encode() + b"</rdf:RDF></x:xmpmeta>"


def clean(data: bytes, filename: str = "upload.bin", **limits: int) -> CleanFile:
    options = {"max_bytes": MAX_BYTES, "max_pixels": MAX_PIXELS, **limits}
    return clean_upload(data, filename, **options)


def rejection(data: bytes, filename: str = "upload.bin", **limits: int) -> str:
    with pytest.raises(EvidenceRejected) as caught:
        clean(data, filename, **limits)
    return caught.value.code


def two_colour(mode: str = "RGB") -> Image.Image:
    """40x20: red on the left half, blue on the right."""
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (20, 0, 40, 20))
    return image.convert(mode)


def telltale_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TelltaleCam"
    exif[ExifTags.Base.Model] = "Model 7"
    exif[ExifTags.Base.Artist] = SECRET
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (19.0, 25.0, 57.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (99.0, 7.0, 59.0)
    return exif


def icc_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def photo_jpeg(orientation: int = 1) -> bytes:
    return encode(
        two_colour(),
        "JPEG",
        exif=telltale_exif(orientation),
        icc_profile=icc_profile(),
        comment=SECRET,
        xmp=XMP,
        dpi=(300, 300),
    )


def png_chunks(data: bytes) -> list[bytes]:
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return chunks


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size and whose pixel data is garbage."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", b"not zlib at all")
        + png_chunk(b"IEND", b"")
    )


def jpeg_markers(data: bytes) -> list[int]:
    """The markers before the image data starts."""
    markers, offset = [], 2
    while data[offset] == 0xFF:
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan
            break
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    return markers


def webp_chunks(data: bytes) -> list[bytes]:
    chunks, offset = [], 12
    while offset < len(data):
        (length,) = struct.unpack("<I", data[offset + 4 : offset + 8])
        chunks.append(data[offset : offset + 4])
        offset += 8 + length + (length & 1)
    return chunks


def assert_no_telltales(content: bytes) -> None:
    for telltale in (b"TelltaleCam", b"Model 7", SECRET.encode(), b"Exif\x00\x00", b"ICC_PROFILE"):
        assert telltale not in content
    assert b"adobe:ns:meta" not in content


# --- type by content ------------------------------------------------------------------------


def test_pdf_is_accepted_unchanged() -> None:
    result = clean(PDF_BYTES, "informe.pdf")

    assert result.content == PDF_BYTES
    assert result.content_type == "application/pdf"
    assert result.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert result.size == len(PDF_BYTES)
    assert result.original_name == "informe.pdf"


@pytest.mark.parametrize("prefix", [b"\x00" * 10, b"<html><body>hola</body></html>", b" " * 1024])
def test_pdf_header_not_at_the_start_is_refused(prefix: bytes) -> None:
    # Readers tolerate a late header, but the bytes before it could make the file HTML too.
    assert rejection(prefix + PDF_BYTES) == "type"


def test_pdf_trailer_followed_by_some_bytes_is_accepted() -> None:
    data = PDF_BYTES + b"\n" * 2000

    assert clean(data).content == data


def test_pdf_without_trailer_near_the_end_is_corrupt() -> None:
    assert rejection(PDF_BYTES + b"\n" * 2100) == "corrupt"
    assert rejection(PDF_BYTES[:-8]) == "corrupt"


def test_type_comes_from_content_not_name() -> None:
    result = clean(encode(two_colour(), "PNG"), "contract.pdf")

    assert result.content_type == "image/png"
    assert result.original_name == "contract.pdf"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "a.svg"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "a.png"),
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "a.pdf"),
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200 + b"%%EOF", "invoice.pdf"),
        (b"MZ\x90\x00" + b"\x00" * 100, "scan.pdf"),
        (b"PK\x03\x04" + b"\x00" * 100, "docs.pdf"),
        (b"just some text\n", "notes.txt"),
    ],
)
def test_other_content_is_refused_as_type(data: bytes, filename: str) -> None:
    assert rejection(data, filename) == "type"


def test_gif_is_refused_as_type() -> None:
    assert rejection(encode(two_colour("P"), "GIF"), "photo.jpg") == "type"


def test_bmp_is_refused_as_type() -> None:
    assert rejection(encode(two_colour(), "BMP"), "photo.png") == "type"


# --- size -----------------------------------------------------------------------------------


def test_empty_file_is_refused() -> None:
    with pytest.raises(EvidenceRejected) as caught:
        clean(b"", "C:\\fakepath\\vacío.pdf")

    assert caught.value.code == "empty"
    assert caught.value.filename == "vacío.pdf"


def test_file_at_the_limit_is_accepted_and_one_byte_more_is_refused() -> None:
    data = PDF_BYTES + b" " * 100

    assert clean(data, max_bytes=len(data)).size == len(data)
    assert rejection(data + b" ", max_bytes=len(data)) == "too_large"


# --- images ---------------------------------------------------------------------------------


def test_jpeg_loses_exif_gps_icc_xmp_and_comment() -> None:
    original = photo_jpeg()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif()[ExifTags.Base.Make] == "TelltaleCam"  # the fixture carries it

    result = clean(original, "foto.jpg")

    assert result.content_type == "image/jpeg"
    assert_no_telltales(result.content)
    # Only JFIF, quantisation and Huffman tables, frame and scan headers: no APPn beyond APP0.
    assert set(jpeg_markers(result.content)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xDD, 0xDA}
    with Image.open(io.BytesIO(result.content)) as after:
        assert len(after.getexif()) == 0
        assert not after.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        for key in ("exif", "icc_profile", "xmp", "comment", "dpi"):
            assert key not in after.info
        assert after.format == "JPEG"
        assert after.mode == "RGB"


def test_jpeg_orientation_is_applied() -> None:
    # Orientation 6: the camera was turned, the picture must be rotated 90° clockwise.
    result = clean(photo_jpeg(orientation=6), "foto.jpg")

    with Image.open(io.BytesIO(result.content)) as after:
        assert after.size == (20, 40)
        top = after.convert("RGB").getpixel((10, 5))
        bottom = after.convert("RGB").getpixel((10, 35))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60  # red, which was on the left
    assert bottom[2] > 200 and bottom[0] < 60


def test_jpeg_without_orientation_keeps_its_shape() -> None:
    result = clean(photo_jpeg(orientation=1))

    with Image.open(io.BytesIO(result.content)) as after:
        assert after.size == (40, 20)


def test_cmyk_jpeg_becomes_rgb() -> None:
    result = clean(encode(two_colour("CMYK"), "JPEG"))

    with Image.open(io.BytesIO(result.content)) as after:
        assert after.mode == "RGB"


def test_greyscale_jpeg_stays_greyscale() -> None:
    result = clean(encode(two_colour("L"), "JPEG"))

    with Image.open(io.BytesIO(result.content)) as after:
        assert after.mode == "L"


def test_png_loses_text_chunks_exif_and_icc() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", SECRET)
    info.add_text("Comment", SECRET, zip=True)
    info.add_itxt("Description", SECRET, lang="es")
    original = encode(
        two_colour(), "PNG", pnginfo=info, exif=telltale_exif(), icc_profile=icc_profile()
    )
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunks(original))

    result = clean(original, "captura.png")

    assert result.content_type == "image/png"
    assert set(png_chunks(result.content)) == {b"IHDR", b"IDAT", b"IEND"}
    assert_no_telltales(result.content)
    with Image.open(io.BytesIO(result.content)) as after:
        assert after.info == {}
        assert len(after.getexif()) == 0
        assert after.size == (40, 20)


def test_png_orientation_is_applied() -> None:
    result = clean(encode(two_colour(), "PNG", exif=telltale_exif(orientation=8)))

    with Image.open(io.BytesIO(result.content)) as after:
        assert after.size == (20, 40)
        # Orientation 8: rotated 90° anticlockwise, so the left (red) half ends at the bottom.
        assert after.getpixel((10, 35)) == (255, 0, 0)


def test_png_keeps_transparency_and_pixels() -> None:
    image = Image.new("RGBA", (8, 8), (10, 20, 30, 0))
    image.putpixel((3, 3), (200, 100, 50, 128))

    result = clean(encode(image, "PNG"))

    with Image.open(io.BytesIO(result.content)) as after:
        assert after.mode == "RGBA"
        assert after.getpixel((3, 3)) == (200, 100, 50, 128)
        assert after.getpixel((0, 0)) == (10, 20, 30, 0)


def test_palette_png_with_transparency_becomes_rgba() -> None:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((1, 1), 1)

    result = clean(encode(image, "PNG", transparency=0))

    with Image.open(io.BytesIO(result.content)) as after:
        assert after.mode == "RGBA"
        assert after.getpixel((0, 0))[3] == 0  # type: ignore[index]  # RGBA pixels are tuples
        assert after.getpixel((1, 1)) == (255, 0, 0, 255)
        assert "transparency" not in after.info


def test_sixteen_bit_greyscale_png_is_scaled_not_clipped() -> None:
    image = Image.new("I;16", (4, 4), 32768)

    result = clean(encode(image, "PNG"))

    with Image.open(io.BytesIO(result.content)) as after:
        assert after.mode == "L"
        assert after.getpixel((0, 0)) == 128


def test_webp_loses_exif_xmp_and_icc() -> None:
    original = encode(
        two_colour(), "WEBP", exif=telltale_exif(), xmp=XMP, icc_profile=icc_profile()
    )
    assert {b"EXIF", b"XMP ", b"ICCP"} <= set(webp_chunks(original))

    result = clean(original, "foto.webp")

    assert result.content_type == "image/webp"
    assert not {b"EXIF", b"XMP ", b"ICCP"} & set(webp_chunks(result.content))
    assert_no_telltales(result.content)
    with Image.open(io.BytesIO(result.content)) as after:
        assert len(after.getexif()) == 0
        assert after.size == (40, 20)


def test_webp_with_alpha_keeps_alpha() -> None:
    image = Image.new("RGBA", (8, 8), (10, 20, 30, 0))
    image.paste((200, 100, 50, 255), (0, 0, 4, 8))

    result = clean(encode(image, "WEBP", lossless=True))

    with Image.open(io.BytesIO(result.content)) as after:
        assert after.mode == "RGBA"
        assert after.getpixel((6, 6))[3] == 0  # type: ignore[index]  # RGBA pixels are tuples


def test_hash_and_size_are_of_the_cleaned_content() -> None:
    original = photo_jpeg()

    result = clean(original)

    assert result.content != original
    assert result.sha256 == hashlib.sha256(result.content).hexdigest()
    assert result.size == len(result.content)


def test_cleaning_is_deterministic() -> None:
    assert clean(photo_jpeg()).sha256 == clean(photo_jpeg()).sha256


# --- broken and hostile images --------------------------------------------------------------


def test_truncated_jpeg_is_corrupt() -> None:
    data = encode(Image.effect_noise((200, 200), 64).convert("RGB"), "JPEG")

    assert rejection(data[: len(data) // 2], "foto.jpg") == "corrupt"


def test_jpeg_magic_with_garbage_is_corrupt() -> None:
    assert rejection(b"\xff\xd8\xff" + b"garbage" * 50) == "corrupt"


def test_truncated_png_is_corrupt() -> None:
    data = encode(Image.effect_noise((200, 200), 64), "PNG")

    assert rejection(data[: len(data) // 2]) == "corrupt"


def test_png_with_broken_pixel_data_is_corrupt() -> None:
    assert rejection(png_header_only(10, 10)) == "corrupt"


def test_webp_with_broken_data_is_corrupt() -> None:
    data = encode(two_colour(), "WEBP")

    assert rejection(data[:40] + b"\x00" * 40) == "corrupt"
    assert rejection(b"RIFF\x10\x00\x00\x00WEBPJUNK" + b"\x00" * 30) == "corrupt"


def test_pixels_at_the_limit_are_accepted_and_one_more_is_refused() -> None:
    data = encode(Image.new("L", (10, 10)), "PNG")

    assert clean(data, max_pixels=100).content_type == "image/png"
    assert rejection(data, max_pixels=99) == "dimensions"


def test_large_dimensions_are_refused_before_decoding() -> None:
    # The pixel data is garbage: had it been decoded, the answer would be "corrupt".
    assert rejection(png_header_only(5000, 5000), max_pixels=1_000_000) == "dimensions"


def test_compressed_one_bit_bomb_is_refused() -> None:
    width = height = 30_000
    rows = zlib.compressobj(9)
    blank_rows = (b"\x00" + bytes(width // 8)) * 1000
    idat = b"".join(rows.compress(blank_rows) for _ in range(height // 1000)) + rows.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )
    assert len(bomb) < 200_000

    assert rejection(bomb, "bomb.png", max_pixels=10**10) == "dimensions"


def test_pillow_bomb_warning_is_refused_not_leaked(recwarn: pytest.WarningsRecorder) -> None:
    # Over Pillow's warning threshold but under ours: Pillow's warning must still stop it.
    side = 10_000
    assert Image.MAX_IMAGE_PIXELS is not None
    assert Image.MAX_IMAGE_PIXELS < side * side < 2 * Image.MAX_IMAGE_PIXELS

    assert rejection(png_header_only(side, side), max_pixels=10**10) == "dimensions"
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_webp_canvas_is_checked_before_pillow_allocates_it() -> None:
    # A VP8X header claiming 10000x10000 and nothing behind it that decodes.
    vp8x = struct.pack("<I", 0) + (9999).to_bytes(3, "little") + (9999).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x + b"\x00" * 16
    data = b"RIFF" + struct.pack("<I", len(body)) + body

    assert rejection(data, max_pixels=1_000_000) == "dimensions"


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("C:\\fakepath\\foto.pdf", "foto.pdf"),
        ("../../etc/informe.pdf", "informe.pdf"),
        ("Jose\u0301.pdf", "José.pdf"),
        ("a\x00b\x1fc\x7f.pdf", "abc.pdf"),
        ("  espacios.pdf \t", "espacios.pdf"),
        ("report\u202efdp.exe", "reportfdp.exe"),
        ("line\u2028break.pdf", "linebreak.pdf"),
        ("", "file"),
        ("folder/", "file"),
        ("..", "file"),
        ("\x00\x01", "file"),
    ],
)
def test_original_name_is_cleaned(sent: str, kept: str) -> None:
    assert clean(PDF_BYTES, sent).original_name == kept


def test_long_original_name_is_cut_keeping_the_extension() -> None:
    name = clean(PDF_BYTES, "a" * 300 + ".pdf").original_name

    assert len(name) == 200
    assert name.endswith("a.pdf")


def test_long_original_name_without_extension_is_cut() -> None:
    assert clean(PDF_BYTES, "b" * 300).original_name == "b" * 200


# --- storage --------------------------------------------------------------------------------


def stored_file(content: bytes) -> CleanFile:
    return CleanFile(
        content=content,
        content_type="application/pdf",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        original_name="x.pdf",
    )


def age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_put_stores_by_hash_and_leaves_no_temp(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    file = stored_file(PDF_BYTES)

    created = store.put(file)

    sha = file.sha256
    assert created is True
    assert store.path_for(sha) == tmp_path / sha[:2] / sha[2:4] / sha
    assert store.path_for(sha).read_bytes() == PDF_BYTES
    assert list((tmp_path / "tmp").iterdir()) == []


def test_put_twice_reports_that_the_content_existed(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    file = stored_file(PDF_BYTES)

    assert store.put(file) is True
    assert store.put(file) is False
    assert store.path_for(file.sha256).read_bytes() == PDF_BYTES


def test_put_syncs_the_file_and_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    file = stored_file(PDF_BYTES)

    FileStore(tmp_path).put(file)

    target = FileStore(tmp_path).path_for(file.sha256)
    assert any(path.startswith(str(tmp_path / "tmp")) for path in synced)  # the data
    assert str(target.parent) in synced  # the new name


def test_put_refuses_content_that_does_not_match_its_hash(tmp_path: Path) -> None:
    forged = CleanFile(
        content=b"other", content_type="application/pdf", sha256="a" * 64, size=5, original_name="x"
    )

    with pytest.raises(ValueError):
        FileStore(tmp_path).put(forged)
    assert not (tmp_path / "aa").exists()


@pytest.mark.parametrize("bad", ["../" + "a" * 61, "A" * 64, "a" * 63, "g" * 64, "a" * 65, ""])
def test_path_for_refuses_what_is_not_a_sha256(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        FileStore(tmp_path).path_for(bad)


def test_remove_deletes_and_tolerates_missing(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    file = stored_file(PDF_BYTES)
    store.put(file)

    store.remove(file.sha256)
    store.remove(file.sha256)

    assert not store.path_for(file.sha256).exists()


def test_sweep_removes_only_old_unreferenced_files_and_old_temps(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    old_orphan, old_kept, new_orphan = (stored_file(b"%d" % i) for i in range(3))
    for file in (old_orphan, old_kept, new_orphan):
        store.put(file)
    age(store.path_for(old_orphan.sha256), days=3)
    age(store.path_for(old_kept.sha256), days=3)
    old_temp, new_temp = tmp_path / "tmp" / "crashed.part", tmp_path / "tmp" / "writing.part"
    old_temp.write_bytes(b"half")
    new_temp.write_bytes(b"half")
    age(old_temp, days=3)
    stranger = tmp_path / "ab" / "cd" / "notes.txt"
    stranger.parent.mkdir(parents=True, exist_ok=True)
    stranger.write_text("not ours")
    misplaced = tmp_path / "aa" / "00" / ("a" * 64)
    misplaced.parent.mkdir(parents=True)
    misplaced.write_text("not where a hash lives")
    for path in (stranger, misplaced):
        age(path, days=3)
    asked: list[set[str]] = []

    def referenced(candidates: set[str]) -> set[str]:
        asked.append(set(candidates))
        return candidates & {old_kept.sha256}

    removed = store.sweep(referenced, older_than=timedelta(days=1))

    assert removed == [old_orphan.sha256]
    assert asked == [{old_orphan.sha256, old_kept.sha256}]
    assert not store.path_for(old_orphan.sha256).exists()
    assert store.path_for(old_kept.sha256).exists()
    assert store.path_for(new_orphan.sha256).exists()
    assert not old_temp.exists()
    assert new_temp.exists()
    assert stranger.exists()
    assert misplaced.exists()
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == ["writing.part"]


def test_sweep_spares_content_uploaded_again(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    file = stored_file(PDF_BYTES)
    store.put(file)
    age(store.path_for(file.sha256), days=3)

    assert store.put(file) is False  # the same evidence arrives again
    removed = store.sweep(lambda candidates: set(), older_than=timedelta(days=1))

    assert removed == []
    assert store.path_for(file.sha256).exists()


def test_sweep_spares_content_uploaded_while_it_runs(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    file = stored_file(PDF_BYTES)
    store.put(file)
    age(store.path_for(file.sha256), days=3)
    put_again: list[bool] = []

    def referenced(candidates: set[str]) -> set[str]:
        # The row for a new upload of the same content is not committed yet.
        put_again.append(store.put(file))
        return set()

    removed = store.sweep(referenced, older_than=timedelta(days=1))

    assert put_again == [False]
    assert removed == []
    assert store.path_for(file.sha256).read_bytes() == PDF_BYTES
    assert list((tmp_path / "tmp").iterdir()) == []


def test_sweep_on_an_empty_store_asks_nothing(tmp_path: Path) -> None:
    def referenced(candidates: set[str]) -> set[str]:
        raise AssertionError("no candidates, no question")

    assert FileStore(tmp_path / "store").sweep(referenced, older_than=timedelta(0)) == []
