"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller


class SmtpSink:
    """An aiosmtpd handler that keeps every envelope it receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201, D102
        self.messages.append(envelope)
        return "250 OK"

    def wait_for(self, count: int, seconds: float = 5.0) -> None:
        """Wait until `count` messages arrived (or the time is up)."""
        deadline = time.time() + seconds
        while len(self.messages) < count and time.time() < deadline:
            time.sleep(0.05)


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1 (aiosmtpd cannot bind port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[SmtpSink, str]]:
    """Run an SMTP server on loopback; yield the sink and its ``smtp://`` URL."""
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()
