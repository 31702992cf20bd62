"""Outgoing email: SMTP when SMTP_URL is set, otherwise .eml files in the outbox."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import unquote, urlparse

from mkportal.models.base import new_id
from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound
from mkportal.services.pagination import Page
from mkportal.settings import get_settings

Attachment = tuple[str, str, bytes]
"""An attachment: (file name, MIME type such as ``text/html``, content)."""


def send(
    to: str,
    subject: str,
    body: str,
    *,
    html: str | None = None,
    attachments: list[Attachment] | None = None,
) -> str:
    """Send an email and return its Message-ID.

    With `SMTP_URL` (``smtp://[user:pass@]host:port``, or ``smtps://``) it goes over SMTP;
    otherwise it is written to ``<var>/outbox/`` where operators read it in /admin/outbox.

    Args:
        to: One address, or several separated by commas.
        subject: The subject line.
        body: The plain-text body (always present).
        html: An HTML alternative of the body (the message becomes multipart/alternative).
        attachments: Files to attach, as (file name, MIME type, content) tuples.

    """
    settings = get_settings()
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg["Message-ID"] = f"<{new_id()}@mkportal>"
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, mimetype, content in attachments or []:
        maintype, _, subtype = mimetype.partition("/")
        msg.add_attachment(
            content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=filename,
        )
    if settings.smtp_url:
        url = urlparse(settings.smtp_url)
        cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with cls(url.hostname or "127.0.0.1", url.port or 25, timeout=10) as smtp:
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(msg)
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        (settings.outbox_dir / f"{stamp}-{new_id()[:8]}.eml").write_bytes(bytes(msg))
    return msg["Message-ID"]


@dataclass
class OutboxMail:
    """An email in the outbox."""

    name: str
    to: str
    subject: str
    date: str
    body: str
    attachments: list[str] = field(default_factory=list)


def _read(path: Path) -> OutboxMail:
    msg = BytesParser(policy=default_policy).parsebytes(path.read_bytes())
    body = msg.get_body(preferencelist=("plain",))
    return OutboxMail(
        name=path.name,
        to=str(msg["To"]),
        subject=str(msg["Subject"]),
        date=str(msg["Date"]),
        body=body.get_content() if body else "",
        attachments=[p.get_filename() or "" for p in msg.iter_attachments()],
    )


def list_outbox(actor: Actor, *, page: int = 1, per_page: int = 25) -> Page[OutboxMail]:
    """List outbox emails, newest first (operators only)."""
    actor.require_operator()
    per_page = min(max(per_page, 1), 200)
    page = max(page, 1)
    files = sorted(get_settings().outbox_dir.glob("*.eml"), reverse=True)
    chosen = files[(page - 1) * per_page : page * per_page]
    return Page(items=[_read(p) for p in chosen], total=len(files), page=page, per_page=per_page)


def read_outbox(actor: Actor, name: str) -> OutboxMail:
    """Return one outbox email by file name (operators only)."""
    actor.require_operator()
    path = get_settings().outbox_dir / Path(name).name
    if not path.is_file() or path.suffix != ".eml":
        raise NotFound("Not found.")
    return _read(path)
