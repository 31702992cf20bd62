"""What a step sees while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.operation import Operation, OperationLog
from mkportal.settings import get_settings


class LeaseLost(Exception):  # noqa: N818 - a signal
    """Another worker took the operation over; stop without writing anything."""


@dataclass
class StepContext:
    """Handed to every step.

    Attributes:
        operation_id: The operation's id.
        org_id: The organisation the operation belongs to.
        cluster_id: The target cluster, if any.
        params: The operation's parameters (read-only by convention).
        result: Values steps hand to later steps and to the caller; saved after each step.
        step_index: The index of the running step.
        lease_token: The fencing token of this worker's claim.
        attempt: The attempt number of this step (1-based).

    """

    operation_id: str
    org_id: str | None
    cluster_id: str | None
    params: dict
    result: dict
    step_index: int
    lease_token: int
    attempt: int
    worker_id: str = ""
    _cancel: bool = field(default=False, repr=False)

    @property
    def request_token(self) -> str:
        """A stable token for this step, for provider client/request tokens (no duplicates on retry)."""
        return f"{self.operation_id}-{self.step_index}"

    def log(self, message: str, level: str = "info") -> None:
        """Append a line to the operation's log."""
        with session_scope() as s:
            s.add(OperationLog(operation_id=self.operation_id, level=level, message=message))

    def heartbeat(self, progress: int | None = None) -> None:
        """Prove the worker is alive (extends the lease); optionally report progress %.

        Raises:
            LeaseLost: Another worker owns the operation now.

        """
        values: dict = {
            "lease_expires_at": utcnow() + timedelta(seconds=get_settings().lease_seconds),
            "updated_at": utcnow(),
        }
        if progress is not None:
            values["progress"] = max(0, min(99, progress))
        with session_scope() as s:
            res = s.exec(
                update(Operation)
                .where(Operation.id == self.operation_id, Operation.lease_token == self.lease_token)
                .values(**values)
            )
            if res.rowcount == 0:
                raise LeaseLost(self.operation_id)
            cancel = s.exec(
                select(Operation.cancel_requested).where(Operation.id == self.operation_id)
            ).scalar()
            self._cancel = bool(cancel)

    @property
    def cancel_requested(self) -> bool:
        """Whether a user asked to cancel (as of the last heartbeat); long steps should stop early."""
        return self._cancel
