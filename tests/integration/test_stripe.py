"""Stripe synchronisation and the Stripe webhook, against localstripe plus the local fake.

Customers live on localstripe (in-process, 127.0.0.1); invoices, invoice items and
idempotency keys on `tests.fakes.stripe.FakeStripe` in front of it (see its docstring for
which call goes where).
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from mkportal.api.app import create_api
from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.billing import BillingAccount, Invoice, InvoiceLine, StripeEvent
from mkportal.services import mail
from mkportal.services.billing import delivery, stripe_sync
from mkportal.settings import get_settings
from tests.fakes.server import serving
from tests.fakes.stripe import (
    API_KEY,
    FakeStripe,
    reset_localstripe,
    running_localstripe,
    sign,
)
from tests.unit.test_documents import insert_invoice

SECRET = "whsec_test_mkportal"


@pytest.fixture(scope="module")
def localstripe_url():
    with running_localstripe() as url:
        yield url


@pytest.fixture
def stripe_fake(localstripe_url, two_orgs, monkeypatch):
    reset_localstripe()
    fake = FakeStripe(localstripe_url, SECRET)
    with serving(fake.app) as url:
        fake.base_url = url
        monkeypatch.setenv("STRIPE_API_KEY", API_KEY)
        monkeypatch.setenv("STRIPE_API_BASE", url)
        monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
        get_settings.cache_clear()
        yield fake
    reset_localstripe()


@pytest.fixture
def portal_api(stripe_fake):
    """Our API on a real port, so that the fake can send it webhooks."""
    with serving(create_api()) as url:
        stripe_fake.webhook_url = f"{url}/api/v1/webhooks/stripe"
        yield url


def _invoice(invoice_id: str) -> Invoice:
    with session_scope() as s:
        return s.get(Invoice, invoice_id)


def _lines(invoice_id: str) -> list[InvoiceLine]:
    with session_scope() as s:
        return list(s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)))


def _actions(invoice_id: str) -> list[str]:
    with session_scope() as s:
        rows = s.exec(
            select(AuditEvent).where(AuditEvent.target_id == invoice_id).order_by(AuditEvent.at)
        )
        return [r.action for r in rows]


def _wait(predicate, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_push_creates_customer_items_and_a_sent_invoice(stripe_fake, two_orgs):
    acme = two_orgs["acme_owner"].org_id
    with session_scope() as s:
        s.add(BillingAccount(org_id=acme, billing_email="ap@acme.test"))
    inv_id = insert_invoice(acme, credits=[("12.23", "SLO missed")])

    delivery.deliver(inv_id)

    inv = _invoice(inv_id)
    assert inv.status == "sent" and inv.emailed_at is not None
    remote = stripe_fake.invoices[inv.stripe_invoice_id]
    assert inv.stripe_url == remote["hosted_invoice_url"] and inv.stripe_url
    assert remote["status"] == "open" and stripe_fake.sent == {remote["id"]: 1}
    assert remote["collection_method"] == "send_invoice" and remote["days_until_due"] == 30
    assert remote["currency"] == "chf" and remote["metadata"]["invoice_id"] == inv_id
    with session_scope() as s:
        customer_id = s.get(BillingAccount, acme).stripe_customer_id
    assert remote["customer"] == customer_id
    customer = httpx.get(
        f"{stripe_fake.upstream}/v1/customers/{customer_id}",
        headers={"Authorization": f"Bearer {API_KEY}"},
    ).json()
    assert customer["name"] == "Acme" and customer["email"] == "ap@acme.test"
    assert customer["metadata"] == {"org_id": acme}
    items = stripe_fake.items_of(remote["id"])
    assert sorted(i["amount"] for i in items) == [-1223, 372, 1860, 10000]
    by_line = {i["metadata"].get("line_id"): i for i in items}
    for line in _lines(inv_id):
        item = by_line[line.id]
        assert line.stripe_item_id == item["id"]
        assert item["amount"] == int(line.amount * 100) and item["currency"] == "chf"
        assert item["metadata"]["invoice_id"] == inv_id
        assert line.cluster_name in item["description"]
    assert remote["amount_due"] == int(inv.total * 100) == 11009
    keys = set(stripe_fake.idempotency)
    assert {f"mkportal-customer-{acme}", f"mkportal-invoice-{inv_id}",
            f"mkportal-credits-{inv_id}"} <= keys  # fmt: skip
    assert {f"mkportal-line-{line.id}" for line in _lines(inv_id)} <= keys
    assert _actions(inv_id)[-3:] == ["invoice.stripe_synced", "invoice.emailed", "invoice.sent"]


def test_pushing_twice_creates_nothing_twice(stripe_fake, two_orgs):
    acme = two_orgs["acme_owner"].org_id
    inv_id = insert_invoice(acme, credits=[("1.00", "Goodwill")])
    first = stripe_sync.push_invoice(inv_id)
    assert stripe_sync.push_invoice(inv_id) == first
    delivery.deliver(inv_id)
    delivery.deliver(inv_id)
    assert stripe_fake.count_customers() == 1
    assert len(stripe_fake.invoices) == 1 and len(stripe_fake.items) == 4
    assert stripe_fake.creates == {"customer": 1, "invoice": 1, "invoiceitem": 4}
    assert stripe_fake.sent == {first: 1}
    # A second month of the same organisation reuses its customer.
    nxt = insert_invoice(acme, period="2026-11")
    delivery.deliver(nxt)
    assert stripe_fake.count_customers() == 1 and len(stripe_fake.invoices) == 2
    # Another organisation gets its own customer.
    delivery.deliver(insert_invoice(two_orgs["globex_owner"].org_id))
    assert stripe_fake.count_customers() == 2


@pytest.mark.parametrize("keys_expired", [False, True])
def test_a_crash_after_creating_items_is_resumed_without_duplicates(
    stripe_fake, two_orgs, monkeypatch, keys_expired
):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id, credits=[("2.00", "Goodwill")])
    real = stripe_sync._remember_line_item
    calls = {"n": 0}

    def crash_on_second(line_id: str, item_id: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed between Stripe's answer and our write")
        real(line_id, item_id)

    monkeypatch.setattr(stripe_sync, "_remember_line_item", crash_on_second)
    with pytest.raises(RuntimeError):
        delivery.deliver(inv_id)
    assert len(stripe_fake.items) == 2  # the second item exists on Stripe, unrecorded here
    assert sum(bool(ln.stripe_item_id) for ln in _lines(inv_id)) == 1
    assert _invoice(inv_id).status == "finalized"
    if keys_expired:
        stripe_fake.forget_idempotency_keys()
    monkeypatch.setattr(stripe_sync, "_remember_line_item", real)

    delivery.deliver(inv_id)

    inv = _invoice(inv_id)
    assert inv.status == "sent"
    assert stripe_fake.count_customers() == 1 and len(stripe_fake.invoices) == 1
    assert len(stripe_fake.items) == 4
    assert all(ln.stripe_item_id for ln in _lines(inv_id))
    assert stripe_fake.invoices[inv.stripe_invoice_id]["amount_due"] == int(inv.total * 100)


def test_a_crash_before_the_invoice_id_is_stored_finds_the_invoice_again(
    stripe_fake, two_orgs, monkeypatch
):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    real = stripe_sync._remember_invoice

    def crash(invoice_id: str, stripe_invoice_id: str) -> None:
        raise RuntimeError("worker killed before the Stripe invoice id was stored")

    monkeypatch.setattr(stripe_sync, "_remember_invoice", crash)
    with pytest.raises(RuntimeError):
        stripe_sync.push_invoice(inv_id)
    assert len(stripe_fake.invoices) == 1 and _invoice(inv_id).stripe_invoice_id == ""
    monkeypatch.setattr(stripe_sync, "_remember_invoice", real)
    stripe_fake.forget_idempotency_keys()
    stripe_sync.push_invoice(inv_id)
    assert len(stripe_fake.invoices) == 1
    assert _invoice(inv_id).stripe_invoice_id in stripe_fake.invoices


def test_zero_total_invoices_are_emailed_but_not_pushed(stripe_fake, two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id, credits=[("122.32", "Full credit")])
    delivery.deliver(inv_id)
    inv = _invoice(inv_id)
    assert inv.total == Decimal("0.00") and inv.status == "paid" and inv.emailed_at
    assert stripe_fake.invoices == {} and stripe_fake.count_customers() == 0


def test_lines_that_do_not_add_up_are_refused_before_any_stripe_call(stripe_fake, two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    with session_scope() as s:
        inv = s.get(Invoice, inv_id)
        inv.total += Decimal("0.05")
        s.add(inv)
    with pytest.raises(stripe_sync.StripeSyncError, match="not sent to Stripe"):
        delivery.deliver(inv_id)
    assert stripe_fake.invoices == {} and _invoice(inv_id).status == "finalized"


def _event(kind: str, inv: Invoice, event_id: str = "evt_1", **obj) -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": inv.stripe_invoice_id or "in_unknown",
                "object": "invoice",
                "metadata": {"invoice_id": inv.id},
                **obj,
            }
        },
    }
    return json.dumps(body).encode()


def _post(api: TestClient, payload: bytes, signature: str | None):  # noqa: ANN202
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return api.post("/api/v1/webhooks/stripe", content=payload, headers=headers)


def test_signed_webhook_marks_paid_and_replays_are_ignored(stripe_fake, two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    delivery.deliver(inv_id)
    api = TestClient(create_api(), raise_server_exceptions=False)
    payload = _event("invoice.paid", _invoice(inv_id))

    r = _post(api, payload, sign(payload, SECRET))
    assert r.status_code == 200 and r.json() == {"received": True, "result": "paid"}
    inv = _invoice(inv_id)
    assert inv.status == "paid" and inv.paid_at is not None
    again = _post(api, payload, sign(payload, SECRET))
    assert again.status_code == 200 and again.json()["result"] == "ignored"
    late = _event("invoice.payment_failed", _invoice(inv_id), event_id="evt_late")
    r = _post(api, late, sign(late, SECRET))
    assert r.status_code == 200 and r.json()["result"] == "ignored"
    assert _invoice(inv_id).status == "paid"
    assert not [m for m in mail.list_outbox(two_orgs["operator"]).items if "failed" in m.subject]
    with session_scope() as s:
        types = sorted(e.type for e in s.exec(select(StripeEvent)))
        assert types == ["invoice.paid", "invoice.payment_failed"]
        paid = s.exec(select(AuditEvent).where(AuditEvent.action == "invoice.paid")).all()
    assert len(paid) == 1 and paid[0].actor_email == "stripe"
    assert paid[0].detail["stripe_event"] == "evt_1"


def test_bad_signatures_are_400(stripe_fake, two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    delivery.deliver(inv_id)
    api = TestClient(create_api(), raise_server_exceptions=False)
    payload = _event("invoice.paid", _invoice(inv_id))
    cases = {
        "wrong secret": sign(payload, "whsec_other"),
        "tampered body": sign(payload.replace(b"evt_1", b"evt_2"), SECRET),
        "too old": sign(payload, SECRET, timestamp=int(time.time()) - 3600),
        "garbage": "nonsense",
    }
    for case, signature in cases.items():
        r = _post(api, payload, signature)
        assert r.status_code == 400, case
        assert "signature" in r.json()["detail"].lower(), case
    missing = _post(api, payload, None)
    assert missing.status_code == 400 and "Missing Stripe-Signature" in missing.json()["detail"]
    not_json = _post(api, b"{not json", sign(b"{not json", SECRET))
    assert not_json.status_code == 400 and "invalid JSON" in not_json.json()["detail"]
    assert _invoice(inv_id).status == "sent"
    with session_scope() as s:
        assert s.exec(select(StripeEvent)).all() == []


def test_unknown_types_and_foreign_invoices_are_acknowledged(stripe_fake, two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    delivery.deliver(inv_id)
    api = TestClient(create_api(), raise_server_exceptions=False)
    inv = _invoice(inv_id)
    for event_id, kind, meta in (
        ("evt_a", "customer.updated", {"invoice_id": inv.id}),
        ("evt_b", "invoice.paid", {"invoice_id": "someone-elses"}),
    ):
        payload = json.dumps({
            "id": event_id, "object": "event", "type": kind,
            "data": {"object": {"id": "in_other", "object": "invoice", "metadata": meta}},
        }).encode()  # fmt: skip
        r = _post(api, payload, sign(payload, SECRET))
        assert r.status_code == 200 and r.json()["result"] == "ignored"
    assert _invoice(inv_id).status == "sent"


def test_payment_failure_sets_the_status_and_notifies_the_billing_contact(
    stripe_fake, portal_api, two_orgs, var_dir
):
    acme = two_orgs["acme_owner"].org_id
    with session_scope() as s:
        s.add(BillingAccount(org_id=acme, billing_email="ap@acme.test"))
    inv_id = insert_invoice(acme)
    delivery.deliver(inv_id)
    sid = _invoice(inv_id).stripe_invoice_id

    stripe_fake.fail_payment(sid, "Your card was declined.")

    assert stripe_fake.webhooks == [("invoice.payment_failed", 200)]
    inv = _invoice(inv_id)
    assert inv.status == "payment_failed" and inv.failure_reason == "Your card was declined."
    notices = [
        m for m in mail.list_outbox(two_orgs["operator"]).items if "Payment failed" in m.subject
    ]
    assert len(notices) == 1 and notices[0].to == "ap@acme.test"
    assert inv.number in notices[0].subject
    assert "Your card was declined." in notices[0].body and inv.stripe_url in notices[0].body
    assert "invoice.payment_failed" in _actions(inv_id)

    # Stripe retries; the customer pays out of band: Stripe's signed invoice.paid arrives.
    stripe_fake.fail_payment(sid, "Insufficient funds.")
    assert _invoice(inv_id).failure_reason == "Insufficient funds."
    stripe_sync.mark_paid_remote(inv_id)
    _wait(lambda: _invoice(inv_id).status == "paid")
    assert _invoice(inv_id).failure_reason == ""
    assert [k for k, _ in stripe_fake.webhooks] == [
        "invoice.payment_failed",
        "invoice.payment_failed",
        "invoice.paid",
    ]


def test_voiding_on_stripe_voids_ours(stripe_fake, portal_api, two_orgs):
    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    delivery.deliver(inv_id)
    assert stripe_sync.void_remote(inv_id) is True
    _wait(lambda: _invoice(inv_id).status == "void")
    assert stripe_fake.invoices[_invoice(inv_id).stripe_invoice_id]["status"] == "void"
    assert "invoice.void" in _actions(inv_id)


def test_localstripe_signed_webhooks_are_verified(stripe_fake, portal_api, two_orgs):
    """localstripe signs its own events (here customer.created); we accept and ignore them."""
    r = httpx.post(
        f"{stripe_fake.upstream}/_config/webhooks/mkportal",
        data={"url": stripe_fake.webhook_url, "secret": SECRET},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert r.status_code == 200
    delivery.deliver(insert_invoice(two_orgs["acme_owner"].org_id))

    def seen() -> bool:
        with session_scope() as s:
            return s.exec(select(StripeEvent).where(StripeEvent.type == "customer.created")).first()

    _wait(seen, timeout=15)


def test_a_billing_run_bills_through_stripe_and_a_rerun_duplicates_nothing(
    stripe_fake, two_orgs, monkeypatch
):
    from datetime import UTC, datetime

    from mkportal.services.billing import invoices
    from mkportal.services.billing.metering import meter
    from tests.unit.test_metering import make_cluster

    oct1, nov1 = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    for org in ("acme_owner", "globex_owner"):
        make_cluster(two_orgs[org].org_id, "web", created=datetime(2026, 9, 1, tzinfo=UTC))
    meter(nov1, start=oct1)
    real = stripe_sync._remember_line_item
    calls = {"n": 0}

    def crash_once(line_id: str, item_id: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("crash in the middle of the run")
        real(line_id, item_id)

    monkeypatch.setattr(stripe_sync, "_remember_line_item", crash_once)
    first = invoices.run_billing("2026-10", actor=two_orgs["operator"])
    assert len(first.invoice_ids) == 2 and len(first.errors) == 1
    monkeypatch.setattr(stripe_sync, "_remember_line_item", real)

    again = invoices.run_billing("2026-10", actor=two_orgs["operator"])

    assert again.errors == {} and sorted(again.invoice_ids) == sorted(first.invoice_ids)
    assert stripe_fake.count_customers() == 2 and len(stripe_fake.invoices) == 2
    for inv_id in again.invoice_ids:
        inv = _invoice(inv_id)
        lines = _lines(inv_id)
        assert inv.status == "sent" and inv.total > 0 and lines
        remote = stripe_fake.invoices[inv.stripe_invoice_id]
        items = stripe_fake.items_of(remote["id"])
        assert len(items) == len([ln for ln in lines if ln.amount != 0])
        assert sum(i["amount"] for i in items) == remote["amount_due"] == int(inv.total * 100)
        assert stripe_fake.sent[remote["id"]] == 1
    outbox = mail.list_outbox(two_orgs["operator"]).items
    assert sorted(m.to for m in outbox) == ["owner@acme.test", "owner@globex.test"]


@pytest.mark.postgres
def test_one_event_delivered_concurrently_is_applied_once_on_postgres(pg_db, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import make_two_orgs

    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    orgs = make_two_orgs()
    inv_id = insert_invoice(orgs["acme_owner"].org_id, status="sent")
    with session_scope() as s:
        inv = s.get(Invoice, inv_id)
        inv.stripe_invoice_id = "in_concurrent"
        s.add(inv)
    payload = _event("invoice.paid", _invoice(inv_id), event_id="evt_concurrent")

    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: stripe_sync.handle_webhook(payload, sign(payload, SECRET)), range(8))
        )

    assert sorted(results) == ["ignored"] * 7 + ["paid"]
    assert _invoice(inv_id).status == "paid"
    with session_scope() as s:
        assert len(s.exec(select(StripeEvent)).all()) == 1
        paid = s.exec(select(AuditEvent).where(AuditEvent.action == "invoice.paid")).all()
    assert len(paid) == 1


def test_a_new_billing_email_reaches_the_stripe_customer(stripe_fake, two_orgs):
    from mkportal.services.billing import notices

    delivery.deliver(insert_invoice(two_orgs["acme_owner"].org_id))
    notices.set_billing_email(two_orgs["acme_owner"], "ap@acme.test")
    with session_scope() as s:
        customer_id = s.get(BillingAccount, two_orgs["acme_owner"].org_id).stripe_customer_id
    customer = httpx.get(
        f"{stripe_fake.upstream}/v1/customers/{customer_id}",
        headers={"Authorization": f"Bearer {API_KEY}"},
    ).json()
    assert customer["email"] == "ap@acme.test"
