"""Billing notices: who receives an organisation's billing mail, and the payment-failure notice.

The billing contact is the organisation's ``BillingAccount.billing_email`` when set.
Otherwise it is the organisation's active owners who have not turned off the ``billing``
notification; when every owner turned it off, all active owners still get it (an invoice
or a failed payment must reach somebody).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import BillingAccount, Invoice
from mkportal.models.org import Membership, Organization, Role, User
from mkportal.services import audit, mail
from mkportal.services.actor import Actor
from mkportal.services.billing.money import money
from mkportal.services.errors import NotFound
from mkportal.services.validation import clean_email
from mkportal.settings import get_settings

log = logging.getLogger(__name__)


@dataclass
class BillingContact:
    """Where an organisation's invoices and billing notices go.

    Attributes:
        org_id: The organisation.
        billing_email: The billing address set by an owner ("" when unset).
        recipients: Who actually receives them now (the billing email, or the owners).

    """

    org_id: str
    billing_email: str
    recipients: list[str]


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


def get_billing_contact(actor: Actor) -> BillingContact:
    """Return the caller's organisation's billing contact (any member).

    Raises:
        NotFound: The caller acts in no organisation.

    """
    if not actor.org_id:
        raise NotFound("Not found.")
    with session_scope() as s:
        account = s.get(BillingAccount, actor.org_id)
        return BillingContact(
            actor.org_id,
            account.billing_email if account else "",
            billing_contacts(s, actor.org_id),
        )


def set_billing_email(actor: Actor, email: str) -> BillingContact:
    """Set (or, with "", clear) the address that receives invoices (owners only).

    With Stripe on, the organisation's Stripe customer gets the new address too.

    Raises:
        NotFound: The caller acts in no organisation.
        Forbidden: The caller is not an owner.
        Invalid: Not an email address.

    """
    if not actor.org_id:
        raise NotFound("Not found.")
    actor.require_role(Role.owner)
    value = clean_email(email, "billing_email") if (email or "").strip() else ""
    with session_scope() as s:
        account = s.get(BillingAccount, actor.org_id) or BillingAccount(org_id=actor.org_id)
        old = account.billing_email
        account.billing_email = value
        account.updated_at = utcnow()
        s.add(account)
        audit.record(
            s,
            actor,
            "billing.contact_updated",
            target_type="organization",
            target_id=actor.org_id,
            detail={"from": old, "to": value},
        )
        customer_id = account.stripe_customer_id
    contact = get_billing_contact(actor)
    if customer_id:
        _update_stripe_email(customer_id, contact.recipients)
    return contact


def _update_stripe_email(customer_id: str, recipients: list[str]) -> None:
    from mkportal.services.billing import stripe_sync

    if not stripe_sync.enabled() or not recipients:
        return
    try:
        stripe_sync.client().v1.customers.update(customer_id, {"email": recipients[0]})
    except stripe_sync.stripe.StripeError:
        log.warning("could not update the email of Stripe customer %s", customer_id, exc_info=True)
