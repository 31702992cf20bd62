"""A real Prometheus serving a fixed, backfilled TSDB (no scraping), for PromQL tests.

    with backfilled_prometheus(tmp_path, SERIES, start=t0) as url:
        requests.get(f"{url}/api/v1/query", params={"query": "up", "time": t0 + 600})

The series are written as OpenMetrics and turned into blocks with
`promtool tsdb create-blocks-from openmetrics`, then Prometheus starts on that TSDB on a
free loopback port. Skips the calling test when `prometheus` or `promtool` are missing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

SeriesSpec = tuple[str, dict[str, str], Callable[[int], float]]
STEP = 60
POINTS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openmetrics(series: list[SeriesSpec], start: int) -> str:
    """Render `series` (name, labels, value of point i) as OpenMetrics, one point a minute."""
    families: dict[str, list[str]] = {}
    for name, labels, value in series:
        body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        lines = families.setdefault(name, [])
        lines.extend(f"{name}{{{body}}} {value(i)} {start + i * STEP}" for i in range(POINTS))
    out: list[str] = []
    for name, lines in families.items():
        out.append(f"# TYPE {name} gauge")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"


def require_binaries() -> None:
    """Skip the calling test unless prometheus and promtool are installed."""
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


@contextmanager
def backfilled_prometheus(workdir: Path, series: list[SeriesSpec], start: int) -> Iterator[str]:
    """Run Prometheus on a TSDB holding `series` from `start` (unix seconds); yield its URL."""
    require_binaries()
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "series.om"
    source.write_text(openmetrics(series, start))
    data = workdir / "data"
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    port = _free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=30d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/-/ready", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"Prometheus did not start: {(workdir / 'prometheus.log').read_text()[-2000:]}"
                )
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
