"""Stripe: pushing invoices (customer, invoice items, invoice, finalize, send) and webhooks.

Stripe is on when `STRIPE_API_KEY` is set. A push is resumable: every Stripe id is written
to our database right after the call that made it, so a re-run reuses it; every create
carries an idempotency key derived from our ids (``mkportal-customer-<org_id>``,
``mkportal-invoice-<invoice_id>``, ``mkportal-line-<line_id>``,
``mkportal-credits-<invoice_id>``), which covers a crash between Stripe's answer and our
write. Beyond Stripe's 24-hour idempotency window the items already on the Stripe invoice
are found again by their metadata.

The Stripe invoice is created first, as a draft with ``pending_invoice_items_behavior=
exclude``, and the items are created on it (``invoice=<id>``): no pending item of the
customer can slip into the wrong invoice. Service credits become one negative item.

Webhooks (`handle_webhook`) are verified with `STRIPE_WEBHOOK_SECRET`; each event id is
recorded in `StripeEvent` in the same transaction as its effect, so a replay is ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import stripe
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import BillingAccount, Invoice, InvoiceLine, StripeEvent
from mkportal.models.billing import InvoiceStatus as S
from mkportal.models.org import Organization
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.billing import lifecycle, notices
from mkportal.services.billing.money import parse_period
from mkportal.services.errors import Conflict, NotFound, ServiceError
from mkportal.settings import get_settings

log = logging.getLogger(__name__)

STRIPE_ACTOR = Actor.system("stripe")
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
HANDLED = {
    "invoice.paid": S.paid,
    "invoice.payment_failed": S.payment_failed,
    "invoice.voided": S.void,
}


class StripeOff(ServiceError):
    """Stripe is not configured (no `STRIPE_API_KEY`)."""

    status = 409


class StripeSyncError(ServiceError):
    """Our invoice cannot be represented on Stripe as it is (e.g. totals disagree)."""

    status = 409


class WebhookRejected(ServiceError):
    """A webhook call that is not a valid, signed Stripe event (HTTP 400)."""

    status = 400


def enabled() -> bool:
    """Whether Stripe synchronisation is on (`STRIPE_API_KEY` is set)."""
    return bool(get_settings().stripe_api_key)


def client() -> stripe.StripeClient:
    """Return a Stripe client for `STRIPE_API_KEY` (at `STRIPE_API_BASE` when set).

    Raises:
        StripeOff: No API key is configured.

    """
    settings = get_settings()
    if not settings.stripe_api_key:
        raise StripeOff("Stripe is off: set STRIPE_API_KEY to synchronise invoices.")
    base = settings.stripe_api_base.rstrip("/")
    if base:
        return stripe.StripeClient(
            settings.stripe_api_key,
            base_addresses={"api": base, "files": base, "connect": base, "meter_events": base},
            max_network_retries=2,
        )
    return stripe.StripeClient(settings.stripe_api_key, max_network_retries=2)


def to_minor(amount: Decimal, currency: str) -> int:
    """Convert an amount to the currency's smallest unit (cents for CHF), half up."""
    cur = currency.lower()
    exponent = 0 if cur in ZERO_DECIMAL else 3 if cur in THREE_DECIMAL else 2
    return int((amount * (Decimal(10) ** exponent)).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass(frozen=True)
class _Line:
    id: str
    amount: Decimal
    description: str
    cluster_id: str
    component: str
    stripe_item_id: str


@dataclass(frozen=True)
class _Snapshot:
    id: str
    org_id: str
    org_name: str
    number: str
    period: str
    currency: str
    status: str
    total: Decimal
    credit_total: Decimal
    stripe_invoice_id: str
    stripe_url: str
    customer_id: str
    contact: str
    lines: list[_Line]


def _snapshot(invoice_id: str) -> _Snapshot:
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        if inv is None:
            raise NotFound("Not found.")
        org = s.get(Organization, inv.org_id)
        account = s.get(BillingAccount, inv.org_id)
        contacts = notices.billing_contacts(s, inv.org_id)
        lines = s.exec(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == inv.id)
            .order_by(col(InvoiceLine.position), col(InvoiceLine.id))
        ).all()
        return _Snapshot(
            id=inv.id,
            org_id=inv.org_id,
            org_name=org.name if org else inv.org_id,
            number=inv.number,
            period=inv.period,
            currency=inv.currency.lower(),
            status=inv.status,
            total=inv.total,
            credit_total=inv.credit_total,
            stripe_invoice_id=inv.stripe_invoice_id,
            stripe_url=inv.stripe_url,
            customer_id=account.stripe_customer_id if account else "",
            contact=contacts[0] if contacts else "",
            lines=[
                _Line(
                    ln.id,
                    ln.amount,
                    f"{ln.cluster_name}: {ln.description}" if ln.cluster_name else ln.description,
                    ln.cluster_id,
                    ln.component,
                    ln.stripe_item_id,
                )
                for ln in lines
            ],
        )


def _remember_customer(org_id: str, customer_id: str) -> None:
    with session_scope() as s:
        account = s.get(BillingAccount, org_id) or BillingAccount(org_id=org_id)
        account.stripe_customer_id = customer_id
        account.updated_at = utcnow()
        s.add(account)


def _remember_invoice(invoice_id: str, stripe_invoice_id: str) -> None:
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        inv.stripe_invoice_id = stripe_invoice_id
        inv.updated_at = utcnow()
        s.add(inv)


def _remember_line_item(line_id: str, item_id: str) -> None:
    with session_scope() as s:
        line = s.get(InvoiceLine, line_id)
        line.stripe_item_id = item_id
        s.add(line)


def _remember_url(invoice_id: str, url: str, stripe_invoice_id: str) -> None:
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        inv.stripe_url = url
        inv.updated_at = utcnow()
        s.add(inv)
        audit.record(
            s,
            Actor.system("billing"),
            "invoice.stripe_synced",
            target_type="invoice",
            target_id=inv.id,
            org_id=inv.org_id,
            detail={"number": inv.number, "stripe_invoice_id": stripe_invoice_id},
        )


def _ensure_customer(c: stripe.StripeClient, snap: _Snapshot) -> str:
    if snap.customer_id:
        return snap.customer_id
    params: dict[str, Any] = {
        "name": snap.org_name,
        "metadata": {"org_id": snap.org_id},
        "description": f"mkportal organisation {snap.org_name}",
    }
    if snap.contact:
        params["email"] = snap.contact
    customer = c.v1.customers.create(
        params, {"idempotency_key": f"mkportal-customer-{snap.org_id}"}
    )
    _remember_customer(snap.org_id, customer.id)
    return customer.id


def _ensure_invoice(c: stripe.StripeClient, snap: _Snapshot, customer_id: str) -> Any:
    if snap.stripe_invoice_id:
        return c.v1.invoices.retrieve(snap.stripe_invoice_id)
    for found in c.v1.invoices.list({"customer": customer_id, "limit": 100}).auto_paging_iter():
        meta = found.to_dict().get("metadata") or {}
        if meta.get("invoice_id") == snap.id and found.status != "void":
            _remember_invoice(snap.id, found.id)
            return found
    created = c.v1.invoices.create(
        {
            "customer": customer_id,
            "collection_method": "send_invoice",
            "days_until_due": get_settings().invoice_due_days,
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "currency": snap.currency,
            "description": f"mkportal invoice {snap.number}, usage {snap.period}",
            "metadata": {
                "invoice_id": snap.id,
                "org_id": snap.org_id,
                "number": snap.number,
                "period": snap.period,
            },
        },
        {"idempotency_key": f"mkportal-invoice-{snap.id}"},
    )
    _remember_invoice(snap.id, created.id)
    return created


def _existing_items(c: stripe.StripeClient, stripe_invoice_id: str) -> dict[str, str]:
    """Map our line ids (and ``credits``) to the items already on the Stripe invoice."""
    found: dict[str, str] = {}
    for item in c.v1.invoice_items.list(
        {"invoice": stripe_invoice_id, "limit": 100}
    ).auto_paging_iter():
        meta = item.to_dict().get("metadata") or {}
        key = meta.get("line_id") or ("credits" if meta.get("kind") == "credits" else "")
        if key:
            found[key] = item.id
    return found


def _item_params(snap: _Snapshot, customer_id: str, sid: str, amount: int) -> dict[str, Any]:
    start, end = parse_period(snap.period)
    return {
        "customer": customer_id,
        "invoice": sid,
        "amount": amount,
        "currency": snap.currency,
        "period": {"start": int(start.timestamp()), "end": int(end.timestamp()) - 1},
    }


def _check_totals(snap: _Snapshot) -> None:
    """Refuse an invoice whose lines, in minor units, less the credits are not its total."""
    lines = sum(to_minor(ln.amount, snap.currency) for ln in snap.lines)
    expected = lines - to_minor(snap.credit_total, snap.currency)
    if expected != to_minor(snap.total, snap.currency):
        raise StripeSyncError(
            f"Invoice {snap.number}: its lines less credits come to {expected} minor units "
            f"but its total is {snap.total} {snap.currency.upper()}; not sent to Stripe."
        )


def _add_items(c: stripe.StripeClient, snap: _Snapshot, customer_id: str, sid: str) -> None:
    """Put one item per non-zero line, and one negative item for the credits, on the invoice."""
    on_stripe: dict[str, str] | None = None

    def existing() -> dict[str, str]:
        nonlocal on_stripe
        if on_stripe is None:
            on_stripe = _existing_items(c, sid)
        return on_stripe

    for ln in snap.lines:
        cents = to_minor(ln.amount, snap.currency)
        if cents == 0 or ln.stripe_item_id:
            continue
        item_id = existing().get(ln.id)
        if item_id is None:
            params = _item_params(snap, customer_id, sid, cents) | {
                "description": ln.description[:500],
                "metadata": {
                    "invoice_id": snap.id,
                    "line_id": ln.id,
                    "cluster_id": ln.cluster_id,
                    "component": ln.component,
                },
            }
            item_id = c.v1.invoice_items.create(
                params, {"idempotency_key": f"mkportal-line-{ln.id}"}
            ).id
        _remember_line_item(ln.id, item_id)
    credit_cents = to_minor(snap.credit_total, snap.currency)
    if credit_cents > 0 and "credits" not in existing():
        params = _item_params(snap, customer_id, sid, -credit_cents) | {
            "description": f"Service credits {snap.period}",
            "metadata": {"invoice_id": snap.id, "kind": "credits"},
        }
        c.v1.invoice_items.create(params, {"idempotency_key": f"mkportal-credits-{snap.id}"})


def push_invoice(invoice_id: str) -> str:
    """Create (or complete) the invoice on Stripe, finalize it and have Stripe send it.

    Safe to call again after a crash at any point: stored ids are reused, creates carry
    idempotency keys, and finalize/send are skipped when Stripe already did them.

    Returns:
        The Stripe invoice id.

    Raises:
        StripeOff: Stripe is not configured.
        NotFound: No such invoice.
        Conflict: The invoice is a draft or void.
        StripeSyncError: Our lines and total disagree.

    """
    c = client()
    snap = _snapshot(invoice_id)
    if snap.status in (S.draft, S.void):
        raise Conflict(f"Invoice {snap.number} is {snap.status}; it is not sent to Stripe.")
    _check_totals(snap)
    customer_id = _ensure_customer(c, snap)
    remote = _ensure_invoice(c, snap, customer_id)
    sid = remote.id
    if remote.status == "draft":
        _add_items(c, snap, customer_id, sid)
        remote = c.v1.invoices.finalize_invoice(
            sid, {"auto_advance": False}, {"idempotency_key": f"mkportal-finalize-{snap.id}"}
        )
    if remote.status == "open":
        remote = c.v1.invoices.send_invoice(
            sid, None, {"idempotency_key": f"mkportal-send-{snap.id}"}
        )
    url = remote.to_dict().get("hosted_invoice_url") or ""
    if url != snap.stripe_url:
        _remember_url(snap.id, url, sid)
    return sid


def _remote(invoice_id: str) -> tuple[stripe.StripeClient, Any] | None:
    if not enabled():
        return None
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        if inv is None:
            raise NotFound("Not found.")
        sid = inv.stripe_invoice_id
    if not sid:
        return None
    c = client()
    return c, c.v1.invoices.retrieve(sid)


def void_remote(invoice_id: str) -> bool:
    """Void the Stripe copy of an invoice (callers check authorization and void ours).

    A Stripe draft is deleted (Stripe cannot void drafts); an open invoice is voided.

    Returns:
        True when Stripe had a copy that is now void or deleted.

    """
    found = _remote(invoice_id)
    if found is None:
        return False
    c, remote = found
    if remote.status == "draft":
        c.v1.invoices.delete(remote.id)
        return True
    if remote.status in ("open", "uncollectible"):
        c.v1.invoices.void_invoice(
            remote.id, None, {"idempotency_key": f"mkportal-void-{invoice_id}"}
        )
        return True
    return remote.status == "void"


def mark_paid_remote(invoice_id: str) -> bool:
    """Record on Stripe that an invoice was paid outside Stripe (callers check authorization).

    Returns:
        True when Stripe's copy is now paid.

    """
    found = _remote(invoice_id)
    if found is None:
        return False
    c, remote = found
    if remote.status == "open":
        c.v1.invoices.pay(
            remote.id,
            {"paid_out_of_band": True},
            {"idempotency_key": f"mkportal-paid-{invoice_id}"},
        )
        return True
    return remote.status == "paid"


def _find_invoice(s, obj: dict) -> Invoice | None:  # noqa: ANN001
    meta = obj.get("metadata") or {}
    inv = s.get(Invoice, str(meta.get("invoice_id", ""))) if meta.get("invoice_id") else None
    if inv is not None and inv.stripe_invoice_id and obj.get("id") != inv.stripe_invoice_id:
        inv = None
    if inv is None and obj.get("id"):
        inv = s.exec(select(Invoice).where(Invoice.stripe_invoice_id == str(obj["id"]))).first()
    return inv


def _intent_ids(obj: dict) -> list[str]:
    """Return the PaymentIntent ids of an invoice object (classic and newer API shapes)."""
    ids = [obj.get("payment_intent")]
    for payment in (obj.get("payments") or {}).get("data") or []:
        ids.append(((payment or {}).get("payment") or {}).get("payment_intent"))
    return [i for i in ids if isinstance(i, str) and i]


def _failure_reason(obj: dict) -> str:
    """Return Stripe's reason for a failed payment, as precise as the event allows."""
    err = obj.get("last_finalization_error")
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])[:1000]
    if enabled():
        for intent_id in reversed(_intent_ids(obj)):
            try:
                intent = client().v1.payment_intents.retrieve(intent_id)
            except stripe.StripeError as exc:
                log.warning("cannot read payment intent %s: %s", intent_id, exc)
                continue
            message = (intent.to_dict().get("last_payment_error") or {}).get("message")
            if message:
                return str(message)[:1000]
    attempts = obj.get("attempt_count") or 1
    return f"Stripe could not collect the payment (attempt {attempts})."


def handle_webhook(payload: bytes, signature: str) -> str:
    """Verify and apply one Stripe webhook event.

    ``invoice.paid`` marks our invoice paid, ``invoice.payment_failed`` marks it
    payment_failed (with Stripe's reason) and emails the billing contacts, and
    ``invoice.voided`` voids it. Other types, replays and invoices that are not ours are
    acknowledged and ignored.

    Returns:
        The new status (``paid``, ``payment_failed``, ``void``) or ``ignored``.

    Raises:
        WebhookRejected: No secret configured, no or a bad signature, or not an event.

    """
    secret = get_settings().stripe_webhook_secret
    if not secret:
        raise WebhookRejected("Stripe webhooks are off: STRIPE_WEBHOOK_SECRET is not set.")
    if not signature:
        raise WebhookRejected("Missing Stripe-Signature header.")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
        event = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRejected(f"Invalid Stripe signature: {exc.user_message or exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("The body is not a Stripe event (invalid JSON).") from None
    event_id, kind = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id or not kind:
        raise WebhookRejected("The body is not a Stripe event (no id or type).")
    obj = (event.get("data") or {}).get("object") or {}
    reason = _failure_reason(obj) if HANDLED.get(kind) == S.payment_failed else ""
    try:
        return _apply(event_id, kind, obj, reason)
    except IntegrityError:
        log.info("stripe event %s arrived twice at once; the second is ignored", event_id)
        return "ignored"


def _apply(event_id: str, kind: str, obj: dict, reason: str) -> str:
    with session_scope() as s:
        if s.get(StripeEvent, event_id) is not None:
            return "ignored"
        new = HANDLED.get(kind)
        inv = _find_invoice(s, obj) if new else None
        again = inv is not None and inv.status == new == S.payment_failed
        if inv is None or not (again or lifecycle.can_transition(inv.status, new)):
            if inv is not None:
                log.info("stripe %s for invoice %s (%s) ignored", kind, inv.number, inv.status)
            s.add(StripeEvent(id=event_id[:255], type=kind[:100]))
            return "ignored"
        detail = {"stripe_event": event_id, "stripe_invoice_id": str(obj.get("id", ""))}
        if new == S.payment_failed:
            # Mailed before any write: a failed send rolls back, and Stripe retries the event.
            to = notices.send_payment_failed(s, inv, reason)
            inv.failure_reason = reason
            detail |= {"reason": reason, "notified": to}
        elif new == S.paid:
            inv.failure_reason = ""
        s.add(StripeEvent(id=event_id[:255], type=kind[:100]))
        if not lifecycle.transition(s, inv, new, STRIPE_ACTOR, detail):
            # A further failed attempt (other repeats were ignored above).
            s.add(inv)
            audit.record(
                s,
                STRIPE_ACTOR,
                "invoice.payment_failed_again",
                target_type="invoice",
                target_id=inv.id,
                org_id=inv.org_id,
                detail={"number": inv.number, **detail},
            )
        return new
