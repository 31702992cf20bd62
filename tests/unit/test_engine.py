"""The operation engine: steps, retries, permanent failures, cancellation, leases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.operation import Operation, OperationLog
from mkportal.services import operations
from mkportal.services.errors import Conflict, Forbidden, Invalid, NotFound
from mkportal.worker.engine import claim, execute, sweep


def _due_now(op_id: str) -> None:
    with session_scope() as s:
        s.exec(update(Operation).where(Operation.id == op_id).values(next_run_at=utcnow()))


def test_noop_runs_all_steps_and_records_progress(two_orgs):
    op, created = operations.request(two_orgs["acme_member"], "noop", params={"steps": 3})
    assert created and op.status == "pending"
    assert execute(op.id, "w1") == "succeeded"
    done = operations.get(two_orgs["acme_member"], op.id)
    assert (done.status, done.progress, done.step, done.total_steps) == ("succeeded", 100, 3, 3)
    assert done.result["steps_done"] == [0, 1, 2]
    messages = [line.message for line in operations.logs(two_orgs["acme_member"], op.id)]
    assert "Step 3/3: diagnostic step 3" in messages and messages[-1] == "Succeeded."


def test_transient_failures_retry_with_backoff_then_succeed(two_orgs):
    op, _ = operations.request(
        two_orgs["acme_member"], "noop", params={"steps": 1, "fail_times": 2}
    )
    assert execute(op.id, "w1") == "pending"
    assert execute(op.id, "w1") is None  # not due yet: backoff
    _due_now(op.id)
    assert execute(op.id, "w1") == "pending"
    _due_now(op.id)
    assert execute(op.id, "w1") == "succeeded"
    logs = [x.message for x in operations.logs(two_orgs["acme_member"], op.id)]
    assert sum("retrying in" in m for m in logs) == 2


def test_permanent_failure_fails_with_reason_and_can_be_retried(two_orgs):
    actor = two_orgs["acme_member"]
    op, _ = operations.request(actor, "noop", params={"steps": 2, "fail": "quota exceeded"})
    assert execute(op.id, "w1") == "failed"
    failed = operations.get(actor, op.id)
    assert failed.error == "quota exceeded" and failed.finished_at is not None
    with session_scope() as s:
        row = s.get(Operation, op.id)
        row.params = {"steps": 2}
        s.add(row)
    operations.retry(actor, op.id)
    assert execute(op.id, "w1") == "succeeded"


def test_cancel_pending_and_running(two_orgs):
    actor = two_orgs["acme_member"]
    op, _ = operations.request(actor, "noop", params={"steps": 2})
    assert operations.cancel(actor, op.id).status == "cancelled"
    assert execute(op.id, "w1") is None
    with pytest.raises(Conflict):
        operations.cancel(actor, op.id)
    op2, _ = operations.request(actor, "noop", params={"steps": 3})
    claimed = claim(op2.id, "w1")
    assert claimed is not None
    operations.cancel(actor, op2.id)
    with session_scope() as s:
        s.exec(update(Operation).where(Operation.id == op2.id).values(lease_expires_at=utcnow()))
    assert execute(op2.id, "w2") == "cancelled"


def test_lease_fencing_stops_a_stale_worker(two_orgs):
    actor = two_orgs["acme_member"]
    op, _ = operations.request(actor, "noop", params={"steps": 1})
    first = claim(op.id, "w1")
    assert claim(op.id, "w2") is None  # lease held
    with session_scope() as s:
        s.exec(
            update(Operation)
            .where(Operation.id == op.id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    second = claim(op.id, "w2")
    assert second.lease_token == first.lease_token + 1
    assert execute(op.id, "w3") is None  # w2 holds a live lease now


def test_sweeper_finds_expired_leases(two_orgs, monkeypatch):
    enqueued = []
    monkeypatch.setattr(
        "mkportal.worker.queue.enqueue", lambda op_id, delay=None: enqueued.append(op_id)
    )
    op, _ = operations.request(two_orgs["acme_member"], "noop", params={"steps": 1})
    claim(op.id, "dead-worker")
    with session_scope() as s:
        s.exec(
            update(Operation)
            .where(Operation.id == op.id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert op.id in sweep()
    assert execute(op.id, "w2") == "succeeded"


def test_idempotency_key_returns_the_same_operation(two_orgs):
    actor = two_orgs["acme_member"]
    a, created_a = operations.request(actor, "noop", params={"steps": 1}, idempotency_key="k1")
    b, created_b = operations.request(actor, "noop", params={"steps": 1}, idempotency_key="k1")
    assert a.id == b.id and created_a and not created_b
    with pytest.raises(Conflict):
        operations.request(actor, "noop", params={"steps": 2}, idempotency_key="k1")
    other, _ = operations.request(
        two_orgs["globex_owner"], "noop", params={"steps": 1}, idempotency_key="k1"
    )
    assert other.id != a.id


def test_one_active_operation_per_cluster(two_orgs):
    actor = two_orgs["acme_member"]
    first, _ = operations.request(actor, "noop", cluster_id="c1", params={"steps": 1})
    with pytest.raises(Conflict) as err:
        operations.request(actor, "noop", cluster_id="c1", params={"steps": 1})
    assert first.id in err.value.message
    execute(first.id, "w1")
    operations.request(actor, "noop", cluster_id="c1", params={"steps": 1})


def test_roles_and_isolation(two_orgs):
    op, _ = operations.request(two_orgs["acme_member"], "noop", params={"steps": 1})
    with pytest.raises(Forbidden):
        operations.request(two_orgs["acme_viewer"], "noop", params={"steps": 1})
    with pytest.raises(NotFound):
        operations.get(two_orgs["globex_owner"], op.id)
    with pytest.raises(NotFound):
        operations.cancel(two_orgs["globex_owner"], op.id)
    assert operations.list_operations(two_orgs["globex_owner"]).total == 0
    assert operations.get(two_orgs["operator"], op.id).id == op.id
    assert operations.list_operations(two_orgs["operator"], all_orgs=True).total == 1


def test_bad_params_are_rejected(two_orgs):
    with pytest.raises(Invalid) as err:
        operations.request(two_orgs["acme_member"], "noop", params={"steps": 99})
    assert "params.steps" in err.value.errors
    with pytest.raises(Invalid):
        operations.request(two_orgs["acme_member"], "no-such-kind")


def test_logs_are_incremental(two_orgs):
    actor = two_orgs["acme_member"]
    op, _ = operations.request(actor, "noop", params={"steps": 1})
    first = operations.logs(actor, op.id)
    execute(op.id, "w1")
    later = operations.logs(actor, op.id, after=first[-1].id)
    assert later and all(line.id > first[-1].id for line in later)
    with session_scope() as s:
        total = len(s.exec(select(OperationLog).where(OperationLog.operation_id == op.id)).all())
    assert total == len(first) + len(later)
