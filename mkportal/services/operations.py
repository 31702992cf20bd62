"""Requesting, reading, cancelling and retrying durable operations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.operation import ACTIVE_STATUSES, Operation, OperationLog, OpStatus
from mkportal.models.org import Role
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.pagination import Page, paginate
from mkportal.worker.engine import notify_failure
from mkportal.worker.queue import enqueue
from mkportal.worker.registry import get_kind

MAX_IDEMPOTENCY_KEY = 200


@dataclass
class OperationView:
    """An operation as callers see it."""

    id: str
    org_id: str | None
    cluster_id: str | None
    kind: str
    title: str
    status: str
    step: int
    step_name: str
    total_steps: int
    progress: int
    attempts: int
    error: str
    params: dict
    result: dict
    requested_by: str
    cancel_requested: bool
    executed_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


@dataclass
class LogLine:
    """One line of an operation's log."""

    id: int
    at: datetime
    level: str
    message: str


def view(op: Operation) -> OperationView:
    """Convert a row to its public view."""
    kind = get_kind(op.kind)
    return OperationView(
        id=op.id,
        org_id=op.org_id,
        cluster_id=op.cluster_id,
        kind=op.kind,
        title=kind.title if kind else op.kind,
        status=op.status,
        step=op.step,
        step_name=op.step_name,
        total_steps=op.total_steps,
        progress=op.progress,
        attempts=op.attempts,
        error=op.error,
        params=op.params,
        result=op.result,
        requested_by=op.requested_by_email,
        cancel_requested=op.cancel_requested,
        executed_by=op.executed_by,
        created_at=op.created_at,
        started_at=op.started_at,
        finished_at=op.finished_at,
        updated_at=op.updated_at,
    )


def _active_on_cluster(s: Session, cluster_id: str) -> Operation | None:
    return s.exec(
        select(Operation).where(
            Operation.cluster_id == cluster_id, col(Operation.status).in_(ACTIVE_STATUSES)
        )
    ).first()


def _by_key(s: Session, org_id: str | None, key: str) -> Operation | None:
    return s.exec(
        select(Operation).where(Operation.org_id == org_id, Operation.idempotency_key == key)
    ).first()


def _conflict_message(op: Operation) -> str:
    return (
        f"Operation {op.id} ({op.kind}, {op.status}) is in progress on this cluster. "
        "Wait for it to finish or cancel it, then try again."
    )


def add_operation(
    s: Session,
    actor: Actor,
    kind: str,
    *,
    org_id: str | None,
    cluster_id: str | None = None,
    params: dict | None = None,
    idempotency_key: str | None = None,
) -> Operation:
    """Insert an operation into an open session (the caller commits, then calls `dispatch`).

    Use cases that change other rows together with requesting an operation (e.g. creating
    a cluster) call this inside their own transaction.

    Raises:
        Invalid: Unknown kind or an over-long idempotency key.
        Conflict: Another operation is active on the same cluster.

    """
    if get_kind(kind) is None:
        raise Invalid({"kind": f"Unknown operation kind {kind!r}."})
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise Invalid({"Idempotency-Key": f"Use 1 to {MAX_IDEMPOTENCY_KEY} characters."})
    if cluster_id:
        running = _active_on_cluster(s, cluster_id)
        if running is not None:
            raise Conflict(_conflict_message(running))
    op = Operation(
        org_id=org_id,
        cluster_id=cluster_id,
        kind=kind,
        params=params or {},
        idempotency_key=idempotency_key,
        requested_by=actor.user_id,
        requested_by_email=actor.email,
        max_attempts=get_kind(kind).max_attempts,
    )
    s.add(op)
    s.add(OperationLog(operation_id=op.id, message=f"Requested by {actor.email}."))
    audit.record(
        s,
        actor,
        "operation.requested",
        target_type="operation",
        target_id=op.id,
        org_id=org_id,
        detail={"kind": kind, "cluster_id": cluster_id},
    )
    return op


def dispatch(op: Operation) -> None:
    """Hand a committed operation to the queue."""
    enqueue(op.id)


def request(
    actor: Actor,
    kind: str,
    *,
    cluster_id: str | None = None,
    params: dict | None = None,
    idempotency_key: str | None = None,
) -> tuple[OperationView, bool]:
    """Request an operation in the caller's organisation (members and owners).

    With an idempotency key, a repeated request returns the first operation instead of
    creating another, also when both arrive at the same time.

    Returns:
        The operation and whether it was created by this call.

    Raises:
        Conflict: Another operation is active on the cluster, or the key was used with
            different parameters.

    """
    actor.require_role(Role.member)
    params = params or {}
    if kind == "noop":
        from mkportal.worker.kinds import validate_noop

        params = validate_noop(params)
    org_id = actor.org_id
    if idempotency_key:
        with session_scope() as s:
            existing = _by_key(s, org_id, idempotency_key)
            if existing is not None:
                return _replay(existing, kind, cluster_id, params), False
    try:
        with session_scope() as s:
            op = add_operation(
                s,
                actor,
                kind,
                org_id=org_id,
                cluster_id=cluster_id,
                params=params,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        with session_scope() as s:
            existing = _by_key(s, org_id, idempotency_key) if idempotency_key else None
            if existing is not None:
                return _replay(existing, kind, cluster_id, params), False
            if cluster_id and (running := _active_on_cluster(s, cluster_id)) is not None:
                raise Conflict(_conflict_message(running)) from None
        raise
    dispatch(op)
    return view(op), True


def _replay(existing: Operation, kind: str, cluster_id: str | None, params: dict) -> OperationView:
    if (existing.kind, existing.cluster_id, existing.params) != (kind, cluster_id, params):
        raise Conflict("This Idempotency-Key was already used for a different request.")
    return view(existing)


def _visible(s: Session, actor: Actor, op_id: str) -> Operation:
    op = s.get(Operation, op_id)
    if op is None or not actor.can_see_org(op.org_id):
        raise NotFound("Not found.")
    return op


def get(actor: Actor, op_id: str) -> OperationView:
    """Return one operation of the caller's organisation (any operation for operators)."""
    with session_scope() as s:
        return view(_visible(s, actor, op_id))


def list_operations(
    actor: Actor,
    *,
    cluster_id: str | None = None,
    status: str | None = None,
    all_orgs: bool = False,
    page: int = 1,
    per_page: int = 25,
) -> Page[OperationView]:
    """List operations, newest first: the caller's organisation, or every org for operators."""
    query = select(Operation)
    if not (all_orgs and actor.is_operator):
        if actor.org_id is None:
            return Page(items=[], total=0, page=1, per_page=per_page)
        query = query.where(Operation.org_id == actor.org_id)
    if cluster_id:
        query = query.where(Operation.cluster_id == cluster_id)
    if status:
        if status not in OpStatus.__members__:
            raise Invalid({"status": "Choose pending, running, succeeded, failed or cancelled."})
        query = query.where(Operation.status == status)
    query = query.order_by(Operation.created_at.desc(), Operation.id)
    with session_scope() as s:
        rows, total, page, per_page = paginate(s, query, page, per_page)
        return Page(items=[view(o) for o in rows], total=total, page=page, per_page=per_page)


def logs(actor: Actor, op_id: str, *, after: int = 0, limit: int = 500) -> list[LogLine]:
    """Return an operation's log lines with id > `after` (for incremental polling)."""
    with session_scope() as s:
        _visible(s, actor, op_id)
        rows = s.exec(
            select(OperationLog)
            .where(OperationLog.operation_id == op_id, OperationLog.id > after)
            .order_by(OperationLog.id)
            .limit(min(max(limit, 1), 2000))
        ).all()
        return [LogLine(r.id, r.at, r.level, r.message) for r in rows]


def cancel(actor: Actor, op_id: str) -> OperationView:
    """Cancel an operation: at once when pending, after its current step when running.

    Raises:
        Conflict: The operation has already finished.

    """
    actor.require_role(Role.member)
    with session_scope() as s:
        op = _visible(s, actor, op_id)
        if op.status not in ACTIVE_STATUSES:
            raise Conflict(f"The operation has already {op.status}.")
        cancelled_now = op.status == OpStatus.pending
        if cancelled_now:
            op.status = OpStatus.cancelled
            op.finished_at = utcnow()
            s.add(
                OperationLog(
                    operation_id=op.id, level="warning", message=f"Cancelled by {actor.email}."
                )
            )
        else:
            s.add(
                OperationLog(
                    operation_id=op.id,
                    level="warning",
                    message=f"Cancellation requested by {actor.email}.",
                )
            )
        op.cancel_requested = True
        op.updated_at = utcnow()
        s.add(op)
        audit.record(
            s,
            actor,
            "operation.cancel_requested",
            target_type="operation",
            target_id=op.id,
            org_id=op.org_id,
        )
    if cancelled_now:
        notify_failure(op, f"Cancelled by {actor.email} before it started.")
    return view(op)


def retry(actor: Actor, op_id: str) -> OperationView:
    """Resume a failed operation from the step that failed.

    Raises:
        Conflict: It did not fail, or another operation is active on its cluster.

    """
    actor.require_role(Role.member)
    with session_scope() as s:
        op = _visible(s, actor, op_id)
        if op.status != OpStatus.failed:
            raise Conflict("Only failed operations can be retried.")
        if op.cluster_id and (running := _active_on_cluster(s, op.cluster_id)) is not None:
            raise Conflict(_conflict_message(running))
        op.status = OpStatus.pending
        op.attempts = 0
        op.error = ""
        op.finished_at = None
        op.next_run_at = utcnow()
        op.enqueued_at = utcnow()
        op.updated_at = utcnow()
        s.add(op)
        s.add(OperationLog(operation_id=op.id, message=f"Retried by {actor.email}."))
        audit.record(
            s,
            actor,
            "operation.retried",
            target_type="operation",
            target_id=op.id,
            org_id=op.org_id,
        )
    dispatch(op)
    return view(op)
