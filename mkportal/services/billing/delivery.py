"""Delivering finalized invoices: Stripe (when on), the invoice email, then status ``sent``.

`deliver` is idempotent and resumable. Each step leaves a mark that a re-run checks:
the Stripe ids (see `stripe_sync`), ``Invoice.emailed_at`` for the email, and the status
for the last step. The email is sent before ``emailed_at`` is written, so a crash in
between can send it twice but never loses it (at least once).

Zero totals: an invoice with nothing to pay (no usage, or credits covering everything) is
not pushed to Stripe; it is still emailed, so customers always see what they were billed,
and then marked paid, as Stripe itself would mark a zero invoice.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from mkportal.db import session_scope
from mkportal.models.base import new_id, utcnow
from mkportal.models.billing import Invoice
from mkportal.models.billing import InvoiceStatus as S
from mkportal.models.org import Organization
from mkportal.services import audit, mail
from mkportal.services.actor import Actor
from mkportal.services.billing import documents, lifecycle, notices, stripe_sync
from mkportal.services.billing.money import money
from mkportal.services.errors import Conflict, NotFound

BILLING_ACTOR = Actor.system("billing")


def _html_body(inv: Invoice, org_name: str) -> str:
    e = escape
    total = f"{inv.currency} {money(inv.total):,.2f}"
    pay = (
        f'<p><a href="{e(inv.stripe_url, quote=True)}" style="display:inline-block;'
        "padding:10px 18px;background:#3e63dd;color:#fff;border-radius:6px;"
        'text-decoration:none">Pay invoice online</a></p>'
        if inv.stripe_url and inv.total > 0
        else ""
    )
    nothing = "<p>There is nothing to pay for this period.</p>" if inv.total <= 0 else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Invoice {e(inv.number)}</title></head>"
        '<body style="font-family:Helvetica,Arial,sans-serif;color:#1c2024;font-size:14px">'
        f"<p>Hello {e(org_name)},</p>"
        f"<p>your mkportal invoice <strong>{e(inv.number)}</strong> for "
        f"{e(inv.period)} is ready.</p>"
        '<table style="border-collapse:collapse">'
        f'<tr><td style="padding:2px 12px 2px 0;color:#60646c">Subtotal</td>'
        f"<td>{e(inv.currency)} {money(inv.subtotal):,.2f}</td></tr>"
        f'<tr><td style="padding:2px 12px 2px 0;color:#60646c">Credits</td>'
        f"<td>{e(inv.currency)} -{money(inv.credit_total):,.2f}</td></tr>"
        f'<tr><td style="padding:2px 12px 2px 0;color:#60646c"><strong>Total</strong></td>'
        f"<td><strong>{e(total)}</strong></td></tr></table>"
        f"{nothing}{pay}"
        f"<p>The full invoice is attached ({e(documents.filename_for(inv))}); your invoices "
        f'and usage are also at <a href="{e(notices.billing_link(), quote=True)}">'
        f"{e(notices.billing_link())}</a>.</p>"
        "<p>-- mkportal billing</p></body></html>"
    )


def _email(invoice_id: str, actor: Actor, *, resent: bool) -> list[str]:
    """Email the invoice to the billing contacts and stamp ``emailed_at``."""
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        if inv is None:
            raise NotFound("Not found.")
        org = s.get(Organization, inv.org_id)
        org_name = org.name if org else inv.org_id
        to = notices.billing_contacts(s, inv.org_id)
    if not to:
        raise Conflict(
            f"{org_name} has no billing email and no owner: invoice {inv.number} has no recipient."
        )
    document = documents.render_html(invoice_id)
    text = (
        f"Hello {org_name},\n\nyour mkportal invoice {inv.number} for {inv.period} is ready: "
        f"{inv.currency} {money(inv.total):,.2f}.\n"
        + (f"Pay it online: {inv.stripe_url}\n" if inv.stripe_url and inv.total > 0 else "")
        + f"The full invoice is attached; your invoices are at {notices.billing_link()}.\n\n"
        + documents.render_text(invoice_id)
    )
    prefix = "Copy: " if resent else ""
    mail.send(
        ", ".join(to),
        f"{prefix}mkportal invoice {inv.number} ({inv.period}): "
        f"{inv.currency} {money(inv.total):,.2f}",
        text,
        html=_html_body(inv, org_name),
        attachments=[(documents.filename_for(inv), "text/html", document.encode("utf-8"))],
    )
    with session_scope() as s:
        row = s.get(Invoice, invoice_id)
        row.emailed_at = utcnow()
        s.add(row)
        audit.record(
            s,
            actor,
            "invoice.resent" if resent else "invoice.emailed",
            target_type="invoice",
            target_id=row.id,
            org_id=row.org_id,
            detail={"number": row.number, "to": to},
        )
    return to


DELIVERY_LEASE_SECONDS = 600.0


def _deliver(invoice_id: str) -> list[str]:
    """Run the delivery steps still missing; return whom this run emailed.

    One deliverer at a time per invoice (a lease in the lock table): a second run at the
    same moment (the CLI beside the scheduled run) gets a Conflict and is retried later, so
    the invoice is not emailed twice. A deliverer that died loses the lease when it expires.
    """
    from mkportal.worker.tick import acquire_lock, release_lock

    lock, owner = f"deliver:{invoice_id}", new_id()
    if not acquire_lock(lock, owner, DELIVERY_LEASE_SECONDS):
        raise Conflict("The invoice is being delivered by another run right now; try again.")
    try:
        return _deliver_steps(invoice_id)
    finally:
        release_lock(lock, owner)


def _deliver_steps(invoice_id: str) -> list[str]:
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        if inv is None:
            raise NotFound("Not found.")
        status, emailed, total, number = inv.status, inv.emailed_at, inv.total, inv.number
    if status == S.draft:
        raise Conflict(f"Invoice {number} is a draft; finalize it before delivering it.")
    if status == S.void or (emailed is not None and status != S.finalized):
        return []
    if status == S.finalized and total > 0 and stripe_sync.enabled():
        stripe_sync.push_invoice(invoice_id)
    to = _email(invoice_id, BILLING_ACTOR, resent=False) if emailed is None else []
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        if inv.status == S.finalized:
            lifecycle.transition(s, inv, S.sent, BILLING_ACTOR, {"stripe": bool(inv.stripe_url)})
            if inv.total <= Decimal(0):
                lifecycle.transition(s, inv, S.paid, BILLING_ACTOR, {"reason": "nothing to pay"})
    return to


def deliver(invoice_id: str) -> None:
    """Deliver a finalized invoice: push it to Stripe (when on), email it, mark it sent.

    Idempotent: a re-run only does the steps not done yet, and an invoice that was already
    emailed is not emailed again. Void invoices are skipped.

    Raises:
        NotFound: No such invoice.
        Conflict: The invoice is a draft, its organisation has nobody to email, or another
            run is delivering it right now.
        stripe.StripeError: Stripe refused or could not be reached (re-run later).

    """
    _deliver(invoice_id)


def resend(actor: Actor, invoice_id: str) -> list[str]:
    """Email an invoice again to its billing contacts (operators only), audited.

    An invoice that was never delivered is delivered (Stripe, email, sent) instead.

    Returns:
        The recipients.

    Raises:
        NotFound: Not an operator, or no such invoice.
        Conflict: The invoice is a draft or void.

    """
    actor.require_operator()
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        if inv is None:
            raise NotFound("Not found.")
        status, number, org_id = inv.status, inv.number, inv.org_id
    if status in (S.draft, S.void):
        raise Conflict(f"Invoice {number} is {status}; only issued invoices can be sent.")
    first = _deliver(invoice_id) if status == S.finalized else []
    if first:
        with session_scope() as s:
            audit.record(
                s,
                actor,
                "invoice.resent",
                target_type="invoice",
                target_id=invoice_id,
                org_id=org_id,
                detail={"number": number, "to": first, "first_delivery": True},
            )
        return first
    return _email(invoice_id, actor, resent=True)
