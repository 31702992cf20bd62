"""Applying a restore's changes to a cluster through its Kubernetes API.

Discovery tells which kinds the cluster serves (and their plural names); objects are
created, replaced when they exist, or deleted. Every call is idempotent: a create that
finds the object replaces it, a delete that finds nothing is done.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from kubernetes import client
from kubernetes.client.rest import ApiException

from mkportal.services.backup.restore_plan import ObjectChange, key_of

Served = dict[tuple[str, str, str], tuple[str, bool]]  # (group, version, kind) -> plural, ns'd
HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


def call(api: client.ApiClient, method: str, path: str, body: dict | None = None) -> dict:
    """Make one JSON request to the cluster's API and return the decoded answer.

    Raises:
        ApiException: The API answered with an error status.
    """
    request = api.param_serialize(
        method, path, header_params=dict(HEADERS), body=body, auth_settings=["BearerToken"]
    )
    response = api.call_api(*request, _request_timeout=60)
    response.read()
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(
            http_resp=response, body=response.data.decode(errors="replace"), data=None
        )
    return json.loads(response.data or b"{}")


def _resources(api: client.ApiClient, group: str, version: str, out: Served) -> None:
    path = f"/apis/{group}/{version}" if group else "/api/v1"
    for r in call(api, "GET", path).get("resources", []):
        if "/" not in r["name"] and "create" in r.get("verbs", []):
            out[(group, version, r["kind"])] = (r["name"], bool(r.get("namespaced")))


def discover(api: client.ApiClient) -> Served:
    """Return the writable kinds the cluster serves, with their plural and scope."""
    out: Served = {}
    _resources(api, "", "v1", out)
    for g in call(api, "GET", "/apis").get("groups", []):
        for v in g.get("versions", []):
            _resources(api, g["name"], v["version"], out)
    return out


def path_for(served: Served, api_version: str, kind: str, namespace: str, name: str = "") -> str:
    """Return the REST path of an object (or of its collection when `name` is empty).

    Raises:
        KeyError: The cluster does not serve the kind.
    """
    group, _, version = api_version.rpartition("/")
    plural, namespaced = served[(group, version, kind)]
    base = f"/apis/{group}/{version}" if group else "/api/v1"
    if namespaced:
        base += f"/namespaces/{namespace or 'default'}"
    return f"{base}/{plural}" + (f"/{name}" if name else "")


def upsert(api: client.ApiClient, served: Served, obj: dict) -> str:
    """Create an object or, when it exists, replace it. Returns "created" or "replaced"."""
    _g, kind, ns, name = key_of(obj)
    api_version = obj.get("apiVersion", "v1")
    try:
        call(api, "POST", path_for(served, api_version, kind, ns), obj)
        return "created"
    except ApiException as exc:
        if exc.status != 409:
            raise
    path = path_for(served, api_version, kind, ns, name)
    current = call(api, "GET", path)
    body = {**obj, "metadata": dict(obj.get("metadata") or {})}
    body["metadata"]["resourceVersion"] = (current.get("metadata") or {}).get("resourceVersion")
    call(api, "PUT", path, body)
    return "replaced"


def remove(api: client.ApiClient, served: Served, change: ObjectChange) -> bool:
    """Delete an object; False when it was already gone."""
    path = path_for(served, change.api_version, change.kind, change.namespace, change.name)
    try:
        call(api, "DELETE", path)
        return True
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise


def apply(
    api: client.ApiClient,
    changes: list[ObjectChange],
    objects: dict,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Apply creates and updates in order, then deletes in reverse order.

    Args:
        api: The target cluster's client.
        changes: The diff's changes (blocked and unchanged ones are skipped).
        objects: The backed-up objects by `key_of`.
        progress: Called with (done, total) now and then.

    Returns:
        Counts of created, replaced and deleted objects.
    """
    served = discover(api)
    todo = [c for c in changes if c.action in ("create", "update")]
    deletes = [c for c in reversed(changes) if c.action == "delete"]
    total = len(todo) + len(deletes)
    counts = {"created": 0, "replaced": 0, "deleted": 0}
    done = 0
    for c in todo:
        obj = objects[(c.api_version.rpartition("/")[0], c.kind, c.namespace, c.name)]
        if (c.api_version.rpartition("/")[0], c.api_version.rsplit("/", 1)[-1], c.kind) not in (
            served
        ):
            served = discover(api)  # a CustomResourceDefinition restored just before
        counts[upsert(api, served, obj)] += 1
        done += 1
        if progress and done % 50 == 0:
            progress(done, total)
    for c in deletes:
        counts["deleted"] += remove(api, served, c)
        done += 1
        if progress and done % 50 == 0:
            progress(done, total)
    return counts
