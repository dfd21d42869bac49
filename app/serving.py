"""How server processes start and end cleanly after a crash, on one data directory.

- Every process that serves holds a shared lock on DATA_DIR/serve.lock for as long as it
  lives; the kernel drops it when the process dies, even by SIGKILL. (A command that writes
  to the file store while a server may start holds it too, with `shared_lock`.) A starting
  server takes the lock exclusively first: once it has it, no process that could be writing
  files is left, so every file no row references is an orphan of a crash and is swept at once,
  not only those older than a submission can take. Waiting for it also waits for the workers
  of a killed server to finish, so their port is free again.
- A worker of a multi-worker server (`serve --workers N`) ends when its supervisor dies: left
  alone, it would keep serving with nobody to stop it, and hold the port a restart needs.
"""

import contextlib
import errno
import fcntl
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

log = logging.getLogger("app")

LOCK_NAME = "serve.lock"


class DataDirLock:
    """The lock on DATA_DIR/serve.lock (see above)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / LOCK_NAME
        self._file: IO[bytes] | None = None

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self._file = self.path.open("ab")
        return self._file

    def alone(self, *, wait: float) -> bool:
        """Takes the lock exclusively, waiting up to `wait` seconds for the processes that hold
        it to end; False if they did not (another server runs on this data directory)."""
        file = self._open()
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                if not told:
                    log.warning("waiting for the server still running on this data directory")
                    told = True
                time.sleep(0.1)
            else:
                return True

    def share(self) -> None:
        """Holds the lock shared (after `alone`, or from the start) until `release`."""
        fcntl.flock(self._open(), fcntl.LOCK_SH)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None


@contextlib.contextmanager
def shared_lock(data_dir: Path) -> Iterator[None]:
    """The shared lock, held while a block runs: a server starting meanwhile waits for it
    before sweeping the files the block may be writing."""
    lock = DataDirLock(data_dir)
    lock.share()
    try:
        yield
    finally:
        lock.release()


def wait_for_port(host: str, port: int, *, wait: float) -> None:
    """Returns once `host:port` can be bound (as uvicorn binds it), or after `wait` seconds:
    the sockets of a server that just ended close a moment after its lock is dropped."""
    deadline = time.monotonic() + wait
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                    return  # uvicorn tells what is wrong
            else:
                return
        time.sleep(0.1)


def end_with_supervisor() -> None:
    """In a worker started by uvicorn's supervisor (a multiprocessing child), ends this process
    the way the supervisor would, with SIGTERM (finishing the requests under way), as soon as
    the supervisor is gone: the child's end of a pipe only the parent holds open reports it at
    once. Elsewhere (one process, tests) does nothing."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        log.warning("the supervisor is gone: this worker stops")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()
