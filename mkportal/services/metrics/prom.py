"""The Prometheus and Alertmanager the portal talks to, and a small query client.

`prometheus_url()` is `PROMETHEUS_URL` when set, else the embedded instance's loopback
URL when the embedded stack is enabled. Every query helper raises `MetricsUnavailable`
when no backend is configured or it cannot be reached, and `Invalid` when Prometheus
rejects the query (bad PromQL), so callers never see requests' or the client's errors.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from mkportal.services.errors import Invalid, ServiceError
from mkportal.settings import get_settings

PROMETHEUS_BIN = "prometheus"
ALERTMANAGER_BIN = "prometheus-alertmanager"
INSTALL_HINT = (
    "No metrics backend is configured. Install Prometheus and Alertmanager "
    "(apt-get install prometheus prometheus-alertmanager) and restart the portal, or set "
    "PROMETHEUS_URL and ALERTMANAGER_URL to the operator's stack."
)
TIMEOUT = 10.0
# Fail fast: a view must not hang for seconds when Prometheus is down (one quick retry).
NO_RETRY = Retry(total=1, connect=1, read=0, status=0, backoff_factor=0.1)


class MetricsUnavailable(ServiceError):
    """No metrics backend is configured, or it does not answer."""

    status = 503


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels and value."""

    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and (unix time, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


def embedded_available() -> bool:
    """Whether the embedded stack can run here (binaries present and not disabled)."""
    s = get_settings()
    return (
        s.metrics_embedded
        and shutil.which(PROMETHEUS_BIN) is not None
        and shutil.which(ALERTMANAGER_BIN) is not None
    )


def prometheus_url() -> str:
    """Return the Prometheus base URL, or "" when no backend is configured."""
    s = get_settings()
    if s.prometheus_url:
        return s.prometheus_url.rstrip("/")
    return f"http://127.0.0.1:{s.prometheus_port}" if embedded_available() else ""


def alertmanager_url() -> str:
    """Return the Alertmanager base URL, or "" when no backend is configured."""
    s = get_settings()
    if s.alertmanager_url:
        return s.alertmanager_url.rstrip("/")
    return f"http://127.0.0.1:{s.alertmanager_port}" if embedded_available() else ""


def connect() -> PrometheusConnect:
    """Return a client for the configured Prometheus.

    Raises:
        MetricsUnavailable: No backend is configured.
    """
    url = prometheus_url()
    if not url:
        raise MetricsUnavailable(INSTALL_HINT)
    return PrometheusConnect(
        url=url, disable_ssl=True, timeout=TIMEOUT, method="POST", retry=NO_RETRY
    )


def _call(fn: Callable[[], Any]) -> Any:  # noqa: ANN401
    try:
        return fn()
    except PrometheusApiClientException as exc:
        message = str(exc)
        if "Status Code 400" in message or "Status Code 422" in message:
            raise Invalid({"query": _prom_error(message)}) from exc
        raise MetricsUnavailable(f"Prometheus answered with an error: {message}") from exc
    except (requests.RequestException, OSError) as exc:
        raise MetricsUnavailable(
            f"Prometheus at {prometheus_url()} does not answer ({exc.__class__.__name__})."
        ) from exc


def _prom_error(message: str) -> str:
    marker = '"error":"'
    if marker in message:
        return message.split(marker, 1)[1].split('"', 1)[0].replace("\\n", " ")
    return message


def query(promql: str, at: datetime | None = None) -> list[Sample]:
    """Run an instant query and return its samples (a scalar comes back as one sample).

    Raises:
        MetricsUnavailable: No backend, or it does not answer.
        Invalid: Prometheus rejected the query (field "query").
    """
    prom = connect()
    params = {"time": at.timestamp()} if at else {}
    result = _call(lambda: prom.custom_query(promql, params=params))
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return [Sample({}, float(result[1]))]
    return [Sample(r.get("metric", {}), float(r["value"][1])) for r in result]


def query_range(promql: str, start: datetime, end: datetime, step_seconds: float) -> list[Series]:
    """Run a range query and return its series.

    Raises:
        MetricsUnavailable: No backend, or it does not answer.
        Invalid: Prometheus rejected the query (field "query").
    """
    prom = connect()
    step = f"{step_seconds:g}s"
    result = _call(lambda: prom.custom_query_range(promql, start, end, step))
    return [
        Series(r.get("metric", {}), [(float(t), float(v)) for t, v in r.get("values", [])])
        for r in result
    ]


def step_for(seconds: float, points: int = 240) -> float:
    """Return a range query step (whole seconds, at least 15 s) giving about `points` points."""
    return float(max(15, round(seconds / points)))
