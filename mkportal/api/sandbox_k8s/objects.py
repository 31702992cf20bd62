"""Kubernetes objects of sandbox clusters, stored as JSON rows (`SandboxObject`)."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC

from sqlalchemy import func
from sqlmodel import Session, select

from mkportal.api.sandbox_k8s.kinds import Kind
from mkportal.models.base import new_id, utcnow
from mkportal.models.sandbox import SandboxObject

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
STORAGE_CLASSES = {
    "standard": {"is_default": "true", "mode": "ReadWriteOnce"},
    "shared": {"is_default": "false", "mode": "ReadWriteMany"},
}


def timestamp() -> str:
    """Return the current time in Kubernetes' format."""
    return utcnow().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_version(s: Session, ref: str) -> int:
    current = s.exec(
        select(func.max(SandboxObject.resource_version)).where(SandboxObject.ref == ref)
    ).one()
    return (current or 0) + 1


def as_object(row: SandboxObject) -> dict:
    """Return the stored object with its server-managed metadata filled in."""
    obj = json.loads(row.body)
    meta = obj.setdefault("metadata", {})
    meta.update(
        {
            "name": row.name,
            "uid": row.uid,
            "resourceVersion": str(row.resource_version),
            "creationTimestamp": meta.get("creationTimestamp") or timestamp(),
        }
    )
    if row.namespace:
        meta["namespace"] = row.namespace
    return obj


def get_row(s: Session, ref: str, kind: Kind, namespace: str, name: str) -> SandboxObject | None:
    """Return the row of one object, or None."""
    return s.exec(
        select(SandboxObject).where(
            SandboxObject.ref == ref,
            SandboxObject.api_group == kind.group,
            SandboxObject.kind == kind.kind,
            SandboxObject.namespace == (namespace if kind.namespaced else ""),
            SandboxObject.name == name,
        )
    ).first()


def rows_of(s: Session, ref: str, kind: Kind, namespace: str | None = None) -> list[SandboxObject]:
    """Return the rows of a kind, in one namespace or all."""
    query = select(SandboxObject).where(
        SandboxObject.ref == ref,
        SandboxObject.api_group == kind.group,
        SandboxObject.kind == kind.kind,
    )
    if namespace and kind.namespaced:
        query = query.where(SandboxObject.namespace == namespace)
    return list(s.exec(query.order_by(SandboxObject.namespace, SandboxObject.name)))


def write(s: Session, ref: str, kind: Kind, namespace: str, obj: dict) -> SandboxObject:
    """Create or replace an object (the caller checks conflicts); return its row."""
    meta = obj.setdefault("metadata", {})
    name = meta.get("name") or ""
    if not name and meta.get("generateName"):
        name = meta["generateName"] + secrets.token_hex(3)[:5]
        meta["name"] = name
    ns = namespace if kind.namespaced else ""
    row = get_row(s, ref, kind, ns, name)
    obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
    if row is None:
        meta.setdefault("creationTimestamp", timestamp())
        meta["generation"] = 1
        row = SandboxObject(
            ref=ref, api_group=kind.group, kind=kind.kind, namespace=ns, name=name, uid=new_id()
        )
    else:
        old = json.loads(row.body)
        meta["creationTimestamp"] = old.get("metadata", {}).get("creationTimestamp")
        same_spec = old.get("spec") == obj.get("spec")
        meta["generation"] = old.get("metadata", {}).get("generation", 1) + (0 if same_spec else 1)
    for server_field in ("uid", "resourceVersion", "selfLink", "managedFields"):
        meta.pop(server_field, None)
    if ns:
        meta["namespace"] = ns
    row.resource_version = _next_version(s, ref)
    row.body = json.dumps(obj)
    s.add(row)
    s.flush()
    return row


def remove(s: Session, row: SandboxObject) -> dict:
    """Delete an object; return it as it was."""
    obj = as_object(row)
    s.delete(row)
    s.flush()
    return obj


def list_version(s: Session, ref: str) -> str:
    """Return the resourceVersion of a list (the newest write in the cluster)."""
    return str(_next_version(s, ref) - 1)


_SET = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [p.strip() for p in [*parts, current] if p.strip()]


def matches_labels(labels: dict, selector: str) -> bool:
    """Whether `labels` satisfy a label selector (=, ==, !=, in, notin, exists, !exists)."""
    for term in _split_selector(selector or ""):
        if m := _SET.match(term):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if (labels.get(key) in values) != (op == "in"):
                return False
        elif "!=" in term:
            key, value = (t.strip() for t in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = (t.strip() for t in term.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def matches_fields(obj: dict, selector: str) -> bool:
    """Whether `obj` satisfies a field selector on metadata.name/namespace or spec.nodeName."""
    for term in _split_selector(selector or ""):
        negate = "!=" in term
        key, value = (t.strip() for t in re.split(r"!=|==|=", term, maxsplit=1))
        node: object = obj
        for part in key.split("."):
            node = node.get(part, "") if isinstance(node, dict) else ""
        if (str(node) == value) == negate:
            return False
    return True
