"""Invitation emails over a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import socket
import time

import pytest
from aiosmtpd.controller import Controller

from mkportal.services import invitations


class _Sink:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(var_dir, monkeypatch):
    sink = _Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{port}")
    yield sink
    controller.stop()


def test_invitation_is_sent_over_smtp(smtp, two_orgs, var_dir):
    from mkportal.settings import get_settings

    get_settings.cache_clear()
    _, link = invitations.invite(two_orgs["acme_owner"], "friend@example.com")
    deadline = time.time() + 5
    while not smtp.messages and time.time() < deadline:
        time.sleep(0.05)
    assert smtp.messages[0].rcpt_tos == ["friend@example.com"]
    assert link in smtp.messages[0].content.decode()
    assert not list((var_dir / "outbox").glob("*.eml"))
