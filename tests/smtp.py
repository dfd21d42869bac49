"""A real SMTP server (aiosmtpd) on loopback, and the ways a real one misbehaves: it refuses a
recipient for good or for now, or disappears in the middle of a message."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller

Mode = Literal["accept", "refuse", "defer", "vanish"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """aiosmtpd's handler: keeps what it accepts. `refuse` answers 550 to every recipient,
    `defer` 451; `vanish` accepts `vanish_after` messages, then on the next one's data closes
    the connection without an answer and stops listening, as a server that went away."""

    def __init__(self, mode: Mode = "accept", *, vanish_after: int = 0) -> None:
        self.mode = mode
        self.vanish_after = vanish_after
        self.messages: list[EmailMessage] = []
        self.controller: Controller | None = None
        self.changed = threading.Condition()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.mode == "refuse":
            # As real servers do, the answer quotes the address.
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if self.mode == "defer":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.mode == "vanish" and len(self.messages) >= self.vanish_after:
            assert self.controller is not None and self.controller.server is not None
            self.controller.server.close()
            server.transport.abort()
            return "451 gone"  # never reaches the client: the connection is already closed
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.changed:
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.changed.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, *, timeout: float) -> list[EmailMessage]:
        """The messages once there are `count` of them (or, after `timeout`, as they are)."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)


@contextmanager
def smtp_server(inbox: Inbox | None = None) -> Iterator[tuple[str, Inbox]]:
    """Serves `inbox` on a free loopback port; yields the SMTP_URL and the inbox."""
    inbox = inbox or Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    inbox.controller = controller
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", inbox
    finally:
        controller.stop()
