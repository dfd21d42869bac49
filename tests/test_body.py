import asyncio
import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message

from app.web.body import TEXT_ROOM, BodyError, FormBody, read_form

BOUNDARY = "----formboundary7MA4YWxkTrZu0gW"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
URLENCODED = "application/x-www-form-urlencoded"

LIMITS: dict[str, int] = {
    "max_fields": 5,
    "max_field_bytes": 50,
    "max_files": 2,
    "max_file_bytes": 100,
    "max_total_bytes": 150,
}


def make_client(**overrides: int) -> TestClient:
    limits = {**LIMITS, **overrides}

    async def endpoint(request: Request) -> JSONResponse:
        try:
            body = await read_form(request, **limits)
        except BodyError as error:
            return JSONResponse({"code": error.code}, status_code=error.status)
        try:
            return _echo(body)
        finally:
            body.close()

    return TestClient(Starlette(routes=[Route("/", endpoint, methods=["POST"])]))


def _echo(body: FormBody) -> JSONResponse:
    return JSONResponse(
        {
            "fields": body.fields,
            "files": [
                {
                    "field": f.field,
                    "filename": f.filename,
                    "type": f.declared_type,
                    "data": f.data.decode("latin-1"),
                }
                for f in body.files
            ],
            "bad_encoding": sorted(body.bad_encoding),
        }
    )


@pytest.fixture
def client() -> TestClient:
    return make_client()


def text_part(name: bytes | str, value: bytes | str) -> bytes:
    name_b = name.encode() if isinstance(name, str) else name
    value_b = value.encode() if isinstance(value, str) else value
    return b'Content-Disposition: form-data; name="' + name_b + b'"\r\n\r\n' + value_b


def file_part(name: str, filename: str, data: bytes, content_type: str = "image/png") -> bytes:
    return (
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode() + data


def multipart(*parts: bytes) -> bytes:
    delimiter = f"--{BOUNDARY}".encode()
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts)
    return body + delimiter + b"--\r\n"


def post(client: TestClient, content: bytes, content_type: str = MULTIPART) -> Any:
    return client.post("/", content=content, headers={"Content-Type": content_type})


# --- urlencoded -----------------------------------------------------------------------------


def test_urlencoded_keeps_duplicates_in_order(client: TestClient) -> None:
    response = post(client, b"tag=a&name=Ana&tag=b", URLENCODED)

    assert response.status_code == 200
    assert response.json()["fields"] == [["tag", "a"], ["name", "Ana"], ["tag", "b"]]


def test_urlencoded_plus_is_a_space_and_percent_plus_is_a_plus(client: TestClient) -> None:
    response = post(client, b"q=a+b%2Bc&first+n%C3%A1me=Jos%C3%A9", URLENCODED)

    assert response.json()["fields"] == [["q", "a b+c"], ["first náme", "José"]]
    assert response.json()["bad_encoding"] == []


def test_urlencoded_invalid_utf8_value_is_flagged_and_replaced(client: TestClient) -> None:
    response = post(client, b"ok=fine&bad=caf%E9", URLENCODED)

    assert response.status_code == 200
    assert response.json()["fields"] == [["ok", "fine"], ["bad", "caf\ufffd"]]
    assert response.json()["bad_encoding"] == ["bad"]


def test_urlencoded_invalid_utf8_name_is_malformed(client: TestClient) -> None:
    response = post(client, b"%FF=1", URLENCODED)

    assert response.status_code == 400
    assert response.json() == {"code": "malformed"}


def test_urlencoded_content_type_with_charset_is_accepted(client: TestClient) -> None:
    response = post(client, b"a=1", "application/x-www-form-urlencoded; charset=UTF-8")

    assert response.json()["fields"] == [["a", "1"]]


def test_urlencoded_empty_body_gives_no_fields(client: TestClient) -> None:
    response = post(client, b"", URLENCODED)

    assert response.status_code == 200
    assert response.json()["fields"] == []


def test_urlencoded_fields_at_the_limit_are_accepted(client: TestClient) -> None:
    response = post(client, b"&".join(b"f=%d" % i for i in range(5)), URLENCODED)

    assert response.status_code == 200
    assert len(response.json()["fields"]) == 5


def test_urlencoded_too_many_fields_is_refused(client: TestClient) -> None:
    response = post(client, b"&".join(b"f=%d" % i for i in range(6)), URLENCODED)

    assert response.status_code == 422
    assert response.json() == {"code": "too_many_fields"}


def test_urlencoded_field_limit_counts_decoded_bytes(client: TestClient) -> None:
    # 50 bytes once decoded, 150 on the wire.
    at_limit = post(client, b"a=" + b"%41" * 50, URLENCODED)
    over = post(client, b"a=" + b"%41" * 51, URLENCODED)

    assert at_limit.json()["fields"] == [["a", "A" * 50]]
    assert over.status_code == 422
    assert over.json() == {"code": "field_too_large"}


def test_urlencoded_huge_raw_field_is_refused(client: TestClient) -> None:
    response = post(client, b"a=" + b"x" * 10_000, URLENCODED)

    assert response.status_code == 422
    assert response.json() == {"code": "field_too_large"}


# --- content type and length ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "multipart/mixed; boundary=x"]
)
def test_other_content_types_are_unsupported(client: TestClient, content_type: str) -> None:
    response = post(client, b"a=1", content_type)

    assert response.status_code == 415
    assert response.json() == {"code": "unsupported_type"}


def test_missing_content_type_is_unsupported(client: TestClient) -> None:
    response = client.post("/", content=b"a=1")

    assert response.status_code == 415


def test_multipart_without_boundary_is_malformed(client: TestClient) -> None:
    response = post(client, multipart(text_part("a", "1")), "multipart/form-data")

    assert response.status_code == 400
    assert response.json() == {"code": "malformed"}


def test_declared_length_over_the_limit_is_refused_unread(client: TestClient) -> None:
    consumed: list[bytes] = []

    def stream() -> Iterator[bytes]:
        consumed.append(b"started")
        yield b"x" * 10

    too_long = LIMITS["max_total_bytes"] + TEXT_ROOM + 1
    response = client.post(
        "/",
        content=stream(),
        headers={"Content-Type": MULTIPART, "Content-Length": str(too_long)},
    )

    assert response.status_code == 413
    assert response.json() == {"code": "too_large"}
    assert consumed == []


def test_chunked_body_over_the_limit_is_refused(client: TestClient) -> None:
    def stream() -> Iterator[bytes]:
        delimiter = f"--{BOUNDARY}\r\n".encode()
        yield delimiter + text_part("a", "")
        for _ in range(20):
            yield b"x" * (64 * 1024)

    response = client.post("/", content=stream(), headers={"Content-Type": MULTIPART})

    assert response.status_code == 413
    assert response.json() == {"code": "too_large"}


def test_bad_content_length_is_malformed(client: TestClient) -> None:
    response = client.post(
        "/", content=b"a=1", headers={"Content-Type": URLENCODED, "Content-Length": "-3"}
    )

    assert response.status_code == 400


# --- multipart ------------------------------------------------------------------------------


def test_multipart_fields_and_files_in_order_with_duplicates(client: TestClient) -> None:
    body = multipart(
        text_part("tag", "a"),
        file_part("evidence", "one.png", b"\x89PNG1"),
        text_part("tag", "b"),
        file_part("evidence", "two.pdf", b"%PDF-2", "application/pdf"),
    )

    response = post(client, body)

    assert response.status_code == 200
    assert response.json() == {
        "fields": [["tag", "a"], ["tag", "b"]],
        "files": [
            {"field": "evidence", "filename": "one.png", "type": "image/png", "data": "\x89PNG1"},
            {
                "field": "evidence",
                "filename": "two.pdf",
                "type": "application/pdf",
                "data": "%PDF-2",
            },
        ],
        "bad_encoding": [],
    }


def test_multipart_from_a_real_client_encoder(client: TestClient) -> None:
    response = client.post(
        "/",
        data={"name": "Ana María", "note": "línea 1\r\nlínea 2"},
        files=[("evidence", ("foto.png", b"pixels", "image/png"))],
    )

    assert response.json()["fields"] == [["name", "Ana María"], ["note", "línea 1\r\nlínea 2"]]
    assert response.json()["files"][0]["filename"] == "foto.png"
    assert response.json()["files"][0]["data"] == "pixels"


def test_multipart_field_names_in_every_disposition_spelling() -> None:
    body = multipart(
        text_part("plain", "1"),
        text_part(b"accented \xc3\xa1", "2"),
        # Quoting, extra parameters and other spellings take the general parser.
        b'Content-Disposition: form-data; name="say \\"hi\\""\r\n\r\n3',
        b"Content-Disposition: form-data; name=bare\r\n\r\n4",
        b'Content-Disposition: Form-Data;name="spaced" \r\n\r\n5',
        b'Content-Disposition: form-data; name="x"; extra="y"\r\n\r\n6',
    )

    response = post(make_client(max_fields=6), body)

    assert response.status_code == 200
    assert response.json()["fields"] == [
        ["plain", "1"],
        ["accented á", "2"],
        ['say "hi"', "3"],
        ["bare", "4"],
        ["spaced", "5"],
        ["x", "6"],
    ]


def test_multipart_part_that_is_not_form_data_is_malformed(client: TestClient) -> None:
    response = post(client, multipart(b'Content-Disposition: attachment; name="a"\r\n\r\n1'))

    assert response.status_code == 400


def test_multipart_keeps_plus_and_percent_literally(client: TestClient) -> None:
    response = post(client, multipart(text_part("q", "a+b%20c")))

    assert response.json()["fields"] == [["q", "a+b%20c"]]


def test_multipart_empty_file_part_is_dropped(client: TestClient) -> None:
    body = multipart(
        text_part("name", "Ana"), file_part("evidence", "", b"", "application/octet-stream")
    )

    response = post(client, body)

    assert response.status_code == 200
    assert response.json()["fields"] == [["name", "Ana"]]
    assert response.json()["files"] == []


def test_multipart_named_empty_file_is_kept(client: TestClient) -> None:
    response = post(client, multipart(file_part("evidence", "blank.pdf", b"")))

    assert response.json()["files"][0]["filename"] == "blank.pdf"
    assert response.json()["files"][0]["data"] == ""


def test_multipart_empty_file_parts_do_not_count_towards_max_files(client: TestClient) -> None:
    body = multipart(
        file_part("e", "", b""),
        file_part("e", "a.png", b"a"),
        file_part("e", "", b""),
        file_part("e", "b.png", b"b"),
        file_part("e", "", b""),
    )

    response = post(client, body)

    assert response.status_code == 200
    assert [f["filename"] for f in response.json()["files"]] == ["a.png", "b.png"]


def test_multipart_too_many_files_is_refused(client: TestClient) -> None:
    body = multipart(*(file_part("e", f"{i}.png", b"x") for i in range(3)))

    response = post(client, body)

    assert response.status_code == 422
    assert response.json() == {"code": "too_many_files"}


def test_multipart_file_at_the_limit_is_accepted(client: TestClient) -> None:
    response = post(client, multipart(file_part("e", "a.png", b"x" * 100)))

    assert response.status_code == 200
    assert len(response.json()["files"][0]["data"]) == 100


def test_multipart_file_one_byte_over_the_limit_is_refused(client: TestClient) -> None:
    response = post(client, multipart(file_part("e", "a.png", b"x" * 101)))

    assert response.status_code == 413
    assert response.json() == {"code": "file_too_large"}


def test_multipart_files_over_the_total_are_refused(client: TestClient) -> None:
    body = multipart(file_part("e", "a.png", b"x" * 100), file_part("e", "b.png", b"y" * 51))

    response = post(client, body)

    assert response.status_code == 413
    assert response.json() == {"code": "too_large"}


def test_multipart_files_at_the_total_are_accepted(client: TestClient) -> None:
    body = multipart(file_part("e", "a.png", b"x" * 100), file_part("e", "b.png", b"y" * 50))

    assert post(client, body).status_code == 200


def test_multipart_too_many_fields_is_refused(client: TestClient) -> None:
    ok = post(client, multipart(*(text_part(f"f{i}", "") for i in range(5))))
    over = post(client, multipart(*(text_part(f"f{i}", "") for i in range(6))))

    assert ok.status_code == 200
    assert over.status_code == 422
    assert over.json() == {"code": "too_many_fields"}


def test_multipart_field_over_the_limit_is_refused(client: TestClient) -> None:
    ok = post(client, multipart(text_part("a", "x" * 50)))
    over = post(client, multipart(text_part("a", "x" * 51)))

    assert ok.json()["fields"] == [["a", "x" * 50]]
    assert over.status_code == 422
    assert over.json() == {"code": "field_too_large"}


def test_multipart_invalid_utf8_value_is_flagged(client: TestClient) -> None:
    response = post(client, multipart(text_part("a", "ok"), text_part("b", b"caf\xe9")))

    assert response.json()["fields"] == [["a", "ok"], ["b", "caf\ufffd"]]
    assert response.json()["bad_encoding"] == ["b"]


def test_multipart_invalid_utf8_name_is_malformed(client: TestClient) -> None:
    response = post(client, multipart(text_part(b"n\xff", "x")))

    assert response.status_code == 400
    assert response.json() == {"code": "malformed"}


def test_multipart_utf8_name_and_filename_are_decoded(client: TestClient) -> None:
    part = (
        'Content-Disposition: form-data; name="año"; filename="señal.png"\r\n'
        "Content-Type: image/png\r\n\r\nx"
    ).encode()

    response = post(client, multipart(part))

    assert response.json()["files"][0]["field"] == "año"
    assert response.json()["files"][0]["filename"] == "señal.png"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("C:\\Users\\ana\\Desktop\\foto.png", "foto.png"),
        ("../../etc/passwd", "passwd"),
        ("dir/sub\\mixed.png", "mixed.png"),
    ],
)
def test_multipart_filename_loses_its_path(client: TestClient, sent: str, kept: str) -> None:
    response = post(client, multipart(file_part("e", sent, b"x")))

    assert response.json()["files"][0]["filename"] == kept


def test_multipart_truncated_body_is_malformed(client: TestClient) -> None:
    body = multipart(text_part("a", "1"), file_part("e", "a.png", b"x" * 40))

    response = post(client, body[:-30])

    assert response.status_code == 400
    assert response.json() == {"code": "malformed"}


def test_multipart_without_closing_boundary_is_malformed(client: TestClient) -> None:
    body = multipart(text_part("a", "1"))

    response = post(client, body[: body.rindex(b"--" + BOUNDARY.encode())])

    assert response.status_code == 400


def test_multipart_empty_body_is_malformed(client: TestClient) -> None:
    assert post(client, b"").status_code == 400


def test_multipart_with_another_boundary_is_malformed(client: TestClient) -> None:
    body = multipart(text_part("a", "1")).replace(BOUNDARY.encode(), b"somethingelse")

    response = post(client, body)

    assert response.status_code == 400


@pytest.mark.parametrize(
    "part",
    [
        b'Content Disposition: form-data; name="a"\r\n\r\nx',  # space in a header name
        b"Content-Type: text/plain\r\n\r\nx",  # no Content-Disposition
        b'Content-Disposition: attachment; name="a"\r\n\r\nx',
        b"Content-Disposition: form-data\r\n\r\nx",  # no name
    ],
)
def test_multipart_header_garbage_is_malformed(client: TestClient, part: bytes) -> None:
    response = post(client, multipart(part))

    assert response.status_code == 400
    assert response.json() == {"code": "malformed"}


def test_multipart_closing_boundary_only_gives_an_empty_form(client: TestClient) -> None:
    response = post(client, multipart())

    assert response.status_code == 200
    assert response.json() == {"fields": [], "files": [], "bad_encoding": []}


# --- streaming ------------------------------------------------------------------------------


def read_chunks(
    chunks: list[bytes], headers: dict[str, str], **limits: int
) -> tuple[FormBody | BodyError, int]:
    """Runs read_form on a body arriving in `chunks`; returns the outcome and the chunks pulled."""
    pulled = 0

    async def receive() -> Message:
        nonlocal pulled
        if pulled == len(chunks):
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": True}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }

    async def run() -> FormBody | BodyError:
        try:
            return await read_form(Request(scope, receive), **{**LIMITS, **limits})
        except BodyError as error:
            return error

    return asyncio.run(run()), pulled


def test_streamed_file_is_refused_as_soon_as_it_passes_the_limit() -> None:
    head = f"--{BOUNDARY}\r\n".encode() + file_part("e", "big.png", b"")
    chunks = [head] + [b"x" * 1024] * 50

    outcome, pulled = read_chunks(
        chunks, {"Content-Type": MULTIPART}, max_file_bytes=3000, max_total_bytes=10**6
    )

    assert isinstance(outcome, BodyError)
    assert (outcome.status, outcome.code) == (413, "file_too_large")
    assert pulled == 4  # the header and three kilobytes, not the other 47


def test_streamed_chunked_body_stops_at_the_total_limit() -> None:
    chunks = [b"a=" + b"x" * 1022] + [b"x" * 1024] * 2000

    outcome, pulled = read_chunks(
        chunks, {"Content-Type": URLENCODED}, max_field_bytes=10**7, max_total_bytes=0
    )

    assert isinstance(outcome, BodyError)
    assert (outcome.status, outcome.code) == (413, "too_large")
    assert pulled == TEXT_ROOM // 1024 + 1


def test_streamed_multipart_split_anywhere_parses_the_same() -> None:
    body = multipart(
        text_part("a", "uno"),
        file_part("e", "a.png", b"\r\n--" + b"y" * 30),
        text_part("b", "dos+tres"),
    )

    for size in (1, 2, 7, 64):
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        outcome, _ = read_chunks(chunks, {"Content-Type": MULTIPART})
        assert isinstance(outcome, FormBody)
        assert outcome.fields == [("a", "uno"), ("b", "dos+tres")]
        assert outcome.files[0].data == b"\r\n--" + b"y" * 30
        outcome.close()


def test_streamed_urlencoded_split_anywhere_parses_the_same() -> None:
    body = b"n%C3%A1me=Jos%C3%A9+Mar%C3%ADa&tag=a&tag=b"

    for size in (1, 3, 5):
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        outcome, _ = read_chunks(chunks, {"Content-Type": URLENCODED})
        assert isinstance(outcome, FormBody)
        assert outcome.fields == [("náme", "José María"), ("tag", "a"), ("tag", "b")]


def test_a_large_file_waits_on_disk_not_in_memory() -> None:
    data = bytes(range(256)) * 4096  # 1 MB
    body = multipart(text_part("a", "uno"), file_part("evidence", "big.pdf", data))
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    limits = {"max_file_bytes": 2 * len(data), "max_total_bytes": 2 * len(data)}

    tracemalloc.start()
    try:
        outcome, _ = read_chunks(chunks, {"Content-Type": MULTIPART}, **limits)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # What a request holds while it waits for a thread: not its 1 MB file.
    assert isinstance(outcome, FormBody)
    assert held < len(data) // 4
    (upload,) = outcome.files
    assert (upload.size, upload.data) == (len(data), data)
    outcome.close()
    assert upload.spool.closed


def test_a_small_file_is_read_back_whole() -> None:
    outcome, _ = read_chunks(
        [multipart(file_part("evidence", "tiny.png", b"\x89PNG small"))],
        {"Content-Type": MULTIPART},
    )

    assert isinstance(outcome, FormBody)
    assert outcome.files[0].data == outcome.files[0].data == b"\x89PNG small"
    outcome.close()


def dropping_client() -> TestClient:
    async def endpoint(request: Request) -> JSONResponse:
        try:
            limits = {**LIMITS, "max_files": 3}
            body = await read_form(request, **limits, drop_oversize_files=True)
        except BodyError as error:
            return JSONResponse({"code": error.code}, status_code=error.status)
        try:
            response = _echo(body)
            dropped = [[d.field, d.filename, d.code] for d in body.dropped]
            return JSONResponse({"echo": response.body.decode(), "dropped": dropped})
        finally:
            body.close()

    return TestClient(Starlette(routes=[Route("/", endpoint, methods=["POST"])]))


def test_multipart_file_over_the_limit_is_dropped_and_the_text_read_on() -> None:
    body = multipart(
        text_part("a", "antes"),
        file_part("e", "small.png", b"x" * 10),
        file_part("e", "big.png", b"x" * 101),
        file_part("e", "after.png", b"x" * 10),
        text_part("b", "después"),
    )

    response = post(dropping_client(), body)

    assert response.status_code == 200
    echo = json.loads(response.json()["echo"])
    assert echo["fields"] == [["a", "antes"], ["b", "después"]]
    assert echo["files"] == []  # no file is kept once one broke a limit
    assert response.json()["dropped"] == [["e", "big.png", "file_too_large"]]


def test_multipart_files_over_the_total_are_dropped_and_the_text_read_on() -> None:
    body = multipart(
        file_part("e", "a.png", b"x" * 100), file_part("e", "b.png", b"y" * 51), text_part("b", "z")
    )

    response = post(dropping_client(), body)

    assert response.status_code == 200
    assert json.loads(response.json()["echo"])["fields"] == [["b", "z"]]
    assert response.json()["dropped"] == [["e", "b.png", "too_large"]]
