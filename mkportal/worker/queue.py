"""The task queue: huey on SQLite (embedded) or on Redis (`REDIS_URL`)."""

from __future__ import annotations

import threading

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

from mkportal.settings import get_settings

_lock = threading.Lock()
_huey: Huey | None = None
_tasks: dict = {}


def _run_operation(op_id: str) -> str | None:
    from mkportal.worker.engine import execute

    return execute(op_id)


def get_huey() -> Huey:
    """Return the process's huey instance, built from the settings on first use."""
    global _huey
    with _lock:
        if _huey is None:
            settings = get_settings()
            if settings.redis_url:
                huey = RedisHuey(
                    settings.queue_name, url=settings.redis_url, results=False, utc=True
                )
            else:
                path = settings.var_dir.resolve() / "queue.db"
                huey = SqliteHuey(settings.queue_name, filename=str(path), results=False, utc=True)
            _tasks["run"] = huey.task(name="run_operation")(_run_operation)
            _huey = huey
        return _huey


def enqueue(op_id: str, delay: float | None = None) -> None:
    """Put an operation on the queue, now or after `delay` seconds."""
    get_huey()
    if delay:
        _tasks["run"].schedule((op_id,), delay=delay)
    else:
        _tasks["run"](op_id)


def queue_depth() -> int:
    """Return the number of messages waiting in the queue (not counting scheduled retries)."""
    return len(get_huey())


def reset_queue() -> None:
    """Forget the huey instance (after settings change, e.g. in tests)."""
    global _huey
    with _lock:
        _huey = None
        _tasks.clear()
