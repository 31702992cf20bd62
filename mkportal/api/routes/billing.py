"""Billing endpoints: the running estimate, usage, invoices; credits and revenue for operators.

Money is sent as decimal strings (e.g. ``"123.45"``), never as JSON numbers. Customers see
only their organisation; the ``/admin/billing`` endpoints answer 404 to everyone but
operators.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Header, Query
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body
from mkportal.models.base import utcnow
from mkportal.services.actor import Actor
from mkportal.services.billing import credits, estimate, invoices, jobs, reports
from mkportal.services.billing.money import period_of, previous_period
from mkportal.services.pagination import Page

router = APIRouter(tags=["billing"])


def plain(value: Any) -> Any:
    """Return `value` as JSON-ready data: dataclasses as dicts, Decimal as a string."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def page_plain(page: Page) -> dict:
    """Render a Page as the API's list envelope, money as strings."""
    return {
        "items": plain(page.items),
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
    }


class CreditBody(Body):
    """A manual service credit."""

    org_id: str = Field(max_length=32)
    period: str = Field(max_length=7, description="YYYY-MM: the invoice it is deducted from")
    amount: str | int = Field(description="> 0, as a decimal string, e.g. '25.00'")
    reason: str = Field(max_length=500)
    cluster_id: str = Field(default="", max_length=32)


class RunBody(Body):
    """A billing run of a month that is over."""

    period: str = Field(max_length=7, description="YYYY-MM")
    org_id: str | None = Field(default=None, max_length=32)


class VoidBody(Body):
    """Why an invoice is voided."""

    reason: str = Field(max_length=500)


@router.get("/billing/estimate")
def get_estimate(actor: Actor = Depends(current_actor)) -> dict:
    """Return this month's charges so far and projected, per cluster and component."""
    return plain(estimate.running_estimate(actor))


@router.get("/billing/usage")
def get_usage(
    actor: Actor = Depends(current_actor),
    period: str = Query("", description="YYYY-MM (default: this month)"),
) -> dict:
    """Return usage and charges per cluster and component for a month."""
    period = period or period_of(utcnow())
    return {"period": period, "items": plain(reports.usage_breakdown(actor, period))}


@router.get("/billing/months")
def get_months(actor: Actor = Depends(current_actor), months: int = Query(12, ge=1, le=36)) -> list:
    """Return the last months' invoice totals and the running month."""
    return plain(reports.monthly_totals(actor, months))


@router.get("/billing/invoices")
def list_invoices(
    actor: Actor = Depends(current_actor),
    status: str = "",
    period: str = "",
    all_orgs: bool = False,
    page: int = Query(1, ge=1),
    per_page: int = Query(25, ge=1, le=200),
) -> dict:
    """List invoices, newest month first (operators may pass `all_orgs=true`)."""
    return page_plain(
        invoices.list_invoices(
            actor, all_orgs=all_orgs, status=status, period=period, page=page, per_page=per_page
        )
    )


@router.get("/billing/invoices/{invoice_id}")
def get_invoice(invoice_id: str, actor: Actor = Depends(current_actor)) -> dict:
    """Return an invoice with its lines and credits."""
    return plain(invoices.get_invoice(actor, invoice_id))


@router.get("/admin/billing/revenue")
def revenue(actor: Actor = Depends(current_actor), months: int = Query(12, ge=1, le=36)) -> list:
    """Return invoiced, paid, outstanding and credited amounts per month (operators)."""
    return plain(reports.revenue_by_month(actor, months))


@router.get("/admin/billing/revenue/orgs")
def revenue_orgs(
    actor: Actor = Depends(current_actor),
    period: str = Query("", description="YYYY-MM (default: last month)"),
) -> dict:
    """Return each organisation's invoiced, paid and outstanding amounts (operators)."""
    actor.require_operator()
    period = period or previous_period(utcnow())
    return {"period": period, "items": plain(reports.revenue_by_org(actor, period))}


@router.get("/admin/billing/credits")
def list_credits(
    actor: Actor = Depends(current_actor),
    org_id: str = "",
    period: str = "",
    page: int = Query(1, ge=1),
    per_page: int = Query(25, ge=1, le=200),
) -> dict:
    """List the credits of every organisation, newest first (operators)."""
    actor.require_operator()
    return page_plain(
        credits.list_credits(actor, org_id=org_id, period=period, page=page, per_page=per_page)
    )


@router.post("/admin/billing/credits", status_code=201)
def add_credit(body: CreditBody, actor: Actor = Depends(current_actor)) -> dict:
    """Add a manual credit to an organisation's invoice of a month (operators)."""
    return plain(
        credits.add_credit(
            actor,
            org_id=body.org_id,
            period=body.period,
            amount=body.amount,
            reason=body.reason,
            cluster_id=body.cluster_id,
        )
    )


@router.post("/admin/billing/run", status_code=202)
def run(
    body: RunBody,
    actor: Actor = Depends(current_actor),
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> dict:
    """Request a billing run of a month that is over; returns the durable operation."""
    op = jobs.request_run(actor, body.period, org_id=body.org_id, idempotency_key=idempotency_key)
    return {"operation": plain(op)}


@router.post("/admin/billing/invoices/{invoice_id}/mark-paid")
def mark_paid(invoice_id: str, actor: Actor = Depends(current_actor)) -> dict:
    """Record an invoice as paid outside Stripe (operators)."""
    return plain(invoices.mark_paid(actor, invoice_id))


@router.post("/admin/billing/invoices/{invoice_id}/void")
def void(invoice_id: str, body: VoidBody, actor: Actor = Depends(current_actor)) -> dict:
    """Void an issued invoice, with a reason (operators)."""
    return plain(invoices.void(actor, invoice_id, body.reason))
