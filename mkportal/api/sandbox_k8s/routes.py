"""The Kubernetes API of sandbox clusters, served by the portal at /sandbox/k8s/{ref}.

Token auth (the cluster's current credentials), legacy discovery, and get / list /
create / replace / patch / delete on the kinds in `kinds.py` plus those of stored CRDs.
Every error is a Kubernetes `Status` object.
"""

from __future__ import annotations

import json

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from mkportal.api.sandbox_k8s import objects, openapi, simulate, tables
from mkportal.api.sandbox_k8s.kinds import BUILTIN, Kind, crd_kinds, find, groups
from mkportal.api.sandbox_k8s.patch import json_patch, merge_patch, strategic_merge
from mkportal.db import session_scope
from mkportal.models.sandbox import SandboxCluster
from mkportal.services.providers.sandbox import token_matches

router = APIRouter(prefix="/sandbox/k8s/{ref}", include_in_schema=False)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "AlreadyExists",
    415: "UnsupportedMediaType",
    422: "Invalid",
}


class KubeError(Exception):
    """An API error, answered as a Status object."""

    def __init__(self, code: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason or REASONS.get(code, "")


def status_body(code: int, message: str, reason: str, details: dict | None = None) -> dict:
    """Return a v1 Status object."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }


def _not_found(kind: Kind, name: str) -> KubeError:
    return KubeError(
        404, f'{kind.plural}{"." + kind.group if kind.group else ""} "{name}" not found'
    )


@router.api_route("/{path:path}", methods=METHODS)
async def serve(ref: str, path: str, request: Request) -> Response:
    """Authenticate, then answer one Kubernetes API request."""
    auth = request.headers.get("authorization", "")
    token = auth[7:] if auth.lower().startswith("bearer ") else ""
    body = await request.body()
    try:
        if not token or not await run_in_threadpool(token_matches, ref, token):
            raise KubeError(401, "Unauthorized")
        return await run_in_threadpool(
            _dispatch,
            ref,
            request.method,
            [p for p in path.split("/") if p],
            dict(request.query_params),
            request.headers.get("accept", ""),
            request.headers.get("content-type", "application/json"),
            body,
        )
    except KubeError as exc:
        return JSONResponse(status_body(exc.code, exc.message, exc.reason), status_code=exc.code)


def _kinds(s: Session, ref: str) -> list[Kind]:
    crds = [
        objects.as_object(r)
        for r in objects.rows_of(
            s, ref, find(list(BUILTIN), "apiextensions.k8s.io", "v1", "customresourcedefinitions")
        )
    ]
    return [*BUILTIN, *crd_kinds(crds)]


def _discovery(s: Session, ref: str, segs: list[str]) -> dict | None:
    kinds = _kinds(s, ref)
    if segs == ["version"]:
        cluster = s.get(SandboxCluster, ref)
        version = simulate.kube_version(cluster.version)
        major, minor = version[1:].split(".")[:2]
        return {"major": major, "minor": minor, "gitVersion": version, "platform": "linux/amd64"}
    if segs == ["api"]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
        }
    if segs == ["api", "v1"]:
        return _resource_list("v1", [k for k in kinds if not k.group])
    if segs == ["apis"]:
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [_group(g, vs) for g, vs in groups(kinds).items()],
        }
    if len(segs) == 2 and segs[0] == "apis" and segs[1] in groups(kinds):
        return {"kind": "APIGroup", "apiVersion": "v1", **_group(segs[1], groups(kinds)[segs[1]])}
    if len(segs) == 3 and segs[0] == "apis":
        served = [k for k in kinds if (k.group, k.version) == (segs[1], segs[2])]
        if served:
            return _resource_list(f"{segs[1]}/{segs[2]}", served)
    if segs[:2] == ["openapi", "v3"]:
        return openapi.document(kinds, "/".join(segs[2:]))
    return None


def _group(name: str, versions: list[str]) -> dict:
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}


def _resource_list(group_version: str, kinds: list[Kind]) -> dict:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [k.resource() for k in kinds],
    }


def _locate(segs: list[str]) -> tuple[str, str, str, str, str, str] | None:
    """Split a resource path into (group, version, namespace, plural, name, subresource)."""
    if segs[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", segs[2:]
    elif segs[:1] == ["apis"] and len(segs) >= 4:
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    ns = ""
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        ns, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    return (
        group,
        version,
        ns,
        rest[0],
        rest[1] if len(rest) > 1 else "",
        rest[2] if len(rest) > 2 else "",
    )


def _parse(body: bytes, content_type: str) -> object:
    try:
        if "yaml" in content_type:
            return yaml.safe_load(body or b"{}")
        return json.loads(body or b"{}")
    except (ValueError, yaml.YAMLError) as exc:
        raise KubeError(400, f"the request body could not be decoded: {exc}") from None


def _dispatch(
    ref: str,
    method: str,
    segs: list[str],
    query: dict,
    accept: str,
    content_type: str,
    body: bytes,
) -> Response:
    with session_scope() as s:
        simulate.ensure_defaults(s, ref)
        if method == "GET" and (found := _discovery(s, ref, segs)) is not None:
            return JSONResponse(found)
        located = _locate(segs)
        kind = find(_kinds(s, ref), *located[:2], located[3]) if located else None
        if kind is None:
            raise KubeError(404, "the server could not find the requested resource")
        _group, _version, ns, _plural, name, sub = located
        if kind.namespaced and not ns and name and method != "GET":
            raise KubeError(404, "the server could not find the requested resource")
        dry_run = "dryRun" in query
        response = _resource(s, ref, kind, method, ns, name, sub, query, accept, content_type, body)
        if dry_run:
            s.rollback()
        return response


def _check_namespace(s: Session, ref: str, kind: Kind, ns: str) -> None:
    if kind.namespaced and objects.get_row(s, ref, simulate.KINDS["Namespace"], "", ns) is None:
        raise KubeError(404, f'namespaces "{ns}" not found')


def _store(s: Session, ref: str, kind: Kind, ns: str, obj: dict) -> dict:
    """Write `obj`, let the simulated controllers complete it, and return it."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
        raise KubeError(400, "the object must be a JSON/YAML mapping with metadata")
    if not (obj.get("metadata", {}).get("name") or obj.get("metadata", {}).get("generateName")):
        raise KubeError(422, f"{kind.kind} is invalid: metadata.name: Required value", "Invalid")
    row = objects.write(s, ref, kind, ns, obj)
    obj = simulate.complete(s, ref, kind, objects.as_object(row), row.uid)
    if kind.kind in simulate.WORKLOADS:
        obj["status"] = simulate.reconcile_workload(s, ref, kind, row.uid, obj)
    row = objects.write(s, ref, kind, ns, obj)
    return objects.as_object(row)


def _resource(
    s: Session,
    ref: str,
    kind: Kind,
    method: str,
    ns: str,
    name: str,
    sub: str,
    query: dict,
    accept: str,
    content_type: str,
    body: bytes,
) -> Response:
    if kind.read_only and method != "GET":
        raise KubeError(405, f"{kind.plural} are managed by the sandbox and cannot be changed")
    if method == "GET" and kind.kind in ("Pod", *simulate.WORKLOADS):
        simulate.refresh_workloads(s, ref, ns or None)
    if method == "GET" and not name:
        return _list(s, ref, kind, ns, query, accept)
    if method == "POST" and not name:
        obj = _parse(body, content_type)
        ns = ns or (obj.get("metadata", {}).get("namespace") if isinstance(obj, dict) else "") or ""
        if kind.namespaced:
            ns = ns or "default"
            _check_namespace(s, ref, kind, ns)
        wanted = obj.get("metadata", {}).get("name", "") if isinstance(obj, dict) else ""
        if wanted and objects.get_row(s, ref, kind, ns, wanted) is not None:
            raise KubeError(409, f'{kind.plural} "{wanted}" already exists')
        return JSONResponse(_store(s, ref, kind, ns, obj), status_code=201)
    if not name:
        raise KubeError(405, "the server does not allow this method on the requested resource")
    if kind.kind == "Node":
        node = next(
            (n for n in simulate.node_objects(s, ref) if n["metadata"]["name"] == name), None
        )
        if node is None:
            raise _not_found(kind, name)
        return JSONResponse(node)
    row = objects.get_row(s, ref, kind, ns, name)
    if method == "PATCH" and row is None and "apply-patch" in content_type:
        _check_namespace(s, ref, kind, ns)
        return JSONResponse(_store(s, ref, kind, ns, _parse(body, content_type)), status_code=201)
    if row is None:
        raise _not_found(kind, name)
    current = objects.as_object(row)
    if method == "GET":
        if sub == "log" and kind.kind == "Pod":
            return PlainTextResponse(simulate.pod_log(current))
        return JSONResponse(current)
    if method == "DELETE":
        simulate.delete_children(s, ref, kind, row.uid, ns, name)
        objects.remove(s, row)
        details = {"name": name, "kind": kind.plural, "uid": row.uid}
        return JSONResponse(status_body(200, "", "", details) | {"status": "Success"})
    incoming = _parse(body, content_type)
    if method == "PUT":
        given = (
            (incoming.get("metadata") or {}).get("resourceVersion")
            if isinstance(incoming, dict)
            else None
        )
        if given and given != current["metadata"]["resourceVersion"]:
            raise KubeError(
                409,
                f'Operation cannot be fulfilled on {kind.plural} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                "Conflict",
            )
        return JSONResponse(_store(s, ref, kind, ns, incoming))
    if method == "PATCH":
        if "json-patch" in content_type:
            merged = json_patch(current, incoming)
        elif "strategic-merge-patch" in content_type:
            merged = strategic_merge(current, incoming)
        elif "merge-patch" in content_type or "apply-patch" in content_type:
            merged = merge_patch(current, incoming)
        else:
            raise KubeError(415, f"the media type {content_type} is not supported for PATCH")
        merged.setdefault("metadata", {})["name"] = name
        return JSONResponse(_store(s, ref, kind, ns, merged))
    raise KubeError(405, "the server does not allow this method on the requested resource")


def _list(s: Session, ref: str, kind: Kind, ns: str, query: dict, accept: str) -> Response:
    if kind.kind == "Node":
        items = simulate.node_objects(s, ref)
    else:
        items = [objects.as_object(r) for r in objects.rows_of(s, ref, kind, ns or None)]
    items = [
        o
        for o in items
        if objects.matches_labels(
            o.get("metadata", {}).get("labels") or {}, query.get("labelSelector", "")
        )
        and objects.matches_fields(o, query.get("fieldSelector", ""))
    ]
    version = objects.list_version(s, ref)
    if query.get("watch") in ("1", "true"):
        lines = "".join(json.dumps({"type": "ADDED", "object": o}) + "\n" for o in items)
        return Response(lines, media_type="application/json")
    if tables.wants_table(accept):
        return JSONResponse(tables.table(kind.kind, items, version))
    return JSONResponse(
        {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": version},
            "items": items,
        }
    )
