"""Historic logs: ingestion by log agents, search, ingest tokens and retention settings."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from mkportal.api.deps import bearer, current_actor
from mkportal.api.schemas import Body
from mkportal.services.actor import Actor
from mkportal.services.logs import export, query, retention
from mkportal.services.logs import tokens as log_tokens
from mkportal.services.logs.ingest import ingest_batch
from mkportal.services.logs.store import LogPage, LogRecord

router = APIRouter(tags=["logs"])


class IngestTokenBody(Body):
    """A new ingest token."""

    name: str = Field(default="log-agent", max_length=100)


class OrgLogSettingsBody(Body):
    """Organisation log settings; quota and control-plane access are operator-only."""

    org_id: str | None = Field(default=None, max_length=32)
    app_retention_days: int | None = Field(default=None, ge=1, le=90)
    quota_bytes: int | None = Field(default=None, ge=1)
    operator_grants_control_plane: bool | None = None


class ClusterLogSettingsBody(Body):
    """A cluster's control-plane log retention."""

    control_plane_retention_days: int = Field(ge=1, le=90)


def record_json(r: LogRecord) -> dict:
    """Render a log line for the API."""
    out = asdict(r)
    out["highlights"] = [list(h) for h in r.highlights]
    out["cursor"] = r.cursor.encode()
    return out


def page_json(page: LogPage) -> dict:
    """Render a page of lines with its keyset cursors."""
    return {
        "items": [record_json(r) for r in page.items],
        "older": page.older.encode() if page.older else None,
        "newer": page.newer.encode() if page.newer else None,
    }


def filters(
    stream: str = "app",
    start: datetime | None = Query(None, alias="from"),
    end: datetime | None = Query(None, alias="to"),
    namespace: str = Query("", max_length=253),
    pod: str = Query("", max_length=253),
    container: str = Query("", max_length=253),
    level: list[str] = Query([]),
    component: str = Query("", max_length=64),
    q: str = "",
    cursor: str | None = Query(None, max_length=64),
    direction: str = "older",
    limit: int = 100,
) -> query.LogFilters:
    """Read the log filters from the query string (levels repeat or are comma-separated)."""
    levels = tuple(lv.strip() for item in level for lv in item.split(",") if lv.strip())
    return query.LogFilters(
        stream, start, end, namespace, pod, container, levels, component, q, cursor, direction,
        limit,
    )  # fmt: skip


@router.post("/ingest/logs", status_code=202)
async def ingest_logs(request: Request) -> dict:
    """Store a batch of JSON lines from a cluster's log agent (Bearer ingest token).

    The body is newline-delimited JSON, optionally `Content-Encoding: gzip`. The batch is
    stored completely or not at all: 401 for a wrong or revoked token, 403 for a line of
    another cluster, 413 for a batch too large, 422 with line numbers for malformed lines,
    429 when the organisation is far over its quota.
    """
    token = bearer(request)
    body = await request.body()
    result = await run_in_threadpool(
        ingest_batch, token, body, request.headers.get("content-encoding")
    )
    return asdict(result)


@router.get("/clusters/{cluster_id}/logs")
def search_logs(
    cluster_id: str,
    f: query.LogFilters = Depends(filters),
    actor: Actor = Depends(current_actor),
) -> dict:
    """Search a cluster's logs, newest first; page with `cursor` and `direction`."""
    return page_json(query.search_logs(actor, cluster_id, f))


@router.get("/clusters/{cluster_id}/logs/export")
def export_logs(
    cluster_id: str,
    f: query.LogFilters = Depends(filters),
    actor: Actor = Depends(current_actor),
    format: str = Query("jsonl", pattern="^(text|jsonl)$"),  # noqa: A002
    max_lines: int = Query(1_000_000, ge=1, le=10_000_000),
) -> StreamingResponse:
    """Stream every matching line (newest first) as JSON lines or text, paging on the server."""
    query.search_logs(actor, cluster_id, f)  # authorize and validate before streaming
    render = export.json_line if format == "jsonl" else export.text_line
    lines = (render(r) for r in export.export_records(actor, cluster_id, f, max_lines))
    media = "application/x-ndjson" if format == "jsonl" else "text/plain; charset=utf-8"
    name = f"logs-{cluster_id}.{'jsonl' if format == 'jsonl' else 'log'}"
    return StreamingResponse(
        lines, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/clusters/{cluster_id}/logs/histogram")
def log_histogram(
    cluster_id: str,
    buckets: int = 60,
    f: query.LogFilters = Depends(filters),
    actor: Actor = Depends(current_actor),
) -> dict:
    """Count a cluster's matching lines per level over [from, to)."""
    return {"buckets": [asdict(b) for b in query.log_histogram(actor, cluster_id, f, buckets)]}


@router.get("/clusters/{cluster_id}/logs/tail")
def tail_logs(
    cluster_id: str,
    after: str | None = Query(None, max_length=64),
    f: query.LogFilters = Depends(filters),
    actor: Actor = Depends(current_actor),
) -> dict:
    """Return the lines newer than cursor `after`, oldest first, and the cursor to poll with."""
    lines = query.tail_logs(actor, cluster_id, f, after)
    return {
        "items": [record_json(r) for r in lines],
        "cursor": lines[-1].cursor.encode() if lines else after,
    }


@router.get("/clusters/{cluster_id}/logs/{line_id}/context")
def log_context(
    cluster_id: str,
    line_id: int,
    stream: str = "app",
    before: int = Query(20, ge=0, le=1000),
    after: int = Query(20, ge=0, le=1000),
    actor: Actor = Depends(current_actor),
) -> dict:
    """Return a line with its neighbours from the same pod and container."""
    lines = query.line_context(
        actor, cluster_id, line_id, stream=stream, before=before, after=after
    )
    return {"items": [record_json(r) for r in lines]}


@router.get("/clusters/{cluster_id}/log-tokens")
def list_log_tokens(cluster_id: str, actor: Actor = Depends(current_actor)) -> list:
    """List a cluster's ingest tokens (never their secrets)."""
    return [asdict(t) for t in log_tokens.list_ingest_tokens(actor, cluster_id)]


@router.post("/clusters/{cluster_id}/log-tokens", status_code=201)
def create_log_token(
    cluster_id: str, body: IngestTokenBody, actor: Actor = Depends(current_actor)
) -> dict:
    """Create an ingest token for the cluster's log agent. The secret is shown only here."""
    plain, info = log_tokens.create_ingest_token(actor, cluster_id, body.name)
    return {"token": plain, "info": asdict(info)}


@router.delete("/clusters/{cluster_id}/log-tokens/{token_id}", status_code=204)
def revoke_log_token(cluster_id: str, token_id: str, actor: Actor = Depends(current_actor)) -> None:
    """Revoke an ingest token; the agent's next batch gets 401."""
    log_tokens.revoke_ingest_token(actor, cluster_id, token_id)


@router.get("/logs/settings")
def get_log_settings(
    org_id: str | None = Query(None, max_length=32), actor: Actor = Depends(current_actor)
) -> dict:
    """Return the organisation's log retention, quota and usage."""
    return asdict(retention.get_org_settings(actor, org_id))


@router.put("/logs/settings")
def put_log_settings(body: OrgLogSettingsBody, actor: Actor = Depends(current_actor)) -> dict:
    """Change the organisation's log settings (owners: retention; operators: all)."""
    return asdict(
        retention.update_org_settings(
            actor,
            org_id=body.org_id,
            app_retention_days=body.app_retention_days,
            quota_bytes=body.quota_bytes,
            operator_grants_control_plane=body.operator_grants_control_plane,
        )
    )


@router.put("/admin/clusters/{cluster_id}/log-settings")
def put_cluster_log_settings(
    cluster_id: str, body: ClusterLogSettingsBody, actor: Actor = Depends(current_actor)
) -> dict:
    """Set a cluster's control-plane log retention (operators only)."""
    return asdict(
        retention.set_control_plane_retention(actor, cluster_id, body.control_plane_retention_days)
    )
