"""A real Prometheus and Alertmanager on free loopback ports, with the portal's configs.

    with running_stack(tmp_path, scrape_url=f"{api}/api/v1/metrics/scrape",
                       scrape_token=settings.metrics_token,
                       webhook_url=f"{api}/api/v1/webhooks/alertmanager",
                       webhook_secret=settings.alertmanager_secret) as stack:
        monkeypatch.setenv("PROMETHEUS_URL", stack.prometheus)  # then reset settings cache
        ...

The config files come from `mkportal.services.metrics.backend.write_configs`, so the tests
exercise the production prometheus.yml, rules.yml and alertmanager.yml. Alert `for`
durations are 0 s and Alertmanager routes wait 1 s, so an alert reaches the webhook a few
seconds after its condition holds. Tests using this skip when the binaries are missing.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from mkportal.services.metrics import backend, prom


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    """The running stack: base URLs, config paths and the supervisor."""

    prometheus: str
    alertmanager: str
    paths: dict[str, Path]
    supervisor: backend.Supervisor

    def wait_for(self, promql: str, timeout: float = 30.0) -> list[dict]:
        """Poll an instant query until it returns at least one series; return the result.

        Raises:
            TimeoutError: Nothing came back in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            r = requests.get(f"{self.prometheus}/api/v1/query", params={"query": promql}, timeout=5)
            result = r.json().get("data", {}).get("result", []) if r.ok else []
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"{promql!r} returned nothing within {timeout:.0f} s")
            time.sleep(0.5)

    def targets_up(self, timeout: float = 30.0) -> None:
        """Wait until the scrape target has been scraped successfully once."""
        self.wait_for('up{job="mkportal"} == 1', timeout)


def require_binaries() -> None:
    """Skip the calling test when Prometheus, Alertmanager or promtool are not installed."""
    missing = [
        b
        for b in (prom.PROMETHEUS_BIN, prom.ALERTMANAGER_BIN, "promtool")
        if shutil.which(b) is None
    ]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


@contextmanager
def running_stack(
    workdir: Path,
    *,
    scrape_url: str,
    scrape_token: str,
    webhook_url: str,
    webhook_secret: str,
    interval: str = "1s",
    base_url: str = "http://portal.test",
    alert_for: str | None = "0s",
) -> Iterator[Stack]:
    """Run Prometheus and Alertmanager while the block runs.

    Args:
        workdir: Where configs and data go (a pytest tmp_path).
        scrape_url: The exporter URL Prometheus scrapes (the portal's /api/v1/metrics/scrape).
        scrape_token: Its bearer token.
        webhook_url: Alertmanager's receiver (the portal's /api/v1/webhooks/alertmanager).
        webhook_secret: The receiver's bearer secret.
        interval: Scrape and evaluation interval.
        base_url: The portal URL runbook links point at.
        alert_for: Override of every alert's `for` (None keeps the production values).

    Yields:
        The running `Stack`.
    """
    require_binaries()
    prom_port, am_port = _free_port(), _free_port()
    cfg = backend.StackConfig(
        scrape_url=scrape_url,
        scrape_token=scrape_token,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        alertmanager_addr=f"127.0.0.1:{am_port}",
        base_url=base_url,
        interval=interval,
        alert_for=alert_for,
        fast_routes=True,
    )
    paths = backend.write_configs(Path(workdir), cfg)
    sup = backend.Supervisor(paths, prom_port, am_port, Path(workdir))
    sup.start()
    stack = Stack(f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}", paths, sup)
    try:
        backend.wait_ready(stack.alertmanager)
        backend.wait_ready(stack.prometheus)
        yield stack
    finally:
        sup.stop()
