"""Helpers for tests that drive a cloud provider through the portal's services."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from mkportal.services.providers.base import ObservedCluster
from mkportal.settings import get_settings


def enable_provider(monkeypatch: pytest.MonkeyPatch, provider: str, **env: str) -> None:
    """Enable `provider` beside the sandbox, with its settings, and fast retries."""
    settings = {
        "PROVIDERS": f'["sandbox", "{provider}"]',
        "PROVIDER_INLINE_WAIT": "5",
        "RETRY_BASE_SECONDS": "0.05",
        **env,
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


def observe_until(
    provider: object, ref: str, check: Callable[[ObservedCluster], bool], timeout: float = 10
) -> ObservedCluster:
    """Poll `provider.get_cluster(ref)` until `check` holds; return that observation."""
    deadline = time.monotonic() + timeout
    while True:
        seen = provider.get_cluster(ref)
        if check(seen):
            return seen
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)


def operation_log(actor: object, op_id: str) -> list[str]:
    """Return an operation's log messages."""
    from mkportal.services import operations

    return [line.message for line in operations.logs(actor, op_id)]
