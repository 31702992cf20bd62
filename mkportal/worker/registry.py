"""Operation kinds: named lists of idempotent steps. Use cases register their kinds here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mkportal.worker.context import StepContext


class TransientError(Exception):
    """A step failed for a reason that may pass (throttling, timeouts): retry with backoff."""


class PermanentError(Exception):
    """A step failed for good (quota, permission, bad input): fail the operation with this message."""


class StepPending(Exception):  # noqa: N818 - a signal, not an error
    """A step waits for something slow (a cloud operation): poll again after `delay` seconds."""

    def __init__(self, message: str = "waiting", delay: float = 2.0) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass(frozen=True)
class Step:
    """One idempotent step. Running it twice must have the effect of running it once."""

    name: str
    run: Callable[[StepContext], None]


@dataclass(frozen=True)
class OperationKind:
    """A registered kind of operation."""

    name: str
    title: str
    steps: tuple[Step, ...] | Callable[[dict], tuple[Step, ...]]
    max_attempts: int = 5
    on_failure: Callable[[StepContext, str], None] | None = field(default=None, compare=False)
    on_start: Callable[[StepContext], None] | None = field(default=None, compare=False)

    def steps_for(self, params: dict) -> tuple[Step, ...]:
        """Return the steps of an operation with `params` (some kinds plan them from params)."""
        return self.steps(params) if callable(self.steps) else self.steps


_KINDS: dict[str, OperationKind] = {}


def register(kind: OperationKind) -> OperationKind:
    """Register (or replace) an operation kind."""
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> OperationKind | None:
    """Return the registered kind `name`, loading the built-in kinds first."""
    _load_builtin()
    return _KINDS.get(name)


def kind_names() -> list[str]:
    """Return the registered kind names."""
    _load_builtin()
    return sorted(_KINDS)


def _load_builtin() -> None:
    import mkportal.services.backup.backup_steps  # noqa: F401  (backup.create)
    import mkportal.services.backup.drills  # noqa: F401  (backup.restore, backup.drill, tick)
    import mkportal.services.backup.retention  # noqa: F401  (backup.prune tick)
    import mkportal.services.backup.schedules  # noqa: F401  (backup.schedules tick)
    import mkportal.services.billing.jobs  # noqa: F401  (registers on import)
    import mkportal.services.clusters.steps  # noqa: F401  (registers on import)
    import mkportal.services.logs.cloud  # noqa: F401  (registers its tick hook)
    import mkportal.services.logs.retention  # noqa: F401  (registers its tick hook)
    import mkportal.services.logs.simulator  # noqa: F401  (registers its tick hook)
    import mkportal.services.metrics.alarm_eval  # noqa: F401  (registers its tick hook)
    import mkportal.services.metrics.slo  # noqa: F401  (registers its tick hook)
    import mkportal.worker.kinds  # noqa: F401
