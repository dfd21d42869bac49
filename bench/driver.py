"""The Python load driver: many concurrent browsers, each with its own cookies, in one process.

Run by bench.run as `python -m bench.driver CONFIG_JSON`: it sets up, prints `ready`, waits for
one line on standard input (so that several driver processes start together), drives load for
the configured duration, and prints one JSON line of results. It drives the nomination flows
(which wrk cannot do: they read a token from one response to send the next request) and, when
wrk is missing, the GET scenarios too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')

# What a citizen types, the same values as tests/factories.py `nomination_data` (copied, so the
# benchmark does not change when the tests' fixtures do). Every field passes the portal's checks.
NOMINATION = {
    "nominee_name": "María Fernanda López Ruiz",
    "nominee_position": "Directora de Agua Potable",
    "nominee_institution": "Ayuntamiento de Xalapa",
    "government_level": "municipal",
    "state": "VER",
    "years_of_service": "8",
    "nominee_age": "31",
    "nominee_contact": "agua@xalapa.example",
    "nominee_gender": "woman",
    "achievement": "Denunció un desvío de fondos en la compra de medidores y lo documentó.",
    "impact": "La auditoría recuperó recursos y cambió las reglas de compra del estado.",
    "obstacles": "Recibió presiones de sus superiores y amenazas de despido.",
    "how_known": "Trabajé en la misma dirección durante tres años.",
    "reference1_name": "Carlos Méndez",
    "reference1_contact": "carlos@example.org",
    "reference2_name": "Lucía Pérez",
    "reference2_contact": "+52 228 555 0101",
    "nominator_name": "Roberto Sánchez",
    "nominator_email": "roberto@example.org",
    "nominator_phone": "+52 55 5555 0000",
    "nominator_relationship": "colleague",
    "may_contact": "yes",
    "privacy_consent": "yes",
}


@dataclass(frozen=True)
class DriverConfig:
    base_url: str
    concurrency: int
    duration: float
    # "get": repeat one GET without cookies, as wrk does; "flow": the nomination flow.
    mode: str
    path: str = "/"
    pdf_bytes: int = 0
    # Tells this process's PDFs apart from those of other driver processes.
    process_index: int = 0
    timeout: float = 30.0
    # "get" with signed-in visits: (path, Cookie header) pairs taken in turn instead of `path`.
    visits: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class DriverResult:
    completed: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    # Whole flows (GET + POST + GET) or single GETs, in microseconds; successful ones only.
    latencies_us: list[int] = field(default_factory=list)
    # Flows that got a 303 to their receipt and then the receipt page: what a citizen saw.
    acknowledged: int = 0
    elapsed: float = 0.0
    # CPU this process used while driving load (not while importing and setting up).
    cpu_seconds: float = 0.0


class FlowError(Exception):
    """A step of the flow answered something a browser would show the citizen as a failure."""


class Multipart:
    """multipart/form-data exactly as a browser sends this form: fields in document order, then
    the file input, which is sent (empty, filename="") even when no file was chosen (httpx
    would drop the empty filename, and the portal then reads the part as a text field). The
    constant part is encoded once, so the driver spends its time waiting, not encoding."""

    def __init__(self, fields: dict[str, str], *, process_index: int) -> None:
        self.boundary = f"----BenchFormBoundary{process_index:04d}{os.urandom(8).hex()}"
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self._fields = b"".join(self._part(name, value) for name, value in fields.items())

    def _part(self, name: str, value: str) -> bytes:
        head = f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        return head.encode() + value.encode() + b"\r\n"

    def encode(self, *, token: str, file_name: str = "", file_data: bytes = b"") -> bytes:
        file_type = "application/pdf" if file_data else "application/octet-stream"
        file_head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="evidence"; '
            f'filename="{file_name}"\r\nContent-Type: {file_type}\r\n\r\n'
        )
        extra = self._part("sensitive_consent", "yes") if file_data else b""
        return b"".join(
            [
                self._part("csrf_token", token),
                self._part("website", ""),  # the honeypot, which a person leaves empty
                self._fields,
                extra,
                file_head.encode(),
                file_data,
                f"\r\n--{self.boundary}--\r\n".encode(),
            ]
        )


class PdfMaker:
    """1 MB PDFs that differ from each other: the portal stores files by content hash, so the
    same file sent twice would be written only once and hide the cost of storing it. Each is a
    well-formed one-page PDF (with its cross-reference table, as office programs write them)
    whose page shows a 1 MB image of random bytes, as a scan would: the portal reads every PDF
    to check it for active content, and refuses one it cannot read."""

    MARK = 32

    def __init__(self, size: int, process_index: int) -> None:
        self._prefix = f"{process_index:04d}".encode()
        self._count = 0
        pixels = max(size - 800, 1024) // 1024 * 1024
        placeholder = b"#" * self.MARK
        # The mark is a comment of fixed length in the page's content, so every offset of the
        # cross-reference table is the same in all the files this maker makes.
        content = b"% " + placeholder + b"\nq 612 0 0 792 0 0 cm /Im1 Do Q\n"
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /XObject << /Im1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /XObject /Subtype /Image /Width 1024 /Height %d /ColorSpace /DeviceGray"
            b" /BitsPerComponent 8 /Length %d >>\nstream\n"
            % (pixels // 1024, pixels)
            + os.urandom(pixels)
            + b"\nendstream",
        ]
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objects) + 1,
            xref,
        )
        at = out.index(placeholder)
        self._head = bytes(out[:at])
        self._tail = bytes(out[at + self.MARK :])

    def next(self) -> bytes:
        self._count += 1
        mark = self._prefix + f"-{self._count:027d}".encode()
        return self._head + mark + self._tail


class ConnectionFailed(Exception):
    """The connection broke, timed out or answered something that is not HTTP/1.1."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)


class Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, for the two servers under test.

    Not httpx, because httpx spent about 1.8 ms of CPU per request here (a quarter of it in
    httpcore retrying `import sniffio`, which is not installed, on every request): on a
    2-core machine that made the driver, not the server, the limit of the baseline's flow.
    This one spends a few tens of microseconds per request (docs/performance.md)."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> Response:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(method, path, headers, body)
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
            await self.close()
            raise ConnectionFailed(type(e).__name__) from e

    async def _exchange(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines.append(f"content-length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if body:
            writer.write(body)
        await writer.drain()

        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        if not status_line.startswith(b"HTTP/1.1 "):
            raise ValueError("not an HTTP/1.1 response")
        status = int(status_line[9:12])
        response_headers = []
        for line in header_lines:
            name, _, value = line.partition(b":")
            response_headers.append((name.strip().lower(), value.strip()))
        response = Response(status, response_headers, b"")
        length = response.header(b"content-length")
        if length is not None:
            content = await reader.readexactly(int(length))
        elif response.header(b"transfer-encoding") == b"chunked":
            content = await self._read_chunked(reader)
        else:
            content = await reader.read()  # delimited by the end of the connection
            await self.close()
        if response.header(b"connection") == b"close":
            await self.close()
        return Response(status, response_headers, content)

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class _Browser:
    """One citizen's browser: one keep-alive connection and its own cookies. Cookies are kept
    by hand: in production (ENVIRONMENT=prod) they are `Secure`, and this plain-HTTP loopback
    stands in for the TLS that a proxy would terminate."""

    def __init__(self, config: DriverConfig) -> None:
        url = urlsplit(config.base_url)
        self.connection = Connection(url.hostname or "127.0.0.1", url.port or 80, config.timeout)
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _keep(self, response: Response) -> None:
        for name, line in response.headers:
            if name == b"set-cookie":
                key, _, value = line.decode("latin-1").split(";", 1)[0].partition("=")
                self.cookies[key.strip()] = value.strip()

    async def get(self, path: str) -> Response:
        response = await self.connection.request("GET", path, self._headers())
        self._keep(response)
        return response

    async def post(self, path: str, body: bytes, content_type: str) -> Response:
        headers = self._headers({"content-type": content_type})
        response = await self.connection.request("POST", path, headers, body)
        self._keep(response)
        return response


def _status_kind(step: str, response: Response) -> str:
    return f"{step} HTTP {response.status}"


async def _one_get(browser: _Browser, path: str, cookie: str) -> bool:
    # Without cookies, as wrk does (every request is a first visit), unless signed in.
    headers = {"cookie": cookie} if cookie else {}
    response = await browser.connection.request("GET", path, headers)
    if response.status >= 400:
        raise FlowError(_status_kind("GET", response))
    return False


def _make_flow(config: DriverConfig) -> Callable[[_Browser], Awaitable[bool]]:
    multipart = Multipart(NOMINATION, process_index=config.process_index)
    pdfs = PdfMaker(config.pdf_bytes, config.process_index) if config.pdf_bytes else None

    async def flow(browser: _Browser) -> bool:
        # A new citizen each time: no cookie yet, so the form page sets one.
        browser.cookies.clear()
        page = await browser.get(config.path)
        if page.status != 200:
            raise FlowError(_status_kind("form", page))
        found = TOKEN.search(page.body)
        if found is None:
            raise FlowError("form without csrf_token")
        token = found.group(1).decode()
        if pdfs is not None:
            body = multipart.encode(token=token, file_name="evidencia.pdf", file_data=pdfs.next())
        else:
            body = multipart.encode(token=token)
        sent = await browser.post(config.path, body, multipart.content_type)
        location = sent.header(b"location")
        if sent.status != 303 or location is None:
            raise FlowError(_status_kind("POST", sent))
        receipt = await browser.get(location.decode("latin-1"))
        if receipt.status != 200:
            raise FlowError(_status_kind("receipt", receipt))
        return True

    return flow


async def drive(config: DriverConfig, go: Callable[[], Awaitable[None]]) -> DriverResult:
    step: Callable[[_Browser], Awaitable[bool]]
    if config.mode == "flow":
        step = _make_flow(config)
    else:
        visits = [(path, cookie) for path, cookie in config.visits] or [(config.path, "")]
        # The browsers take the visits in turn between them, as wrk's rotation script does.
        turns = itertools.count(config.process_index)

        async def step(browser: _Browser) -> bool:
            path, cookie = visits[next(turns) % len(visits)]
            return await _one_get(browser, path, cookie)

    browsers = [_Browser(config) for _ in range(config.concurrency)]
    result = DriverResult()
    kinds: Counter[str] = Counter()
    await go()
    cpu_start = time.process_time()
    start = time.perf_counter()
    deadline = start + config.duration
    last_done = start

    async def browse(browser: _Browser) -> None:
        nonlocal last_done
        # A flow started before the deadline is finished, so that every stored nomination
        # has its receipt counted (or its error) when the database is checked afterwards.
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                acknowledged = await step(browser)
            except FlowError as error:
                result.errors += 1
                kinds[str(error)] += 1
            except ConnectionFailed as error:
                result.errors += 1
                kinds[f"connection: {error}"] += 1
            else:
                ended = time.perf_counter()
                result.completed += 1
                result.acknowledged += acknowledged
                result.latencies_us.append(int((ended - began) * 1_000_000))
            last_done = time.perf_counter()

    try:
        await asyncio.gather(*(browse(browser) for browser in browsers))
    finally:
        await asyncio.gather(*(browser.connection.close() for browser in browsers))
    result.elapsed = last_done - start
    result.cpu_seconds = time.process_time() - cpu_start
    result.error_kinds = dict(kinds)
    return result


async def _wait_for_go() -> None:
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def _run(coroutine: Any) -> Any:
    try:
        import uvloop  # installed with uvicorn[standard]; a cheaper loop leaves more for the server
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main(argv: list[str]) -> int:
    config = DriverConfig(**json.loads(argv[1]))
    try:
        result = _run(drive(config, _wait_for_go))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole group; bench.run reports it once
        return 130
    print(json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
