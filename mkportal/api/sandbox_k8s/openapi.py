"""A minimal OpenAPI v3 description: enough for kubectl to see that the server validates.

kubectl (`--validate=strict`, the default) looks for the `fieldValidation` query parameter
on each kind's PATCH operation; when it finds it, the server is trusted to validate and
no client-side schema is downloaded.
"""

from __future__ import annotations

from mkportal.api.sandbox_k8s.kinds import Kind

HASH = "mkportal-sandbox-1"
FIELD_VALIDATION = {
    "name": "fieldValidation",
    "in": "query",
    "description": "Strict, Warn or Ignore.",
    "schema": {"type": "string", "uniqueItems": True},
}


def _prefix(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _paths(k: Kind) -> dict:
    base = "/" + _prefix(k.group, k.version)
    item = (
        f"{base}/namespaces/{{namespace}}/{k.plural}/{{name}}"
        if k.namespaced
        else f"{base}/{k.plural}/{{name}}"
    )
    gvk = {"group": k.group, "version": k.version, "kind": k.kind}
    return {
        item: {
            "patch": {
                "operationId": f"patch{k.kind}",
                "x-kubernetes-group-version-kind": gvk,
                "x-kubernetes-action": "patch",
                "parameters": [FIELD_VALIDATION],
                "responses": {"200": {"description": "OK"}},
            }
        }
    }


def document(kinds: list[Kind], group_version_path: str) -> dict | None:
    """Return the root listing (empty path) or one group-version's document."""
    gvs = {_prefix(k.group, k.version) for k in kinds}
    if not group_version_path:
        return {
            "paths": {
                gv: {"serverRelativeURL": f"/openapi/v3/{gv}?hash={HASH}"} for gv in sorted(gvs)
            }
        }
    if group_version_path not in gvs:
        return None
    paths: dict = {}
    for k in kinds:
        if _prefix(k.group, k.version) == group_version_path:
            paths.update(_paths(k))
    return {
        "openapi": "3.0.0",
        "info": {"title": "mkportal sandbox", "version": "v1"},
        "paths": paths,
        "components": {"schemas": {}},
    }
