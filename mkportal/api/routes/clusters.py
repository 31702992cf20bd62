"""Clusters and the catalog.

Conflicts: while an operation is pending or running on a cluster, a PATCH or a rotation
is refused with 409 naming the running operation (requests are not queued). A DELETE
while the cluster is being deleted returns the running deletion.
"""

from fastapi import APIRouter, Depends, Header, Query, Response

from mkportal.api.deps import current_actor
from mkportal.api.schemas import page_json
from mkportal.services import catalog, operations
from mkportal.services.actor import Actor
from mkportal.services.clusters import actions
from mkportal.services.clusters.kubeconfig import kubeconfig
from mkportal.services.clusters.spec import ClusterIn, ClusterPatch

router = APIRouter(tags=["clusters"])
Key = Header(default=None, alias="Idempotency-Key", max_length=200)


@router.get("/catalog")
def get_catalog(_actor: Actor = Depends(current_actor)) -> dict:
    """List providers (regions, versions, machine types), features and service levels."""
    return catalog.catalog_json()


@router.get("/clusters")
def list_clusters(
    actor: Actor = Depends(current_actor),
    all_orgs: bool = False,
    provider: str = "",
    status: str = "",
    version: str = "",
    service_level: str = "",
    search: str = "",
    include_deleted: bool = False,
    page: int = Query(1, ge=1),
    per_page: int = Query(25, ge=1, le=200),
) -> dict:
    """List clusters, newest first (operators: `all_orgs=true` and filters)."""
    return page_json(
        actions.list_clusters(
            actor,
            all_orgs=all_orgs,
            provider=provider,
            status=status,
            version=version,
            service_level=service_level,
            search=search,
            include_deleted=include_deleted,
            page=page,
            per_page=per_page,
        )
    )


@router.post("/clusters", status_code=202)
def create_cluster(
    body: ClusterIn,
    response: Response,
    actor: Actor = Depends(current_actor),
    idempotency_key: str | None = Key,
) -> dict:
    """Create a cluster; provisioning runs as an operation. Honours `Idempotency-Key`."""
    cluster, op, created = actions.create_cluster(actor, body, idempotency_key=idempotency_key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return {"cluster": cluster, "operation": op}


@router.get("/clusters/{cluster_id}")
def get_cluster(cluster_id: str, actor: Actor = Depends(current_actor)) -> actions.ClusterView:
    """Return a cluster: desired spec and observed status."""
    return actions.get_cluster(actor, cluster_id)


@router.patch("/clusters/{cluster_id}", status_code=202)
def patch_cluster(
    cluster_id: str,
    body: ClusterPatch,
    actor: Actor = Depends(current_actor),
    idempotency_key: str | None = Key,
) -> dict:
    """Change `service_level`, `features` or `node_pools` (the full desired list)."""
    cluster, op = actions.update_cluster(actor, cluster_id, body, idempotency_key=idempotency_key)
    return {"cluster": cluster, "operation": op}


@router.delete("/clusters/{cluster_id}", status_code=202)
def delete_cluster(
    cluster_id: str, actor: Actor = Depends(current_actor), idempotency_key: str | None = Key
) -> dict:
    """Delete the cluster and every cloud resource; the record stays for billing and audit."""
    cluster, op = actions.delete_cluster(actor, cluster_id, idempotency_key=idempotency_key)
    return {"cluster": cluster, "operation": op}


@router.get("/clusters/{cluster_id}/kubeconfig")
def get_kubeconfig(cluster_id: str, actor: Actor = Depends(current_actor)) -> Response:
    """Download the kubeconfig (YAML)."""
    name, text = kubeconfig(actor, cluster_id)
    return Response(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/clusters/{cluster_id}/rotate-credentials", status_code=202)
def rotate_credentials(cluster_id: str, actor: Actor = Depends(current_actor)) -> dict:
    """Replace the credentials; kubeconfigs downloaded before stop working."""
    return {"operation": actions.rotate_credentials(actor, cluster_id)}


@router.get("/clusters/{cluster_id}/operations")
def cluster_operations(
    cluster_id: str,
    actor: Actor = Depends(current_actor),
    page: int = Query(1, ge=1),
    per_page: int = Query(25, ge=1, le=200),
) -> dict:
    """List the cluster's operations, newest first."""
    actions.get_cluster(actor, cluster_id)
    return page_json(
        operations.list_operations(
            actor, cluster_id=cluster_id, all_orgs=True, page=page, per_page=per_page
        )
    )
