"""Billing's periodic work and its durable operation.

Tick hooks: ``billing.meter`` records the hours completed since the last tick, and
``billing.monthly`` requests, on or after the 1st, one ``billing.run`` operation for the
previous month (idempotency key ``billing-YYYY-MM``) once that month has anything to bill.
The operation runs the same steps as `invoices.run_billing`, each idempotent, so a worker
that dies mid-run is replaced by one that resumes at the recorded step.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.billing import Credit, Invoice, UsageRecord
from mkportal.models.operation import Operation
from mkportal.models.org import Organization
from mkportal.services.actor import Actor
from mkportal.services.billing import invoices, metering
from mkportal.services.billing.money import parse_period, previous_period
from mkportal.services.errors import Invalid
from mkportal.worker.context import StepContext
from mkportal.worker.registry import OperationKind, Step, TransientError, register
from mkportal.worker.tick import register_tick

if TYPE_CHECKING:
    from mkportal.services.operations import OperationView

KIND = "billing.run"
SYSTEM = Actor.system("billing")


def run_key(period: str) -> str:
    """Return the idempotency key of the scheduled run of `period`."""
    return f"billing-{period}"


def _params(ctx: StepContext) -> tuple[str, str | None]:
    return str(ctx.params["period"]), ctx.params.get("org_id") or None


def _step_meter(ctx: StepContext) -> None:
    period, _ = _params(ctx)
    ctx.result["metered"] = invoices.meter_period(period)


def _step_drafts(ctx: StepContext) -> None:
    period, org_id = _params(ctx)
    ids, counts = invoices.build_drafts(period, actor=SYSTEM, org_id=org_id)
    ctx.result.update(counts)
    ctx.result["invoice_ids"] = ids
    ctx.log(
        f"{len(ids)} invoices for {period}: {counts['created']} created, "
        f"{counts['rebuilt']} rebuilt, {counts['unchanged']} already issued."
    )


def _step_finalize(ctx: StepContext) -> None:
    period, org_id = _params(ctx)
    done = invoices.finalize_drafts(period, actor=SYSTEM, org_id=org_id)
    ctx.result["finalized"] = len(done) + int(ctx.result.get("finalized", 0))


def _step_deliver(ctx: StepContext) -> None:
    period, org_id = _params(ctx)
    delivered, errors = invoices.deliver_finalized(period, org_id=org_id)
    ctx.result["delivered"] = delivered
    if errors:
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
        raise TransientError(f"{len(errors)} of {delivered} invoices not delivered ({detail})")


register(
    OperationKind(
        KIND,
        "Billing run",
        (
            Step("meter the month", _step_meter),
            Step("rate usage and write draft invoices", _step_drafts),
            Step("finalize invoices", _step_finalize),
            Step("deliver invoices", _step_deliver),
        ),
        max_attempts=8,
    )
)


def request_run(
    actor: Actor,
    period: str,
    *,
    org_id: str | None = None,
    idempotency_key: str | None = None,
) -> OperationView:
    """Request a billing run of a month that is over, as a durable operation (operators).

    Returns:
        The operation (an earlier one when the idempotency key was used before).

    Raises:
        NotFound: Not an operator.
        Invalid: Not ``YYYY-MM``, the month is not over, or no such organisation.

    """
    from mkportal.services import operations

    actor.require_operator()
    invoices.check_period_over(period)
    params: dict = {"period": period}
    with session_scope() as s:
        if org_id:
            if s.get(Organization, org_id) is None:
                raise Invalid({"org_id": "Choose an existing organisation."})
            params["org_id"] = org_id
        if idempotency_key:
            existing = s.exec(
                select(Operation).where(
                    col(Operation.org_id).is_(None), Operation.idempotency_key == idempotency_key
                )
            ).first()
            if existing is not None:
                return operations.view(existing)
        op = operations.add_operation(
            s, actor, KIND, org_id=None, params=params, idempotency_key=idempotency_key
        )
    operations.dispatch(op)
    return operations.view(op)


def _billable(period: str) -> bool:
    start, end = parse_period(period)
    with session_scope() as s:
        for query in (
            select(UsageRecord.id).where(
                col(UsageRecord.hour) >= start, col(UsageRecord.hour) < end
            ),
            select(Credit.id).where(Credit.period == period),
            select(Invoice.id).where(Invoice.period == period),
        ):
            if s.exec(query.limit(1)).first() is not None:
                return True
    return False


def schedule_monthly(now: datetime | None = None) -> str | None:
    """Request the previous month's billing run once (tick hook).

    Returns:
        The id of the operation requested now, or None (already requested, or nothing to
        bill yet).

    """
    period = previous_period(now or utcnow())
    key = run_key(period)
    with session_scope() as s:
        seen = s.exec(
            select(Operation.id).where(
                col(Operation.org_id).is_(None), Operation.idempotency_key == key
            )
        ).first()
    if seen is not None or not _billable(period):
        return None
    return request_run(SYSTEM, period, idempotency_key=key).id


register_tick("billing.meter", metering.meter)
register_tick("billing.monthly", schedule_monthly)
