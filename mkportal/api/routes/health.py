"""Liveness/readiness and Prometheus metrics."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, text
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.operation import Operation, OpStatus
from mkportal.worker.queue import queue_depth

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> JSONResponse:
    """Report whether the database and the queue answer (503 when one does not)."""
    checks = {}
    try:
        with session_scope() as s:
            s.exec(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        queue_depth()
        checks["queue"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["queue"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "degraded", **checks}, 200 if ok else 503)


class _OperationsCollector:
    """Operations by state and the queue depth, read at scrape time."""

    def collect(self):  # noqa: ANN201
        by_state = GaugeMetricFamily(
            "mkportal_operations", "Operations by status", labels=["status"]
        )
        counts = dict.fromkeys(OpStatus, 0)
        try:
            with session_scope() as s:
                for status, n in s.exec(
                    select(Operation.status, func.count()).group_by(Operation.status)
                ):
                    counts[status] = n
        except Exception:  # noqa: BLE001 - a scrape must not fail because of the database
            return
        for status, n in counts.items():
            by_state.add_metric([str(status)], n)
        yield by_state
        depth = GaugeMetricFamily("mkportal_queue_depth", "Messages waiting in the task queue")
        try:
            depth.add_metric([], queue_depth())
            yield depth
        except Exception:  # noqa: BLE001
            return


_collector = _OperationsCollector()
REGISTRY.register(_collector)


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics: API requests and latency, operations by state, queue depth."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
