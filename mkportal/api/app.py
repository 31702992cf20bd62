"""The FastAPI application: REST API v1 under /api/v1, /healthz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from mkportal.api import errors
from mkportal.api.middleware import ApiGuard
from mkportal.api.routes import (
    admin,
    admin_pricing,
    alarms,
    auth,
    backup_schedules,
    backups,
    billing,
    clusters,
    dashboards,
    health,
    incidents,
    invoice_documents,
    log_collection,
    log_ingest,
    me,
    metrics,
    metrics_collection,
    metrics_query,
    notifications,
    operations,
    orgs,
    quotes,
    restores,
    runbooks,
    slo_reports,
    tokens,
    webhooks,
)
from mkportal.api.sandbox_k8s import router as sandbox_k8s_router
from mkportal.services.errors import NotFound
from mkportal.settings import get_settings

API_PREFIX = "/api/v1"


def create_api() -> FastAPI:
    """Build the API application (Reflex mounts its own app beneath it)."""
    app = FastAPI(
        title="mkportal API",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        description=(
            "Self-service Managed Kubernetes. Authenticate with `Authorization: Bearer <token>`; "
            "create tokens in Settings or with `mkportal tokens create`. Errors are JSON: "
            "401 without a valid token, 404 for anything outside your organisation, 409 for "
            "conflicts (a name taken, or an operation in progress on the same cluster: the "
            "request is refused, not queued), 413 for oversized bodies, 422 with field paths, "
            "429 after repeated failed sign-ins."
        ),
    )
    errors.install(app)
    v1 = APIRouter(prefix=API_PREFIX)
    for module in (
        auth,
        me,
        orgs,
        tokens,
        operations,
        clusters,
        admin,
        admin_pricing,
        billing,
        invoice_documents,
        webhooks,
        quotes,
        log_collection,
        log_ingest,
        metrics,
        metrics_collection,
        metrics_query,
        dashboards,
        alarms,
        notifications,
        incidents,
        runbooks,
        slo_reports,
        restores,
        backup_schedules,
        backups,
    ):
        v1.include_router(module.router)

    @v1.api_route(
        "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown(path: str) -> None:
        raise NotFound(f"No such API endpoint: /{path}")

    app.include_router(health.router)
    app.include_router(sandbox_k8s_router)
    app.include_router(v1)
    app.add_middleware(ApiGuard, max_body=get_settings().max_body_bytes)
    return app
