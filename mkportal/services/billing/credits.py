"""Service credits: added by operators with a reason, or computed from SLO reports.

A credit is deducted from its organisation's invoice of its month. Credits can only be
added while that invoice is not finalized yet (afterwards: add it to a later month).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.billing import Credit, Invoice, InvoiceStatus
from mkportal.models.cluster import Cluster
from mkportal.models.org import Organization
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.billing.money import parse_period, to_decimal
from mkportal.services.errors import Conflict, Invalid
from mkportal.services.pagination import Page, paginate

MAX_CREDIT = Decimal("1000000")


@dataclass
class CreditView:
    """A credit as callers see it (amount is a positive Decimal, deducted from the invoice)."""

    id: str
    org_id: str
    org_name: str
    period: str
    cluster_id: str
    amount: Decimal
    reason: str
    source: str
    created_by: str
    created_at: datetime


def credit_view(c: Credit, org_name: str) -> CreditView:
    """Convert a row to its public view."""
    return CreditView(
        id=c.id,
        org_id=c.org_id,
        org_name=org_name,
        period=c.period,
        cluster_id=c.cluster_id,
        amount=c.amount,
        reason=c.reason,
        source=c.source,
        created_by=c.created_by,
        created_at=c.created_at,
    )


def credits_of(s: Session, org_id: str, period: str) -> list[Credit]:
    """Return an organisation's credits for a month, oldest first."""
    return list(
        s.exec(
            select(Credit)
            .where(Credit.org_id == org_id, Credit.period == period)
            .order_by(col(Credit.created_at), col(Credit.id))
        )
    )


def _check_amount(value: object) -> Decimal:
    amount = to_decimal(value, "amount")
    if amount <= 0:
        raise Invalid({"amount": "A credit must be more than 0."})
    if amount > MAX_CREDIT:
        raise Invalid({"amount": f"A credit can be at most {MAX_CREDIT:,}."})
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid({"amount": "Use at most two decimals (cents)."})
    return amount.quantize(Decimal("0.01"))


def add_credit(
    actor: Actor,
    *,
    org_id: str,
    period: str,
    amount: object,
    reason: str,
    cluster_id: str = "",
) -> CreditView:
    """Add a manual credit to an organisation's invoice of `period` (operators only).

    Args:
        actor: The caller; must be an operator.
        org_id: The organisation credited.
        period: The month whose invoice it is deducted from, ``YYYY-MM``.
        amount: The credit, > 0, in the invoice's currency (a string or integer).
        reason: Why (shown on the invoice), 3 to 500 characters.
        cluster_id: Optionally the cluster it is for (one of the organisation's).

    Raises:
        NotFound: Not an operator.
        Invalid: Bad amount, period, reason, organisation or cluster.
        Conflict: That month's invoice is already finalized.

    """
    actor.require_operator()
    errors: dict[str, str] = {}
    try:
        parse_period(period)
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        value = _check_amount(amount)
    except Invalid as exc:
        errors.update(exc.errors)
    reason = (reason or "").strip()
    if not 3 <= len(reason) <= 500:
        errors["reason"] = "Give a reason of 3 to 500 characters."
    with session_scope() as s:
        org = s.get(Organization, org_id) if org_id else None
        if org is None:
            errors["org_id"] = "Choose an existing organisation."
        if cluster_id:
            cluster = s.get(Cluster, cluster_id)
            if cluster is None or org is None or cluster.org_id != org.id:
                errors["cluster_id"] = "Choose one of the organisation's clusters, or none."
        if errors:
            raise Invalid(errors)
        inv = s.exec(
            select(Invoice).where(Invoice.org_id == org_id, Invoice.period == period)
        ).first()
        if inv is not None and inv.status != InvoiceStatus.draft:
            raise Conflict(
                f"Invoice {inv.number} for {period} is already {inv.status}; "
                "add the credit to a later month."
            )
        credit = Credit(
            org_id=org_id,
            period=period,
            cluster_id=cluster_id,
            amount=value,
            reason=reason,
            source="manual",
            created_by=actor.email,
        )
        s.add(credit)
        audit.record(
            s,
            actor,
            "credit.added",
            target_type="credit",
            target_id=credit.id,
            org_id=org_id,
            detail={
                "period": period,
                "amount": str(value),
                "reason": reason,
                "cluster_id": cluster_id,
                "source": "manual",
            },
        )
        return credit_view(credit, org.name)


def list_credits(
    actor: Actor, *, org_id: str = "", period: str = "", page: int = 1, per_page: int = 25
) -> Page[CreditView]:
    """List credits, newest first: every organisation's for operators, else the caller's own.

    Raises:
        Invalid: A bad period filter.

    """
    query = select(Credit, Organization.name).join(
        Organization, col(Organization.id) == col(Credit.org_id)
    )
    if not actor.is_operator:
        if actor.org_id is None:
            return Page(items=[], total=0, page=1, per_page=per_page)
        query = query.where(Credit.org_id == actor.org_id)
    if org_id:
        query = query.where(Credit.org_id == org_id)
    if period:
        parse_period(period)
        query = query.where(Credit.period == period)
    query = query.order_by(col(Credit.created_at).desc(), col(Credit.id))
    with session_scope() as s:
        rows, total, page, per_page = paginate(s, query, page, per_page)
        items = [credit_view(c, name) for c, name in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)
