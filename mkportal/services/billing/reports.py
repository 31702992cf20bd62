"""Billing reports: usage per cluster and component, monthly totals, revenue (operators)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import Invoice, InvoiceLine, InvoiceStatus, UsageRecord
from mkportal.models.org import Organization
from mkportal.services.actor import Actor
from mkportal.services.billing import rating
from mkportal.services.billing.estimate import MonthEstimate
from mkportal.services.billing.money import as_utc, parse_period, period_of, previous_period
from mkportal.services.billing.prices import version_at

ZERO = Decimal(0)
S = InvoiceStatus
ISSUED = (S.finalized, S.sent, S.paid, S.payment_failed)
MAX_MONTHS = 36


@dataclass
class UsageRow:
    """One cluster's component in a month: how much and what it costs."""

    cluster_id: str
    cluster_name: str
    component: str
    quantity: Decimal
    unit: str
    amount: Decimal


@dataclass
class MonthTotal:
    """One month of an organisation: the invoice's total, or the usage so far.

    `status` is the invoice's status, ``running`` for the current month (amount: the
    charges so far) or ``unbilled`` for a past month not invoiced yet (amount: rated).
    """

    period: str
    amount: Decimal
    currency: str
    status: str


@dataclass
class RevenueRow:
    """Invoiced, paid and outstanding amounts of one month (issued invoices, not void)."""

    period: str
    invoiced: Decimal
    paid: Decimal
    outstanding: Decimal
    credits: Decimal
    currency: str


@dataclass
class OrgRevenueRow:
    """One organisation's invoiced, paid and outstanding amounts in a month."""

    org_id: str
    org_name: str
    invoiced: Decimal
    paid: Decimal
    outstanding: Decimal


def last_periods(months: int, now: datetime | None = None) -> list[str]:
    """Return the last `months` months up to the current one, oldest first (1 to 36)."""
    months = min(max(int(months), 1), MAX_MONTHS)
    current = as_utc(now or utcnow())
    out = [period_of(current)]
    while len(out) < months:
        start, _ = parse_period(out[-1])
        out.append(previous_period(start))
    return out[::-1]


def _default_currency() -> str:
    version = version_at(utcnow())
    if version is not None:
        return version.currency
    from mkportal.settings import get_settings

    return get_settings().billing_currency


def usage_breakdown(actor: Actor, period: str) -> list[UsageRow]:
    """Return the caller's organisation's usage and charges per cluster and component.

    An issued invoice's lines are used when the month has one; otherwise the usage
    recorded so far is rated.

    Raises:
        Invalid: Not a ``YYYY-MM`` month.

    """
    parse_period(period)
    if actor.org_id is None:
        return []
    org_id = actor.org_id
    with session_scope() as s:
        inv = s.exec(
            select(Invoice).where(
                Invoice.org_id == org_id,
                Invoice.period == period,
                col(Invoice.status).in_(ISSUED),
            )
        ).first()
        source = (
            [
                (x.cluster_id, x.cluster_name, x.component, x.quantity, x.unit, x.amount)
                for x in s.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id))
            ]
            if inv is not None
            else None
        )
    if source is None:
        charges = rating.rate(period, org_id=org_id, with_credits=False).get(org_id)
        source = [
            (x.cluster_id, x.cluster_name, x.component, x.quantity, x.unit, x.amount)
            for x in (charges.lines if charges else [])
        ]
    acc: dict[tuple, list] = {}
    for cluster_id, name, component, quantity, unit, amount in source:
        key = (name, cluster_id, rating.COMPONENT_ORDER.get(component, 9), component)
        entry = acc.setdefault(key, [ZERO, unit, ZERO])
        entry[0] += quantity
        entry[2] += amount
    return [
        UsageRow(cluster_id, name, component, qty, unit, amount)
        for (name, cluster_id, _, component), (qty, unit, amount) in sorted(acc.items())
    ]


def monthly_totals(
    actor: Actor, months: int = 12, *, running: MonthEstimate | None = None
) -> list[MonthTotal]:
    """Return the caller's organisation's last months, oldest first.

    Invoiced months show their invoice (drafts excepted); the current month shows its
    charges so far (``running``); a past month with usage but no invoice yet is rated
    (``unbilled``). Months without either are left out.

    Args:
        actor: The caller (any member of the organisation).
        months: How many months, the current one included.
        running: This month's estimate when the caller already has it (its charges so
            far are the running month's total, so the month is not rated again).

    """
    if actor.org_id is None:
        return []
    org_id = actor.org_id
    periods = last_periods(months)
    current = periods[-1]
    with session_scope() as s:
        invoices = {
            inv.period: inv
            for inv in s.exec(
                select(Invoice).where(
                    Invoice.org_id == org_id,
                    col(Invoice.period).in_(periods),
                    Invoice.status != S.draft,
                )
            )
        }
        unbilled = []
        for p in periods[:-1]:
            if p in invoices:
                continue
            start, end = parse_period(p)
            used = s.exec(
                select(UsageRecord.id)
                .where(
                    UsageRecord.org_id == org_id,
                    col(UsageRecord.hour) >= start,
                    col(UsageRecord.hour) < end,
                )
                .limit(1)
            ).first()
            if used is not None:
                unbilled.append(p)
    out = []
    for p in periods:
        if p in invoices:
            inv = invoices[p]
            out.append(MonthTotal(p, inv.total, inv.currency, inv.status))
        elif p == current and running is not None and running.period == current:
            out.append(MonthTotal(p, running.to_date, running.currency, "running"))
        elif p == current or p in unbilled:
            charges = rating.rate(p, org_id=org_id, with_credits=False).get(org_id)
            if charges is None and p != current:
                continue
            currency = charges.currency if charges else _default_currency()
            amount = charges.subtotal if charges else ZERO
            out.append(MonthTotal(p, amount, currency, "running" if p == current else "unbilled"))
    return out


def revenue_by_month(actor: Actor, months: int = 12) -> list[RevenueRow]:
    """Return invoiced, paid, outstanding and credited amounts per month (operators only).

    Issued invoices count (finalized, sent, paid, payment failed); drafts and void ones do
    not. Every month of the range has a row (zero when nothing was invoiced); a month
    invoiced in several currencies has a row per currency.
    """
    actor.require_operator()
    periods = last_periods(months)
    acc: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    with session_scope() as s:
        rows = s.exec(
            select(
                Invoice.period,
                Invoice.currency,
                Invoice.status,
                Invoice.total,
                Invoice.credit_total,
            ).where(col(Invoice.period).in_(periods), col(Invoice.status).in_(ISSUED))
        ).all()
    for period, currency, status, total, credit in rows:
        entry = acc[(period, currency)]
        entry[0] += total
        entry[1] += total if status == S.paid else ZERO
        entry[2] += credit
    default = _default_currency()
    out = []
    for p in periods:
        keys = sorted(k for k in acc if k[0] == p) or [(p, default)]
        for key in keys:
            invoiced, paid, credits = acc.get(key, [ZERO, ZERO, ZERO])
            out.append(RevenueRow(p, invoiced, paid, invoiced - paid, credits, key[1]))
    return out


def revenue_by_org(actor: Actor, period: str) -> list[OrgRevenueRow]:
    """Return each organisation's invoiced, paid and outstanding amounts (operators only).

    Largest invoiced first; only issued invoices count.

    Raises:
        NotFound: Not an operator.
        Invalid: Not a ``YYYY-MM`` month.

    """
    actor.require_operator()
    parse_period(period)
    with session_scope() as s:
        rows = s.exec(
            select(Invoice.org_id, Organization.name, Invoice.status, Invoice.total)
            .join(Organization, col(Organization.id) == col(Invoice.org_id))
            .where(Invoice.period == period, col(Invoice.status).in_(ISSUED))
        ).all()
    acc: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for org_id, name, status, total in rows:
        entry = acc[(org_id, name)]
        entry[0] += total
        entry[1] += total if status == S.paid else ZERO
    out = [
        OrgRevenueRow(org_id, name, invoiced, paid, invoiced - paid)
        for (org_id, name), (invoiced, paid) in acc.items()
    ]
    return sorted(out, key=lambda r: (-r.invoiced, r.org_name.lower()))
