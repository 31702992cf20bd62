"""Server-side printing: the `Table` kubectl asks for (`get` with its usual columns)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _age(obj: dict) -> str:
    stamp = obj.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _node(o: dict) -> list:
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in o.get("status", {}).get("conditions", [])
    )
    status = "Ready" if ready else "NotReady"
    if o.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    return [status, "<none>", _age(o), o["status"]["nodeInfo"]["kubeletVersion"]]


def _pod(o: dict) -> list:
    statuses = o.get("status", {}).get("containerStatuses", [])
    ready = sum(1 for c in statuses if c.get("ready"))
    return [f"{ready}/{len(statuses)}", o.get("status", {}).get("phase", ""), 0, _age(o)]


def _deployment(o: dict) -> list:
    st, want = o.get("status", {}), o.get("spec", {}).get("replicas", 1)
    ready = st.get("readyReplicas", 0)
    return [
        f"{ready}/{want}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        _age(o),
    ]


def _service(o: dict) -> list:
    spec = o.get("spec", {})
    lb = o.get("status", {}).get("loadBalancer", {}).get("ingress", [])
    external = ",".join(i.get("ip", "") for i in lb) or (
        "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    )
    ports = ",".join(
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports", [])
    )
    return [
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP", ""),
        external,
        ports or "<none>",
        _age(o),
    ]


def _pvc(o: dict) -> list:
    st, spec = o.get("status", {}), o.get("spec", {})
    return [
        st.get("phase", "Pending"),
        spec.get("volumeName", ""),
        st.get("capacity", {}).get("storage", ""),
        ",".join(
            {"ReadWriteOnce": "RWO", "ReadWriteMany": "RWX"}.get(m, m)
            for m in st.get("accessModes", [])
        ),
        spec.get("storageClassName", ""),
        _age(o),
    ]


COLUMNS: dict[str, tuple[list[str], Callable[[dict], list]]] = {
    "Node": (["Status", "Roles", "Age", "Version"], _node),
    "Pod": (["Ready", "Status", "Restarts", "Age"], _pod),
    "Deployment": (["Ready", "Up-to-date", "Available", "Age"], _deployment),
    "Service": (["Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], _service),
    "PersistentVolumeClaim": (
        ["Status", "Volume", "Capacity", "Access Modes", "StorageClass", "Age"],
        _pvc,
    ),
}


def wants_table(accept: str) -> bool:
    """Whether the client asked for server-side printing."""
    return "as=Table" in (accept or "")


def table(kind: str, items: list[dict], resource_version: str) -> dict:
    """Return a meta.k8s.io/v1 Table of `items`."""
    names, cells = COLUMNS.get(kind, (["Age"], lambda o: [_age(o)]))
    columns = [
        {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0}
    ]
    columns += [
        {"name": n, "type": "string", "format": "", "description": "", "priority": 0} for n in names
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns,
        "rows": [
            {
                "cells": [o["metadata"]["name"], *cells(o)],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                },
            }
            for o in items
        ],
    }
