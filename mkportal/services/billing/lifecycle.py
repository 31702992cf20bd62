"""The invoice life cycle: which status changes are allowed, each one audited.

draft -> finalized -> sent -> paid | payment_failed; payment_failed -> paid;
finalized/sent/payment_failed -> void. A draft can be rebuilt; nothing after it can.
"""

from __future__ import annotations

from sqlmodel import Session

from mkportal.models.base import utcnow
from mkportal.models.billing import Invoice
from mkportal.models.billing import InvoiceStatus as S
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict

ALLOWED: dict[str, set[str]] = {
    S.draft: {S.finalized},
    S.finalized: {S.sent, S.paid, S.payment_failed, S.void},
    S.sent: {S.paid, S.payment_failed, S.void},
    S.payment_failed: {S.paid, S.void, S.sent},
    S.paid: set(),
    S.void: set(),
}
STAMPS = {S.finalized: "finalized_at", S.sent: "sent_at", S.paid: "paid_at"}


def can_transition(current: str, new: str) -> bool:
    """Whether an invoice in `current` may move to `new`."""
    return new in ALLOWED.get(current, set())


def transition(
    session: Session, invoice: Invoice, new: str, actor: Actor, detail: dict | None = None
) -> bool:
    """Move `invoice` to status `new` inside `session`, with an audit event.

    Returns:
        True when the status changed; False when it already was `new` (a repeat is a no-op).

    Raises:
        Conflict: The life cycle does not allow the change.

    """
    if invoice.status == new:
        return False
    if not can_transition(invoice.status, new):
        raise Conflict(f"Invoice {invoice.number} is {invoice.status}; it cannot become {new}.")
    old = invoice.status
    now = utcnow()
    invoice.status = new
    invoice.updated_at = now
    if new in STAMPS and getattr(invoice, STAMPS[new]) is None:
        setattr(invoice, STAMPS[new], now)
    session.add(invoice)
    audit.record(
        session,
        actor,
        f"invoice.{new}",
        target_type="invoice",
        target_id=invoice.id,
        org_id=invoice.org_id,
        detail={"from": old, "to": new, "number": invoice.number, **(detail or {})},
    )
    return True
