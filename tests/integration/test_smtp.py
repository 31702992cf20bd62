"""Invitation emails over a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import pytest

from mkportal.services import invitations
from tests.fakes.smtp import smtp_server


@pytest.fixture
def smtp(var_dir, monkeypatch):
    with smtp_server() as (sink, url):
        monkeypatch.setenv("SMTP_URL", url)
        yield sink


def test_invitation_is_sent_over_smtp(smtp, two_orgs, var_dir):
    from mkportal.settings import get_settings

    get_settings.cache_clear()
    _, link = invitations.invite(two_orgs["acme_owner"], "friend@example.com")
    smtp.wait_for(1)
    assert smtp.messages[0].rcpt_tos == ["friend@example.com"]
    assert link in smtp.messages[0].content.decode()
    assert not list((var_dir / "outbox").glob("*.eml"))
