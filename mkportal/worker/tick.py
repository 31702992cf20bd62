"""The periodic scheduler tick. Later capabilities hook in with `register_tick`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.operation import Lock

log = logging.getLogger(__name__)

_HOOKS: dict[str, Callable[[], None]] = {}


def register_tick(name: str, hook: Callable[[], None]) -> None:
    """Run `hook` on every scheduler tick (once per interval across all workers)."""
    _HOOKS[name] = hook


def acquire_lock(name: str, owner: str, seconds: float) -> bool:
    """Take the named lock for `seconds` unless someone else holds it. Safe across processes."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    with session_scope() as s:
        res = s.exec(
            update(Lock)
            .where(Lock.name == name, or_(Lock.expires_at < now, Lock.owner == owner))
            .values(owner=owner, expires_at=until)
        )
        if res.rowcount == 1:
            return True
        if s.get(Lock, name) is not None:
            return False
    try:
        with session_scope() as s:
            s.add(Lock(name=name, owner=owner, expires_at=until))
        return True
    except IntegrityError:
        return False


def release_lock(name: str, owner: str) -> None:
    """Give up the named lock if `owner` still holds it."""
    with session_scope() as s:
        s.exec(
            update(Lock)
            .where(Lock.name == name, Lock.owner == owner)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def run_tick(owner: str | None = None) -> list[str]:
    """Run every registered hook if this worker wins the tick lock.

    Returns:
        The names of the hooks that ran (empty when another worker has the tick).

    """
    from mkportal.settings import get_settings
    from mkportal.worker.engine import default_worker_id, sweep
    from mkportal.worker.registry import kind_names

    kind_names()  # imports the use cases, which register their tick hooks

    owner = owner or default_worker_id()
    if not acquire_lock("tick", owner, get_settings().tick_interval * 0.9):
        return []
    ran = []
    sweep()
    for name, hook in list(_HOOKS.items()):
        try:
            hook()
            ran.append(name)
        except Exception:  # noqa: BLE001 - one failing hook must not stop the others
            log.exception("tick hook %s failed", name)
    return ran
