"""Executes operations as idempotent steps, with leases, fencing, retries and cancellation.

The Operation row is the source of truth. A worker *claims* an operation by bumping its
`lease_token` in one conditional UPDATE; every later write is guarded by that token, so a
worker that lost its lease (it stalled, or was presumed dead) can never overwrite the
progress of the worker that took over. Steps are recorded as done only after they return,
so a crash re-runs at most the step in flight, and steps are idempotent.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from datetime import timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.operation import Operation, OperationLog, OpStatus
from mkportal.settings import get_settings
from mkportal.worker.context import LeaseLost, StepContext
from mkportal.worker.registry import PermanentError, StepPending, get_kind

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    """Return this process's worker id (``WORKER_ID`` or host:pid)."""
    return get_settings().worker_id or f"{socket.gethostname()}:{os.getpid()}"


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff for the given failed attempt (1-based), capped."""
    s = get_settings()
    return min(s.retry_max_seconds, s.retry_base_seconds * 2 ** max(0, attempt - 1))


def claim(op_id: str, worker_id: str) -> Operation | None:
    """Atomically take the lease of a due operation.

    Claimable are pending operations whose `next_run_at` has come, and running ones whose
    lease has expired (their worker died). Returns the claimed row, or None.
    """
    now = utcnow()
    lease = timedelta(seconds=get_settings().lease_seconds)
    with session_scope() as s:
        res = s.exec(
            update(Operation)
            .where(
                Operation.id == op_id,
                or_(
                    and_(Operation.status == OpStatus.pending, Operation.next_run_at <= now),
                    and_(Operation.status == OpStatus.running, Operation.lease_expires_at < now),
                ),
            )
            .values(
                status=OpStatus.running,
                lease_owner=worker_id,
                lease_expires_at=now + lease,
                lease_token=Operation.lease_token + 1,
                attempts=Operation.attempts + 1,
                executed_by=worker_id,
                updated_at=now,
            )
        )
        if res.rowcount != 1:
            return None
        op = s.get(Operation, op_id)
        if op.started_at is None:
            op.started_at = now
            s.add(op)
        s.add(
            OperationLog(
                operation_id=op_id, message=f"Claimed by {worker_id} (attempt {op.attempts})"
            )
        )
        return op


def _guarded(s, op: Operation, **values) -> None:  # noqa: ANN001
    values.setdefault("updated_at", utcnow())
    res = s.exec(
        update(Operation)
        .where(Operation.id == op.id, Operation.lease_token == op.lease_token)
        .values(**values)
    )
    if res.rowcount != 1:
        raise LeaseLost(op.id)


def _finish(op: Operation, status: OpStatus, message: str, level: str = "info", **values) -> None:
    with session_scope() as s:
        _guarded(
            s,
            op,
            status=status,
            lease_owner=None,
            lease_expires_at=None,
            finished_at=utcnow(),
            **values,
        )
        s.add(OperationLog(operation_id=op.id, level=level, message=message))


def _reschedule(op: Operation, delay: float, message: str, level: str, **values) -> None:
    with session_scope() as s:
        _guarded(
            s,
            op,
            status=OpStatus.pending,
            lease_owner=None,
            lease_expires_at=None,
            next_run_at=utcnow() + timedelta(seconds=delay),
            enqueued_at=utcnow(),
            **values,
        )
        s.add(OperationLog(operation_id=op.id, level=level, message=message))


class _Heartbeat(threading.Thread):
    """Extends the lease while a step runs."""

    def __init__(self, ctx: StepContext) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{ctx.operation_id}")
        self.ctx = ctx
        self.stop = threading.Event()
        self.lost = False

    def run(self) -> None:
        interval = max(0.2, get_settings().lease_seconds / 3)
        while not self.stop.wait(interval):
            try:
                self.ctx.heartbeat()
            except LeaseLost:
                self.lost = True
                return
            except Exception:  # noqa: BLE001 - a failed heartbeat is retried next interval
                log.warning("heartbeat failed for %s", self.ctx.operation_id, exc_info=True)


def execute(op_id: str, worker_id: str | None = None) -> str | None:
    """Run an operation from its recorded step to the end, if it can be claimed.

    Returns:
        The status the operation was left in, or None when it was not claimable.

    """
    from mkportal.worker.queue import enqueue

    worker_id = worker_id or default_worker_id()
    op = claim(op_id, worker_id)
    if op is None:
        return None
    kind = get_kind(op.kind)
    if kind is None:
        _finish(
            op,
            OpStatus.failed,
            f"Unknown operation kind {op.kind!r}.",
            "error",
            error=f"Unknown operation kind {op.kind!r}.",
        )
        return OpStatus.failed
    steps = kind.steps_for(op.params)
    total = len(steps)
    result = dict(op.result or {})
    try:
        if op.attempts > kind.max_attempts:
            msg = f"Gave up after {kind.max_attempts} attempts of step {op.step_name or op.step}."
            _fail(op, kind, result, msg)
            return OpStatus.failed
        if kind.on_start is not None:
            kind.on_start(
                StepContext(
                    op.id,
                    op.org_id,
                    op.cluster_id,
                    dict(op.params),
                    result,
                    op.step,
                    op.lease_token,
                    op.attempts,
                    worker_id,
                )
            )
        for index in range(op.step, total):
            step = steps[index]
            if _cancel_requested(op.id):
                notify_failure(op, "Cancelled at the user's request.", result)
                _finish(
                    op,
                    OpStatus.cancelled,
                    "Cancelled at the user's request.",
                    "warning",
                    result=result,
                )
                return OpStatus.cancelled
            with session_scope() as s:
                _guarded(
                    s,
                    op,
                    step=index,
                    step_name=step.name,
                    total_steps=total,
                    progress=int(100 * index / total),
                )
                s.add(
                    OperationLog(
                        operation_id=op.id, message=f"Step {index + 1}/{total}: {step.name}"
                    )
                )
            ctx = StepContext(
                op.id,
                op.org_id,
                op.cluster_id,
                dict(op.params),
                result,
                index,
                op.lease_token,
                op.attempts,
                worker_id,
            )
            beat = _Heartbeat(ctx)
            beat.start()
            try:
                step.run(ctx)
            finally:
                beat.stop.set()
                beat.join()
            if beat.lost:
                raise LeaseLost(op.id)
            if index == total - 1:
                break  # the last step's result is written with the finish, in one transaction
            with session_scope() as s:
                _guarded(
                    s,
                    op,
                    step=index + 1,
                    attempts=1,
                    result=result,
                    progress=int(100 * (index + 1) / total),
                )
            op.attempts = 1  # the next step's first try runs in this same claim
        _finish(
            op, OpStatus.succeeded, "Succeeded.", progress=100, step=total, result=result, error=""
        )
        return OpStatus.succeeded
    except LeaseLost:
        log.warning("operation %s: lease lost, another worker owns it", op.id)
        return None
    except StepPending as wait:
        _reschedule(op, wait.delay, f"Waiting: {wait}", "info", attempts=0, result=result)
        enqueue(op.id, delay=wait.delay)
        return OpStatus.pending
    except PermanentError as exc:
        _fail(op, kind, result, str(exc))
        return OpStatus.failed
    except Exception as exc:  # noqa: BLE001 - anything else is treated as transient
        detail = f"{type(exc).__name__}: {exc}"
        log.warning("operation %s step failed: %s", op.id, detail)
        if op.attempts >= kind.max_attempts:
            _fail(
                op,
                kind,
                result,
                f"Failed after {op.attempts} attempts: {detail}",
                trace=traceback.format_exc(limit=5),
            )
            return OpStatus.failed
        delay = backoff_seconds(op.attempts)
        _reschedule(
            op,
            delay,
            f"Attempt {op.attempts} failed ({detail}); retrying in {delay:.0f}s",
            "warning",
            result=result,
        )
        enqueue(op.id, delay=delay)
        return OpStatus.pending


def notify_failure(op: Operation, message: str, result: dict | None = None) -> None:
    """Run the kind's failure hook (e.g. mark the cluster failed), for failures and cancels."""
    kind = get_kind(op.kind)
    if kind is None or kind.on_failure is None:
        return
    ctx = StepContext(
        op.id,
        op.org_id,
        op.cluster_id,
        dict(op.params),
        dict(op.result or {}) if result is None else result,
        op.step,
        op.lease_token,
        op.attempts,
    )
    try:
        kind.on_failure(ctx, message)
    except Exception:  # noqa: BLE001 - the operation's own outcome is recorded regardless
        log.exception("on_failure hook of %s failed", op.kind)


def _fail(op: Operation, kind, result: dict, message: str, trace: str = "") -> None:  # noqa: ANN001
    notify_failure(op, message, result)
    if trace:
        with session_scope() as s:
            s.add(OperationLog(operation_id=op.id, level="debug", message=trace))
    _finish(op, OpStatus.failed, f"Failed: {message}", "error", error=message, result=result)


def _cancel_requested(op_id: str) -> bool:
    with session_scope() as s:
        return bool(s.exec(select(Operation.cancel_requested).where(Operation.id == op_id)).first())


def sweep(limit: int = 500) -> list[str]:
    """Re-enqueue operations whose worker died (lease expired) or whose queue message was lost.

    Returns:
        The ids re-enqueued.

    """
    from mkportal.worker.queue import enqueue

    now = utcnow()
    stale = now - timedelta(seconds=max(30.0, 6 * get_settings().sweep_interval))
    with session_scope() as s:
        ids = s.exec(
            select(Operation.id)
            .where(
                or_(
                    and_(Operation.status == OpStatus.running, Operation.lease_expires_at < now),
                    and_(
                        Operation.status == OpStatus.pending,
                        Operation.next_run_at <= now,
                        Operation.enqueued_at < stale,
                    ),
                )
            )
            .limit(limit)
        ).all()
        if ids:
            s.exec(update(Operation).where(Operation.id.in_(ids)).values(enqueued_at=now))
    for op_id in ids:
        enqueue(op_id)
    return list(ids)
