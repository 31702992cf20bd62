"""Built-in operation kinds.

`noop` is the engine's diagnostic: it runs `steps` steps that each wait `sleep` seconds, and
can be told to fail transiently (`fail_times`) or permanently (`fail`). Operators use it to
check that workers are alive; the benchmarks use it to measure the engine's overhead.
"""

from __future__ import annotations

import time

from mkportal.worker.context import StepContext
from mkportal.worker.registry import OperationKind, PermanentError, Step, TransientError, register

MAX_NOOP_STEPS = 20
MAX_NOOP_SLEEP = 60.0


def _noop_step(ctx: StepContext) -> None:
    sleep = float(ctx.params.get("sleep", 0))
    fail_times = int(ctx.params.get("fail_times", 0))
    if ctx.params.get("fail"):
        raise PermanentError(str(ctx.params["fail"]))
    if ctx.step_index == 0 and ctx.attempt <= fail_times:
        raise TransientError(f"simulated transient failure {ctx.attempt}/{fail_times}")
    deadline = time.monotonic() + sleep
    while time.monotonic() < deadline:
        if ctx.cancel_requested:
            return
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    done = ctx.result.setdefault("steps_done", [])
    if ctx.step_index not in done:
        done.append(ctx.step_index)


def noop_steps(count: int) -> tuple[Step, ...]:
    """Return `count` diagnostic steps."""
    return tuple(Step(f"diagnostic step {i + 1}", _noop_step) for i in range(count))


def validate_noop(params: dict) -> dict:
    """Check and normalise the parameters of a `noop` operation."""
    from mkportal.services.errors import Invalid

    try:
        steps = int(params.get("steps", 3))
        sleep = float(params.get("sleep", 0))
        fail_times = int(params.get("fail_times", 0))
    except (TypeError, ValueError):
        raise Invalid(
            {"params": "steps and fail_times must be whole numbers, sleep a number."}
        ) from None
    if not 1 <= steps <= MAX_NOOP_STEPS:
        raise Invalid({"params.steps": f"Choose 1 to {MAX_NOOP_STEPS} steps."})
    if not 0 <= sleep <= MAX_NOOP_SLEEP:
        raise Invalid({"params.sleep": f"Choose 0 to {MAX_NOOP_SLEEP:.0f} seconds."})
    if not 0 <= fail_times <= 10:
        raise Invalid({"params.fail_times": "Choose 0 to 10."})
    out = {"steps": steps, "sleep": sleep, "fail_times": fail_times}
    if params.get("fail"):
        out["fail"] = str(params["fail"])[:200]
    return out


register(
    OperationKind("noop", "Diagnostic", lambda params: noop_steps(int(params.get("steps", 3))))
)
