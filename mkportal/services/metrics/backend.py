"""The embedded metrics stack: its config files and the Prometheus/Alertmanager processes.

With `PROMETHEUS_URL` set the operator's stack is used and nothing is started here. Else,
when both binaries are installed (`prom.embedded_available()`), the portal writes
prometheus.yml, rules.yml and alertmanager.yml under var/metrics/ and supervises the two
processes on 127.0.0.1 (restarting them if they die). Prometheus scrapes the portal's
exporter at `BASE_URL/api/v1/metrics/scrape` with the `METRICS_TOKEN` bearer token and
sends alerts to Alertmanager, whose only receiver is the portal's webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import yaml

from mkportal.services.metrics import prom, rules
from mkportal.settings import get_settings

log = logging.getLogger(__name__)

SCRAPE_PATH = "/api/v1/metrics/scrape"
WEBHOOK_PATH = "/api/v1/webhooks/alertmanager"
RETENTION = "35d"


@dataclass(frozen=True)
class StackConfig:
    """What the config files say; built from settings by `from_settings`."""

    scrape_url: str
    scrape_token: str
    webhook_url: str
    webhook_secret: str
    alertmanager_addr: str
    base_url: str
    interval: str = "15s"
    alert_for: str | None = None
    fast_routes: bool = False

    @classmethod
    def from_settings(cls) -> StackConfig:
        """Return the production config of the embedded stack."""
        s = get_settings()
        base = s.base_url.rstrip("/")
        return cls(
            scrape_url=base + SCRAPE_PATH,
            scrape_token=s.metrics_token,
            webhook_url=base + WEBHOOK_PATH,
            webhook_secret=s.alertmanager_secret,
            alertmanager_addr=f"127.0.0.1:{s.alertmanager_port}",
            base_url=base,
            interval=s.metrics_scrape_interval,
        )


def prometheus_config(cfg: StackConfig, rules_path: Path) -> str:
    """Return prometheus.yml for `cfg` with `rules_path` as its only rule file."""
    url = urlparse(cfg.scrape_url)
    config = {
        "global": {"scrape_interval": cfg.interval, "evaluation_interval": cfg.interval},
        "rule_files": [str(rules_path)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [cfg.alertmanager_addr]}]}]},
        "scrape_configs": [
            {
                "job_name": "mkportal",
                "honor_labels": True,
                "scheme": url.scheme or "http",
                "metrics_path": url.path or SCRAPE_PATH,
                "authorization": {"type": "Bearer", "credentials": cfg.scrape_token},
                "static_configs": [{"targets": [url.netloc]}],
            }
        ],
    }
    return yaml.safe_dump(config, sort_keys=False, width=1000)


def write_configs(workdir: Path, cfg: StackConfig) -> dict[str, Path]:
    """Write prometheus.yml, rules.yml and alertmanager.yml into `workdir` (mode 0600).

    Returns:
        Paths by name: "prometheus", "rules", "alertmanager", "prometheus_data",
        "alertmanager_data".
    """
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {
        "prometheus": workdir / "prometheus.yml",
        "rules": workdir / "rules.yml",
        "alertmanager": workdir / "alertmanager.yml",
        "prometheus_data": workdir / "prometheus-data",
        "alertmanager_data": workdir / "alertmanager-data",
    }
    texts = {
        "rules": rules.rule_file(cfg.base_url, alert_for=cfg.alert_for),
        "prometheus": prometheus_config(cfg, paths["rules"]),
        "alertmanager": rules.alertmanager_config(
            cfg.webhook_url, cfg.webhook_secret, fast=cfg.fast_routes
        ),
    }
    for name, text in texts.items():
        tmp = paths[name].with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o600)
        tmp.replace(paths[name])
    paths["prometheus_data"].mkdir(exist_ok=True)
    paths["alertmanager_data"].mkdir(exist_ok=True)
    return paths


def prometheus_command(paths: dict[str, Path], port: int) -> list[str]:
    """Return the Prometheus command line (remote-write receiver on for the metrics agents)."""
    return [
        shutil.which(prom.PROMETHEUS_BIN) or prom.PROMETHEUS_BIN,
        f"--config.file={paths['prometheus']}",
        f"--storage.tsdb.path={paths['prometheus_data']}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-remote-write-receiver",
        "--web.enable-lifecycle",
    ]


def alertmanager_command(paths: dict[str, Path], port: int) -> list[str]:
    """Return the Alertmanager command line (no gossip port)."""
    return [
        shutil.which(prom.ALERTMANAGER_BIN) or prom.ALERTMANAGER_BIN,
        f"--config.file={paths['alertmanager']}",
        f"--storage.path={paths['alertmanager_data']}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]


@dataclass
class Supervisor:
    """Runs Prometheus and Alertmanager and restarts whichever dies until `stop()`."""

    paths: dict[str, Path]
    prometheus_port: int
    alertmanager_port: int
    log_dir: Path
    restarts: int = 0
    _procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _commands(self) -> dict[str, list[str]]:
        return {
            "alertmanager": alertmanager_command(self.paths, self.alertmanager_port),
            "prometheus": prometheus_command(self.paths, self.prometheus_port),
        }

    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = (self.log_dir / f"{name}.log").open("ab")
        self._procs[name] = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        out.close()

    def start(self) -> None:
        """Start both processes and the watchdog thread."""
        for name, cmd in self._commands().items():
            self._spawn(name, cmd)
        self._thread = threading.Thread(target=self._watch, name="metrics-stack", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(2.0):
            for name, cmd in self._commands().items():
                proc = self._procs.get(name)
                if proc is not None and proc.poll() is not None and not self._stop.is_set():
                    log.warning("%s exited with %s; restarting it", name, proc.returncode)
                    self.restarts += 1
                    self._spawn(name, cmd)

    def pids(self) -> dict[str, int]:
        """Return the process ids by name."""
        return {name: p.pid for name, p in self._procs.items()}

    def stop(self) -> None:
        """Stop the watchdog and terminate both processes (kill after 10 s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def wait_ready(url: str, timeout: float = 30.0) -> None:
    """Wait until `<url>/-/ready` answers 200 (both Prometheus and Alertmanager have it).

    Raises:
        TimeoutError: It did not answer in time.
    """
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not become ready within {timeout:.0f} s")


_running: Supervisor | None = None
_lock_file = None


def status() -> dict:
    """Return the state of the metrics backend for the UI and `GET /api/v1/metrics/status`.

    Returns:
        {"mode": "configured"|"embedded"|"not installed", "prometheus_url", "alertmanager_url",
        "running": bool, "message": str}.
    """
    s = get_settings()
    if s.prometheus_url:
        mode, message = "configured", "Using the operator's Prometheus and Alertmanager."
    elif prom.embedded_available():
        mode, message = "embedded", "The portal runs Prometheus and Alertmanager itself."
    else:
        mode, message = "not installed", prom.INSTALL_HINT
    return {
        "mode": mode,
        "prometheus_url": prom.prometheus_url(),
        "alertmanager_url": prom.alertmanager_url(),
        "running": mode == "configured" or _running is not None,
        "message": message,
    }


def start_embedded() -> Supervisor | None:
    """Write the configs and start the embedded stack, unless it is configured or missing."""
    global _running, _lock_file
    s = get_settings()
    if s.prometheus_url or not prom.embedded_available():
        return None
    workdir = s.var_dir / "metrics"
    workdir.mkdir(parents=True, exist_ok=True)
    lock = (workdir / "stack.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        log.info("another portal process runs the embedded metrics stack")
        return None
    _lock_file = lock
    paths = write_configs(workdir, StackConfig.from_settings())
    sup = Supervisor(paths, s.prometheus_port, s.alertmanager_port, workdir)
    sup.start()
    _running = sup
    return sup


def stop_embedded() -> None:
    """Stop the embedded stack if this process started it."""
    global _running, _lock_file
    if _running is not None:
        _running.stop()
        _running = None
    if _lock_file is not None:
        _lock_file.close()
        _lock_file = None


@contextlib.asynccontextmanager
async def embedded_metrics():  # noqa: ANN201
    """Reflex lifespan task: run the embedded Prometheus and Alertmanager with the portal."""
    try:
        await asyncio.to_thread(start_embedded)
    except OSError:
        log.exception("could not start the embedded metrics stack")
    try:
        yield
    finally:
        await asyncio.to_thread(stop_embedded)
