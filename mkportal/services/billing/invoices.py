"""Invoices: the monthly billing run, and reading and settling invoices.

`run_billing` is safe to re-run at any point: each organisation's draft is (re)built in one
transaction (unique per organisation and month, its number kept on rebuild, its lines
deleted and rewritten), finalized or later invoices are never touched, finalizing is a
checked life-cycle transition, and delivery is idempotent. A run that crashed halfway and
is run again therefore produces the same invoices.

Credits are capped at the subtotal: an invoice's total never goes below zero, and a credit
larger than the month's charges is only used up to them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.base import new_id, utcnow
from mkportal.models.billing import Credit, Invoice, InvoiceLine, InvoiceStatus, UsageRecord
from mkportal.models.org import Organization
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.billing import lifecycle, metering, rating
from mkportal.services.billing.credits import CreditView, credit_view, credits_of
from mkportal.services.billing.money import parse_period
from mkportal.services.billing.prices import versions_between
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.metrics import slo
from mkportal.services.pagination import Page, paginate

log = logging.getLogger(__name__)
S = InvoiceStatus
STATUSES = (S.draft, S.finalized, S.sent, S.paid, S.payment_failed, S.void)
UNPAID = (S.finalized, S.sent, S.payment_failed)


@dataclass
class InvoiceView:
    """An invoice as callers see it (money as Decimal)."""

    id: str
    org_id: str
    org_name: str
    period: str
    number: str
    currency: str
    status: str
    subtotal: Decimal
    credit_total: Decimal
    total: Decimal
    finalized_at: datetime | None
    sent_at: datetime | None
    paid_at: datetime | None
    stripe_url: str
    failure_reason: str


@dataclass
class LineView:
    """One invoice line."""

    cluster_name: str
    component: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    price_version: int


@dataclass
class InvoiceDetail:
    """An invoice with its lines and the credits deducted."""

    invoice: InvoiceView
    lines: list[LineView]
    credits: list[CreditView]


@dataclass
class RunResult:
    """What a billing run did.

    Attributes:
        period: The month billed.
        invoice_ids: Every invoice of the run's organisations for the month.
        created: Drafts created by this run.
        rebuilt: Existing drafts rebuilt by this run.
        unchanged: Invoices already finalized or later (not touched).
        delivered: Invoices handed to delivery by this run.
        errors: Delivery errors by invoice id (a re-run retries them).

    """

    period: str
    invoice_ids: list[str]
    created: int
    rebuilt: int
    unchanged: int
    delivered: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def invoice_view(inv: Invoice, org_name: str) -> InvoiceView:
    """Convert a row to its public view."""
    return InvoiceView(
        id=inv.id,
        org_id=inv.org_id,
        org_name=org_name,
        period=inv.period,
        number=inv.number,
        currency=inv.currency,
        status=inv.status,
        subtotal=inv.subtotal,
        credit_total=inv.credit_total,
        total=inv.total,
        finalized_at=inv.finalized_at,
        sent_at=inv.sent_at,
        paid_at=inv.paid_at,
        stripe_url=inv.stripe_url,
        failure_reason=inv.failure_reason,
    )


def check_period_over(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Return the month's bounds, refusing a month that has not ended yet.

    Raises:
        Invalid: Not ``YYYY-MM``, or the month is not over.

    """
    start, end = parse_period(period)
    if end > (now or utcnow()):
        raise Invalid(
            {
                "period": f"{period} is not over yet; it can be billed from "
                f"{end:%Y-%m-%d}. Until then the running estimate shows it."
            }
        )
    return start, end


def meter_period(period: str) -> int:
    """Meter the hours of `period` not metered yet (when metering has ever run)."""
    _, end = parse_period(period)
    if metering.cursor() is None:
        return 0
    return metering.meter(min(end, utcnow()))


def _lock_invoice(s: Session, org_id: str, period: str) -> Invoice | None:
    return s.exec(
        select(Invoice).where(Invoice.org_id == org_id, Invoice.period == period).with_for_update()
    ).first()


def _new_invoice(s: Session, org_id: str, period: str, currency: str) -> tuple[Invoice, bool]:
    """Insert the org's invoice for the month with the next free number of the month.

    Returns:
        The invoice and whether it was created (False: a concurrent run made it first).

    """
    taken = s.exec(select(func.count()).select_from(Invoice).where(Invoice.period == period)).one()
    for seq in range(taken + 1, taken + 50):
        inv = Invoice(org_id=org_id, period=period, number=f"MKP-{period}-{seq:04d}")
        inv.currency = currency
        try:
            with s.begin_nested():
                s.add(inv)
                s.flush()
            return inv, True
        except IntegrityError:
            existing = _lock_invoice(s, org_id, period)
            if existing is not None:
                return existing, False
    raise Conflict(f"Could not number the invoice of {period}; run the billing again.")


def _sync_slo_credits(
    s: Session, actor: Actor, org_id: str, period: str, wanted: list[rating.SloCredit]
) -> None:
    existing = {
        c.cluster_id: c
        for c in s.exec(
            select(Credit).where(
                Credit.org_id == org_id, Credit.period == period, Credit.source == "slo"
            )
        )
    }
    for sc in wanted:
        row = existing.pop(sc.cluster_id, None)
        if row is not None and row.amount == sc.amount and row.reason == sc.reason:
            continue
        action = "credit.updated" if row is not None else "credit.added"
        if row is None:
            row = Credit(
                org_id=org_id,
                period=period,
                cluster_id=sc.cluster_id,
                source="slo",
                created_by=actor.email,
                reason=sc.reason[:500],
            )
        row.amount, row.reason = sc.amount, sc.reason[:500]
        s.add(row)
        audit.record(
            s,
            actor,
            action,
            target_type="credit",
            target_id=row.id,
            org_id=org_id,
            detail={"period": period, "amount": str(sc.amount), "source": "slo"},
        )
    for stale in existing.values():
        s.delete(stale)
        audit.record(
            s,
            actor,
            "credit.removed",
            target_type="credit",
            target_id=stale.id,
            org_id=org_id,
            detail={"period": period, "source": "slo", "reason": "no longer owed"},
        )


def write_draft(
    period: str, org_id: str, charges: rating.OrgCharges, actor: Actor
) -> tuple[str, str]:
    """Build or rebuild one organisation's draft invoice in one transaction.

    Returns:
        The invoice id and ``created``, ``rebuilt`` or ``unchanged`` (finalized or later).

    """
    with session_scope() as s:
        inv = _lock_invoice(s, org_id, period)
        created = False
        if inv is None:
            inv, created = _new_invoice(s, org_id, period, charges.currency)
        if inv.status != S.draft:
            return inv.id, "unchanged"
        s.exec(delete(InvoiceLine).where(col(InvoiceLine.invoice_id) == inv.id))
        rows = [
            {
                "id": new_id(),
                "invoice_id": inv.id,
                "position": position,
                "cluster_id": line.cluster_id,
                "cluster_name": line.cluster_name[:40],
                "component": line.component,
                "sku": line.sku[:100],
                "description": line.description,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": line.unit_price,
                "amount": line.amount,
                "price_version": line.price_version,
                "stripe_item_id": "",
            }
            for position, line in enumerate(charges.lines, start=1)
        ]
        if rows:
            s.connection().execute(insert(InvoiceLine.__table__), rows)
        _sync_slo_credits(s, actor, org_id, period, charges.slo_credits)
        s.flush()
        credits = [c.amount for c in credits_of(s, org_id, period)]
        subtotal = charges.subtotal
        credit_total, total = rating.apply_credits(subtotal, credits)
        inv.currency = charges.currency
        inv.subtotal, inv.credit_total, inv.total = subtotal, credit_total, total
        inv.price_versions = list(charges.price_versions)
        inv.updated_at = utcnow()
        s.add(inv)
        audit.record(
            s,
            actor,
            "invoice.drafted" if created else "invoice.rebuilt",
            target_type="invoice",
            target_id=inv.id,
            org_id=org_id,
            detail={
                "number": inv.number,
                "period": period,
                "lines": len(charges.lines),
                "subtotal": str(subtotal),
                "credits": str(credit_total),
                "total": str(total),
            },
        )
        return inv.id, "created" if created else "rebuilt"


def _orgs_to_bill(s: Session, period: str, org_id: str | None) -> list[str]:
    start, end = parse_period(period)
    used = select(UsageRecord.org_id).where(
        col(UsageRecord.hour) >= start, col(UsageRecord.hour) < end
    )
    credited = select(Credit.org_id).where(Credit.period == period)
    invoiced = select(Invoice.org_id).where(Invoice.period == period)
    ids: set[str] = set()
    for query in (used, credited, invoiced):
        if org_id is not None:
            query = query.where(query.selected_columns[0] == org_id)
        ids.update(s.exec(query.distinct()).all())
    rows = s.exec(
        select(Organization.id, Organization.name).where(col(Organization.id).in_(ids))
    ).all()
    return [oid for oid, _ in sorted(rows, key=lambda r: (r[1].lower(), r[0]))]


def build_drafts(
    period: str, *, actor: Actor, org_id: str | None = None
) -> tuple[list[str], dict[str, int]]:
    """Rate the month and write every organisation's draft (one transaction each).

    Returns:
        The invoice ids in order, and how many were created, rebuilt and unchanged.

    """
    start, end = parse_period(period)
    slo.generate_safely(actor, period, org_id)  # the month's SLO reports feed the credits
    charges = rating.rate(period, org_id=org_id)
    currency = rating.period_currency(versions_between(start, end), period)
    with session_scope() as s:
        org_ids = _orgs_to_bill(s, period, org_id)
    ids: list[str] = []
    counts = {"created": 0, "rebuilt": 0, "unchanged": 0}
    for oid in org_ids:
        org_charges = charges.get(oid) or rating.OrgCharges(oid, period, currency)
        invoice_id, outcome = write_draft(period, oid, org_charges, actor)
        ids.append(invoice_id)
        counts[outcome] += 1
    return ids, counts


def _period_ids(period: str, status: str, org_id: str | None) -> list[str]:
    query = select(Invoice.id).where(Invoice.period == period, Invoice.status == status)
    if org_id is not None:
        query = query.where(Invoice.org_id == org_id)
    with session_scope() as s:
        return list(s.exec(query.order_by(col(Invoice.number))).all())


def finalize_drafts(period: str, *, actor: Actor, org_id: str | None = None) -> list[str]:
    """Finalize the month's drafts (audited life-cycle transitions); return their ids."""
    done = []
    for invoice_id in _period_ids(period, S.draft, org_id):
        with session_scope() as s:
            inv = s.exec(select(Invoice).where(Invoice.id == invoice_id).with_for_update()).one()
            if inv.status == S.draft:
                lifecycle.transition(s, inv, S.finalized, actor, {"period": period})
                done.append(invoice_id)
    return done


def deliver_finalized(period: str, *, org_id: str | None = None) -> tuple[int, dict[str, str]]:
    """Deliver every finalized, not yet sent invoice of the month.

    Returns:
        How many were handed to delivery, and the errors by invoice id.

    """
    from mkportal.services.billing import delivery

    errors: dict[str, str] = {}
    ids = _period_ids(period, S.finalized, org_id)
    for invoice_id in ids:
        try:
            delivery.deliver(invoice_id)
        except Exception as exc:  # noqa: BLE001 - one failed delivery must not stop the others
            log.warning("delivery of invoice %s failed", invoice_id, exc_info=True)
            errors[invoice_id] = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
    return len(ids), errors


def run_billing(period: str, *, actor: Actor | None = None, org_id: str | None = None) -> RunResult:
    """Bill a month that is over: meter, rate, write drafts, finalize, deliver.

    Args:
        period: The month, ``YYYY-MM``.
        actor: Who runs it (operators; default: the system).
        org_id: Only this organisation.

    Raises:
        NotFound: Not an operator, or no such organisation.
        Invalid: Not ``YYYY-MM``, or the month is not over yet.

    """
    actor = actor or Actor.system("billing")
    actor.require_operator()
    check_period_over(period)
    if org_id is not None:
        with session_scope() as s:
            if s.get(Organization, org_id) is None:
                raise NotFound("No such organisation.")
    meter_period(period)
    ids, counts = build_drafts(period, actor=actor, org_id=org_id)
    finalize_drafts(period, actor=actor, org_id=org_id)
    delivered, errors = deliver_finalized(period, org_id=org_id)
    return RunResult(period, ids, delivered=delivered, errors=errors, **counts)


def _org_name(s: Session, org_id: str) -> str:
    org = s.get(Organization, org_id)
    return org.name if org else org_id


def _visible(s: Session, actor: Actor, invoice_id: str) -> Invoice:
    inv = s.get(Invoice, invoice_id)
    if inv is None or not actor.can_see_org(inv.org_id):
        raise NotFound("Not found.")
    if inv.status == S.draft and not actor.is_operator:
        raise NotFound("Not found.")
    return inv


def list_invoices(
    actor: Actor,
    *,
    all_orgs: bool = False,
    status: str = "",
    period: str = "",
    page: int = 1,
    per_page: int = 25,
) -> Page[InvoiceView]:
    """List invoices, newest month first.

    Customers see their organisation's issued invoices (drafts are internal); operators
    may pass `all_orgs` to see every organisation's, drafts included. `status` is one
    status, or ``unpaid`` for finalized, sent and payment_failed together.

    Raises:
        Invalid: A bad status or period filter.

    """
    query = select(Invoice, Organization.name).join(
        Organization, col(Organization.id) == col(Invoice.org_id)
    )
    if not (all_orgs and actor.is_operator):
        if actor.org_id is None:
            return Page(items=[], total=0, page=1, per_page=per_page)
        query = query.where(Invoice.org_id == actor.org_id)
    if not actor.is_operator:
        query = query.where(Invoice.status != S.draft)
    if status == "unpaid":
        query = query.where(col(Invoice.status).in_(UNPAID))
    elif status:
        if status not in STATUSES:
            raise Invalid({"status": f"Choose one of: unpaid, {', '.join(STATUSES)}."})
        query = query.where(Invoice.status == status)
    if period:
        parse_period(period)
        query = query.where(Invoice.period == period)
    query = query.order_by(col(Invoice.period).desc(), col(Invoice.number).desc())
    with session_scope() as s:
        rows, total, page, per_page = paginate(s, query, page, per_page)
        items = [invoice_view(inv, name) for inv, name in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)


def get_invoice(actor: Actor, invoice_id: str) -> InvoiceDetail:
    """Return an invoice with its lines and credits (own organisation; any for operators)."""
    with session_scope() as s:
        inv = _visible(s, actor, invoice_id)
        name = _org_name(s, inv.org_id)
        lines = s.exec(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == inv.id)
            .order_by(col(InvoiceLine.position), col(InvoiceLine.id))
        ).all()
        credits = credits_of(s, inv.org_id, inv.period)
        return InvoiceDetail(
            invoice=invoice_view(inv, name),
            lines=[
                LineView(
                    cluster_name=x.cluster_name,
                    component=x.component,
                    description=x.description,
                    quantity=x.quantity,
                    unit=x.unit,
                    unit_price=x.unit_price,
                    amount=x.amount,
                    price_version=x.price_version,
                )
                for x in lines
            ],
            credits=[credit_view(c, name) for c in credits],
        )


def _settle(actor: Actor, invoice_id: str, new: str, detail: dict) -> InvoiceView:
    """Check, update Stripe's copy (when Stripe is on), then move our invoice to `new`."""
    from mkportal.services.billing import stripe_sync

    actor.require_operator()
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        if inv is None:
            raise NotFound("Not found.")
        if inv.status != new and not lifecycle.can_transition(inv.status, new):
            raise Conflict(f"Invoice {inv.number} is {inv.status}; it cannot become {new}.")
    remote = stripe_sync.void_remote if new == S.void else stripe_sync.mark_paid_remote
    if remote(invoice_id):
        detail = {**detail, "stripe": True}
    with session_scope() as s:
        inv = s.exec(select(Invoice).where(Invoice.id == invoice_id).with_for_update()).one()
        lifecycle.transition(s, inv, new, actor, detail)
        return invoice_view(inv, _org_name(s, inv.org_id))


def mark_paid(actor: Actor, invoice_id: str) -> InvoiceView:
    """Record an invoice as paid outside Stripe, e.g. by bank transfer (operators only).

    When Stripe is on, Stripe's copy is marked paid out of band first.

    Raises:
        NotFound: Not an operator, or no such invoice.
        Conflict: The invoice is a draft or void.

    """
    return _settle(actor, invoice_id, S.paid, {"manual": True})


def void(actor: Actor, invoice_id: str, reason: str) -> InvoiceView:
    """Void an issued invoice with a reason (operators only); it is audited with the reason.

    When Stripe is on, Stripe's copy is voided first (so it can no longer be paid there).

    Raises:
        NotFound: Not an operator, or no such invoice.
        Invalid: No reason (3 to 500 characters).
        Conflict: The invoice is a draft, paid or already void.

    """
    actor.require_operator()
    reason = (reason or "").strip()
    if not 3 <= len(reason) <= 500:
        raise Invalid({"reason": "Give a reason of 3 to 500 characters."})
    return _settle(actor, invoice_id, S.void, {"reason": reason})
