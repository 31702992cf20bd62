"""The in-process worker of the embedded default, as a Reflex lifespan task."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from mkportal.settings import get_settings

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def embedded_worker():  # noqa: ANN201
    """Run a queue consumer inside the portal process unless WORKER_IN_PROCESS is false."""
    runtime = None
    if get_settings().worker_in_process:
        from mkportal.worker.runtime import WorkerRuntime

        runtime = WorkerRuntime(embedded=True)
        runtime.start()
    try:
        yield
    finally:
        if runtime is not None:
            await asyncio.to_thread(runtime.stop)
