"""A real portal process (uvicorn) on loopback for tests that need one: kill, restart, load."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PortalProcess:
    def __init__(
        self,
        settings: Settings,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        """`env` adds to or overrides the process environment; `log_path` receives stderr and
        stdout, where uvicorn's access log goes (a pipe nobody reads would block a chatty
        server under load)."""
        self.settings = settings
        self.workers = workers
        self.extra_env = dict(env or {})
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "PortalProcess":
        env = {
            **os.environ,
            "DATA_DIR": str(self.settings.data_dir),
            "SECRET_KEY": self.settings.secret_key or "",
            "ENVIRONMENT": "test",
            "FORM_MIN_SECONDS": "0",
            "NOMINATION_RATE_LIMIT": "0",
            "NOMINATION_BROWSER_LIMIT": "0",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("DATABASE_URL", None)
        if self.settings.database_url:
            env["DATABASE_URL"] = self.settings.database_url
        env.update(self.extra_env)
        stderr: Any = subprocess.PIPE
        stdout: Any = subprocess.DEVNULL
        if self.log_path is not None:
            stderr = stdout = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        if self.log_path is not None:
            stderr.close()  # the child holds its own descriptor
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the portal did not start")

    def workers_now(self) -> list[int]:
        """The worker processes of a multi-worker server, as uvicorn's supervisor spawned them."""
        if self.process is None or self.process.poll() is not None:
            return []
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            return []
        workers = []
        for child in children:
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if b"spawn_main" in command:
                workers.append(int(child))
        return workers

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
