"""Running the queue consumer: in the portal process, or as `mkportal worker`."""

from __future__ import annotations

import logging
import threading

from huey.consumer import Consumer

from mkportal.settings import get_settings
from mkportal.worker.engine import sweep
from mkportal.worker.queue import get_huey
from mkportal.worker.tick import run_tick

log = logging.getLogger(__name__)


class _EmbeddedConsumer(Consumer):
    """A consumer that leaves signal handling to its host process."""

    def _set_signal_handlers(self) -> None:
        return None


class _Ticker(threading.Thread):
    """Sweeps expired leases often and runs the scheduler tick on its interval."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="mkportal-ticker")
        self.stopping = threading.Event()

    def run(self) -> None:
        settings = get_settings()
        waited = settings.tick_interval
        while not self.stopping.is_set():
            try:
                if waited >= settings.tick_interval:
                    run_tick()
                    waited = 0.0
                else:
                    sweep()
            except Exception:  # noqa: BLE001 - keep ticking; the database may come back
                log.exception("sweep/tick failed")
            self.stopping.wait(settings.sweep_interval)
            waited += settings.sweep_interval


class WorkerRuntime:
    """A huey consumer plus the sweeper/tick thread."""

    def __init__(self, threads: int | None = None, embedded: bool = True) -> None:
        self.threads = threads or get_settings().worker_threads
        cls = _EmbeddedConsumer if embedded else Consumer
        self.consumer = cls(
            get_huey(),
            workers=self.threads,
            worker_type="thread",
            periodic=False,
            max_delay=0.5,
            backoff=1.1,
        )
        self.ticker = _Ticker()

    def start(self) -> None:
        """Start consuming in background threads."""
        self.consumer.start()
        self.ticker.start()
        log.info("mkportal worker started with %s threads", self.threads)

    def stop(self) -> None:
        """Stop after the running tasks finish."""
        self.ticker.stopping.set()
        self.consumer.stop(graceful=True)

    def run_forever(self) -> None:
        """Run in the foreground until SIGINT/SIGTERM (the `mkportal worker` command)."""
        self.ticker.start()
        self.consumer.run()
