"""Durable operations.

Conflicts: while an operation is pending or running on a cluster, requesting another
one for that cluster is refused with 409 and the running operation is named in the
message. Requests are not queued behind each other.
"""

from fastapi import APIRouter, Depends, Header, Query, Response

from mkportal.api.deps import current_actor
from mkportal.api.schemas import OperationBody, page_json
from mkportal.services import operations
from mkportal.services.actor import Actor

router = APIRouter(prefix="/operations", tags=["operations"])


@router.post("", status_code=202)
def request_operation(
    body: OperationBody,
    response: Response,
    actor: Actor = Depends(current_actor),
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> dict:
    """Request an operation. A repeated `Idempotency-Key` returns the first operation."""
    op, created = operations.request(
        actor,
        body.kind,
        cluster_id=body.cluster_id,
        params=body.params,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return {"operation": op}


@router.get("")
def list_operations(
    actor: Actor = Depends(current_actor),
    status: str | None = None,
    cluster_id: str | None = None,
    all_orgs: bool = False,
    page: int = Query(1, ge=1),
    per_page: int = Query(25, ge=1, le=200),
) -> dict:
    """List operations, newest first (operators may pass `all_orgs=true`)."""
    return page_json(
        operations.list_operations(
            actor,
            status=status,
            cluster_id=cluster_id,
            all_orgs=all_orgs,
            page=page,
            per_page=per_page,
        )
    )


@router.get("/{op_id}")
def get_operation(op_id: str, actor: Actor = Depends(current_actor)) -> operations.OperationView:
    """Return an operation with its progress."""
    return operations.get(actor, op_id)


@router.get("/{op_id}/logs")
def get_logs(
    op_id: str,
    actor: Actor = Depends(current_actor),
    after: int = Query(0, ge=0),
    limit: int = Query(500, ge=1, le=2000),
) -> list[operations.LogLine]:
    """Return log lines after the given line id."""
    return operations.logs(actor, op_id, after=after, limit=limit)


@router.post("/{op_id}/cancel", status_code=202)
def cancel(op_id: str, actor: Actor = Depends(current_actor)) -> operations.OperationView:
    """Cancel: immediately when pending, after the current step when running."""
    return operations.cancel(actor, op_id)


@router.post("/{op_id}/retry", status_code=202)
def retry(op_id: str, actor: Actor = Depends(current_actor)) -> operations.OperationView:
    """Resume a failed operation at the step that failed."""
    return operations.retry(actor, op_id)
