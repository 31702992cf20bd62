"""Billing notices: who receives an organisation's billing mail, and the payment-failure notice.

The billing contact is the organisation's ``BillingAccount.billing_email`` when set.
Otherwise it is the organisation's active owners who have not turned off the ``billing``
notification; when every owner turned it off, all active owners still get it (an invoice
or a failed payment must reach somebody).
"""

from __future__ import annotations

from sqlmodel import Session, select

from mkportal.models.billing import BillingAccount, Invoice
from mkportal.models.org import Membership, Organization, Role, User
from mkportal.services import mail
from mkportal.services.billing.money import money
from mkportal.settings import get_settings


def billing_contacts(session: Session, org_id: str) -> list[str]:
    """Return the addresses that receive `org_id`'s invoices and billing notices."""
    account = session.get(BillingAccount, org_id)
    if account is not None and account.billing_email.strip():
        return [account.billing_email.strip()]
    owners = session.exec(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.org_id == org_id,
            Membership.role == Role.owner.value,
            User.is_active == True,  # noqa: E712
        )
        .order_by(User.email)
    ).all()
    wanting = [u.email for u in owners if u.notification_prefs.get("billing", True)]
    return wanting or [u.email for u in owners]


def billing_link() -> str:
    """Return the absolute link to the customer's billing page."""
    return f"{get_settings().base_url.rstrip('/')}/billing"


def send_payment_failed(session: Session, invoice: Invoice, reason: str) -> list[str]:
    """Email the billing contacts that paying `invoice` failed.

    Args:
        session: An open session (read only here).
        invoice: The invoice whose payment failed.
        reason: What Stripe reported, shown to the customer.

    Returns:
        The recipients (empty when the organisation has nobody to notify).

    """
    to = billing_contacts(session, invoice.org_id)
    if not to:
        return []
    org = session.get(Organization, invoice.org_id)
    org_name = org.name if org else invoice.org_id
    lines = [
        f"Hello {org_name},",
        "",
        f"the payment of invoice {invoice.number} ({invoice.period}) over "
        f"{invoice.currency} {money(invoice.total):,.2f} failed.",
        "",
        f"Reason: {reason}",
        "",
    ]
    if invoice.stripe_url:
        lines += ["Pay the invoice or update your payment method here:", invoice.stripe_url, ""]
    lines += [
        f"Your invoices are listed at {billing_link()}.",
        "",
        "If you have already paid, please ignore this message.",
        "",
        "-- mkportal billing",
    ]
    mail.send(", ".join(to), f"Payment failed for invoice {invoice.number}", "\n".join(lines))
    return to
