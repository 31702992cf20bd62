"""Invoice emails over a real SMTP server (aiosmtpd on loopback), and via the outbox."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from mkportal.api.app import create_api
from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.billing import BillingAccount, Invoice
from mkportal.models.org import Role, User
from mkportal.services import mail, tokens
from mkportal.services.billing import delivery
from mkportal.services.errors import Conflict, NotFound
from mkportal.services.users import create_user
from mkportal.settings import get_settings
from tests.conftest import PASSWORD
from tests.fakes.smtp import free_port, smtp_server
from tests.unit.test_documents import insert_invoice


@pytest.fixture
def smtp(two_orgs, monkeypatch):
    with smtp_server() as (sink, url):
        monkeypatch.setenv("SMTP_URL", url)
        monkeypatch.delenv("STRIPE_API_KEY", raising=False)
        get_settings.cache_clear()
        yield sink


def _parse(envelope) -> EmailMessage:  # noqa: ANN001
    return message_from_bytes(envelope.content, policy=default_policy)


def _invoice(invoice_id: str) -> Invoice:
    with session_scope() as s:
        return s.get(Invoice, invoice_id)


def test_invoice_email_has_text_html_and_the_invoice_attached(smtp, two_orgs, var_dir):
    acme = two_orgs["acme_owner"].org_id
    inv_id = insert_invoice(acme, credits=[("2.32", "Goodwill")])

    delivery.deliver(inv_id)

    smtp.wait_for(1)
    assert len(smtp.messages) == 1
    envelope = smtp.messages[0]
    assert envelope.rcpt_tos == ["owner@acme.test"]
    msg = _parse(envelope)
    inv = _invoice(inv_id)
    assert inv.number in msg["Subject"] and "CHF 120.00" in msg["Subject"]
    assert msg.get_content_type() == "multipart/mixed"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert inv.number in text and "Total:    CHF 120.00" in text and "Goodwill" in text
    assert inv.number in html and "CHF 120.00" in html and "attached" in html
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"invoice-{inv.number}.html"]
    assert attachments[0].get_content_type() == "text/html"
    document = attachments[0].get_content()
    if isinstance(document, bytes):
        document = document.decode()
    assert document.startswith("<!DOCTYPE html>") and "Cluster web" in document
    assert "Total</td>" in document and "120.00" in document
    assert inv.status == "sent" and inv.emailed_at is not None
    assert not list((var_dir / "outbox").glob("*.eml"))


def test_delivering_twice_sends_one_email(smtp, two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    delivery.deliver(inv_id)
    delivery.deliver(inv_id)
    smtp.wait_for(2)
    assert len(smtp.messages) == 1
    with session_scope() as s:
        emailed = s.exec(
            select(AuditEvent).where(
                AuditEvent.target_id == inv_id, AuditEvent.action == "invoice.emailed"
            )
        ).all()
    assert len(emailed) == 1 and emailed[0].detail["to"] == ["owner@acme.test"]


def test_an_smtp_failure_leaves_the_invoice_to_be_delivered_again(smtp, two_orgs, monkeypatch):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    good = get_settings().smtp_url
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    with pytest.raises(OSError):
        delivery.deliver(inv_id)
    inv = _invoice(inv_id)
    assert inv.status == "finalized" and inv.emailed_at is None
    monkeypatch.setenv("SMTP_URL", good)
    get_settings.cache_clear()
    delivery.deliver(inv_id)
    smtp.wait_for(1)
    assert len(smtp.messages) == 1 and _invoice(inv_id).status == "sent"


def test_recipients_billing_email_else_owners_who_want_billing_mail(smtp, two_orgs):
    acme = two_orgs["acme_owner"].org_id
    create_user("second@acme.test", PASSWORD, org="Acme", role=Role.owner)
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == "owner@acme.test")).one()
        user.notification_prefs = {"billing": False}
        s.add(user)
    delivery.deliver(insert_invoice(acme, period="2026-09"))
    with session_scope() as s:
        s.add(BillingAccount(org_id=acme, billing_email="ap@acme.test"))
    delivery.deliver(insert_invoice(acme, period="2026-10"))
    smtp.wait_for(2)
    assert [m.rcpt_tos for m in smtp.messages] == [["second@acme.test"], ["ap@acme.test"]]


def test_outbox_keeps_the_parts_and_shows_the_text(two_orgs, var_dir):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    delivery.deliver(inv_id)
    page = mail.list_outbox(two_orgs["operator"])
    assert page.total == 1
    shown = mail.read_outbox(two_orgs["operator"], page.items[0].name)
    number = _invoice(inv_id).number
    assert shown.attachments == [f"invoice-{number}.html"]
    assert number in shown.body and "<html" not in shown.body
    raw = message_from_bytes((var_dir / "outbox" / shown.name).read_bytes(), policy=default_policy)
    assert raw.get_body(preferencelist=("html",)) is not None


def test_plain_mail_keeps_working(two_orgs):
    mail.send("someone@example.com", "Hello", "Just text.")
    item = mail.list_outbox(two_orgs["operator"]).items[0]
    assert item.body.strip() == "Just text." and item.attachments == []


def test_operators_resend_over_the_api(smtp, two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    delivery.deliver(inv_id)
    api = TestClient(create_api(), raise_server_exceptions=False)

    def post(actor, invoice_id: str = inv_id):  # noqa: ANN001, ANN202
        plain, _ = tokens.create_token(actor, "t")
        return api.post(
            f"/api/v1/admin/billing/invoices/{invoice_id}/resend",
            headers={"Authorization": f"Bearer {plain}"},
        )

    assert post(two_orgs["acme_owner"]).status_code == 404
    r = post(two_orgs["operator"])
    assert r.status_code == 200 and r.json() == {
        "invoice_id": inv_id,
        "sent_to": ["owner@acme.test"],
    }
    smtp.wait_for(2)
    assert len(smtp.messages) == 2
    assert _parse(smtp.messages[1])["Subject"].startswith("Copy: mkportal invoice")
    with session_scope() as s:
        resent = s.exec(select(AuditEvent).where(AuditEvent.action == "invoice.resent")).one()
    assert resent.actor_email == "ops@vshn.test" and resent.target_id == inv_id
    draft = insert_invoice(two_orgs["globex_owner"].org_id, status="draft")
    assert post(two_orgs["operator"], draft).status_code == 409
    assert post(two_orgs["operator"], "nope").status_code == 404


def test_resend_of_an_undelivered_invoice_delivers_it(smtp, two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    assert delivery.resend(two_orgs["operator"], inv_id) == ["owner@acme.test"]
    smtp.wait_for(2)
    assert len(smtp.messages) == 1 and _invoice(inv_id).status == "sent"
    with pytest.raises(NotFound):
        delivery.resend(two_orgs["acme_owner"], inv_id)


def test_drafts_are_not_delivered(two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id, status="draft")
    with pytest.raises(Conflict, match="draft"):
        delivery.deliver(inv_id)


def test_owners_set_the_billing_email_over_the_api(two_orgs):
    api = TestClient(create_api(), raise_server_exceptions=False)

    def call(method: str, actor, body: dict | None = None):  # noqa: ANN001, ANN202
        plain, _ = tokens.create_token(actor, "t")
        return api.request(
            method,
            "/api/v1/billing/contact",
            json=body,
            headers={"Authorization": f"Bearer {plain}"},
        )

    r = call("GET", two_orgs["acme_viewer"])
    assert r.status_code == 200 and r.json()["recipients"] == ["owner@acme.test"]
    assert call("PUT", two_orgs["acme_member"], {"billing_email": "x@acme.test"}).status_code == 403
    bad = call("PUT", two_orgs["acme_owner"], {"billing_email": "not-an-email"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "billing_email"
    ok = call("PUT", two_orgs["acme_owner"], {"billing_email": " AP@Acme.test "})
    assert ok.status_code == 200
    assert ok.json() == {
        "org_id": two_orgs["acme_owner"].org_id,
        "billing_email": "ap@acme.test",
        "recipients": ["ap@acme.test"],
    }
    # Globex is not affected; clearing goes back to the owners.
    assert call("GET", two_orgs["globex_owner"]).json()["recipients"] == ["owner@globex.test"]
    cleared = call("PUT", two_orgs["acme_owner"], {"billing_email": ""})
    assert cleared.json()["recipients"] == ["owner@acme.test"]
    with session_scope() as s:
        events = s.exec(
            select(AuditEvent).where(AuditEvent.action == "billing.contact_updated")
        ).all()
    assert [e.detail["to"] for e in events] == ["ap@acme.test", ""]
