"""The sandbox's simulated controllers.

Nodes, workloads and their pods, services, volumes and ingresses get the status a real
cluster would give them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets

from sqlmodel import Session, select

from mkportal.api.sandbox_k8s import objects
from mkportal.api.sandbox_k8s.kinds import BUILTIN, Kind
from mkportal.models.base import utcnow
from mkportal.models.sandbox import SandboxCluster, SandboxNode

KINDS = {k.kind: k for k in BUILTIN}
WORKLOADS = ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet")
OWNER = "mkportal.io/owner-uid"


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def kube_version(version: str) -> str:
    """Return e.g. ``v1.35.0`` for a catalog version ``1.35``."""
    return f"v{version}.0" if version.count(".") == 1 else f"v{version}"


def ready_nodes(s: Session, ref: str) -> list[SandboxNode]:
    """Return the nodes that are ready now, by name."""
    now = utcnow()
    nodes = s.exec(
        select(SandboxNode).where(SandboxNode.ref == ref, SandboxNode.delete_at.is_(None))
    ).all()
    return sorted(
        (
            n
            for n in nodes
            if n.status == "ready" or (n.status == "provisioning" and n.ready_at <= now)
        ),
        key=lambda n: n.name,
    )


def node_objects(s: Session, ref: str) -> list[dict]:
    """Return the cluster's nodes as v1 Node objects."""
    cluster = s.get(SandboxCluster, ref)
    version = kube_version(cluster.version if cluster else "1.35")
    ready = {n.name for n in ready_nodes(s, ref)}
    nodes = s.exec(select(SandboxNode).where(SandboxNode.ref == ref)).all()
    out = []
    for n in sorted(nodes, key=lambda n: n.name):
        is_ready = n.name in ready
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": n.name,
                    "uid": n.id,
                    "resourceVersion": "1",
                    "creationTimestamp": n.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "labels": {
                        "kubernetes.io/hostname": n.name,
                        "kubernetes.io/os": "linux",
                        "node.kubernetes.io/instance-type": n.machine_type,
                        "mkportal.io/pool": n.pool,
                    },
                },
                "spec": {"unschedulable": bool(n.delete_at) or n.status == "draining"},
                "status": {
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True" if is_ready else "False",
                            "reason": "KubeletReady" if is_ready else "KubeletNotReady",
                        }
                    ],
                    "nodeInfo": {
                        "kubeletVersion": version,
                        "kubeProxyVersion": version,
                        "osImage": "mkportal sandbox",
                        "containerRuntimeVersion": "containerd://2.0.0",
                        "architecture": "amd64",
                        "operatingSystem": "linux",
                    },
                    "addresses": [{"type": "Hostname", "address": n.name}],
                },
            }
        )
    return out


def ensure_defaults(s: Session, ref: str) -> None:
    """Create the namespaces and storage classes every cluster starts with."""
    ns_kind = KINDS["Namespace"]
    if objects.get_row(s, ref, ns_kind, "", "default") is not None:
        return
    for name in objects.DEFAULT_NAMESPACES:
        objects.write(
            s, ref, ns_kind, "", {"metadata": {"name": name}, "status": {"phase": "Active"}}
        )
    for name, sc in objects.STORAGE_CLASSES.items():
        objects.write(
            s,
            ref,
            KINDS["StorageClass"],
            "",
            {
                "metadata": {
                    "name": name,
                    "annotations": {
                        "storageclass.kubernetes.io/is-default-class": sc["is_default"]
                    },
                },
                "provisioner": "sandbox.mkportal.io/volumes",
                "parameters": {"accessMode": sc["mode"]},
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
            },
        )


def _service_ip(s: Session, ref: str, uid: str) -> str:
    cluster = s.get(SandboxCluster, ref)
    cidr = (cluster.network if cluster else {}).get("service_cidr", "10.96.0.0/12")
    net = ipaddress.ip_network(cidr)
    return str(net[10 + int(_digest(uid), 16) % (net.num_addresses - 20)])


def _public_ip(uid: str) -> str:
    return f"203.0.113.{1 + int(_digest(uid), 16) % 254}"


def complete(s: Session, ref: str, kind: Kind, obj: dict, uid: str) -> dict:
    """Fill in what a controller would (status, assigned IPs) on a written object."""
    spec = (
        obj.setdefault("spec", {}) if kind.kind not in ("Namespace", "ConfigMap", "Secret") else {}
    )
    if kind.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    elif kind.kind == "Service":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("clusterIP", _service_ip(s, ref, uid))
        spec["clusterIPs"] = [spec["clusterIP"]]
        for i, port in enumerate(spec.get("ports", [])):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if spec["type"] in ("LoadBalancer", "NodePort"):
                port.setdefault("nodePort", 30000 + (int(_digest(uid, str(i)), 16) % 2767))
        lb = [{"ip": _public_ip(uid)}] if spec["type"] == "LoadBalancer" else []
        obj["status"] = {"loadBalancer": {"ingress": lb} if lb else {}}
    elif kind.kind == "PersistentVolumeClaim":
        spec.setdefault("storageClassName", "standard")
        spec.setdefault("volumeName", f"pvc-{uid}")
        spec.setdefault("volumeMode", "Filesystem")
        size = spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")
        obj["status"] = {
            "phase": "Bound",
            "accessModes": spec.get("accessModes", ["ReadWriteOnce"]),
            "capacity": {"storage": size},
        }
    elif kind.kind == "Ingress":
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": _public_ip(uid)}]}}
    elif kind.kind == "Pod":
        _schedule(s, ref, obj, uid)
    return obj


def _schedule(s: Session, ref: str, pod: dict, uid: str) -> None:
    spec = pod.setdefault("spec", {})
    nodes = [n.name for n in ready_nodes(s, ref)]
    if not spec.get("nodeName") and nodes:
        spec["nodeName"] = nodes[int(_digest(uid), 16) % len(nodes)]
    running = spec.get("nodeName") in nodes
    containers = spec.get("containers", [])
    pod["status"] = {
        "phase": "Running" if running else "Pending",
        "podIP": f"10.244.{int(_digest(uid), 16) % 250}.{1 + int(_digest(uid, 'ip'), 16) % 250}",
        "hostIP": spec.get("nodeName", ""),
        "startTime": pod.get("metadata", {}).get("creationTimestamp", objects.timestamp()),
        "conditions": [{"type": "Ready", "status": "True" if running else "False"}],
        "containerStatuses": [
            {
                "name": c.get("name", "main"),
                "image": c.get("image", ""),
                "imageID": f"{c.get('image', '')}@sha256:{_digest(c.get('image', ''))}",
                "containerID": f"containerd://{_digest(uid, c.get('name', 'main'))}",
                "ready": running,
                "restartCount": 0,
                "started": running,
                "state": {"running": {"startedAt": objects.timestamp()}}
                if running
                else {"waiting": {"reason": "ContainerCreating"}},
            }
            for c in containers
        ],
    }


def _wanted_pods(s: Session, ref: str, kind: str, obj: dict) -> list[tuple[str, str]]:
    """Return (pod name, node name or "") for the pods a workload should have."""
    name = obj["metadata"]["name"]
    template_hash = _digest(json.dumps(obj.get("spec", {}).get("template", {}), sort_keys=True))[
        :10
    ]
    if kind == "DaemonSet":
        return [(f"{name}-{_digest(name, n.name)[:5]}", n.name) for n in ready_nodes(s, ref)]
    replicas = int(obj.get("spec", {}).get("replicas", 1) or 0)
    if kind == "StatefulSet":
        return [(f"{name}-{i}", "") for i in range(replicas)]
    return [
        (f"{name}-{template_hash}-{_digest(name, template_hash, str(i))[:5]}", "")
        for i in range(replicas)
    ]


def reconcile_workload(s: Session, ref: str, kind: Kind, row_uid: str, obj: dict) -> dict:
    """Create and delete the workload's pods, and return its status."""
    pod_kind = KINDS["Pod"]
    ns = obj["metadata"].get("namespace", "default")
    wanted = dict(_wanted_pods(s, ref, kind.kind, obj))
    template = obj.get("spec", {}).get("template", {})
    existing = {
        r.name: r
        for r in objects.rows_of(s, ref, pod_kind, ns)
        if json.loads(r.body).get("metadata", {}).get("labels", {}).get(OWNER) == row_uid
    }
    for name, row in existing.items():
        if name not in wanted:
            objects.remove(s, row)
    ready = 0
    for name, node in wanted.items():
        row = existing.get(name)
        pod = objects.as_object(row) if row else None
        if pod is None:
            meta = template.get("metadata", {})
            pod = {
                "metadata": {
                    "name": name,
                    "labels": {**meta.get("labels", {}), OWNER: row_uid},
                    "ownerReferences": [
                        {
                            "apiVersion": kind.api_version,
                            "kind": kind.kind,
                            "name": obj["metadata"]["name"],
                            "uid": row_uid,
                            "controller": True,
                        }
                    ],
                },
                "spec": {**template.get("spec", {}), **({"nodeName": node} if node else {})},
            }
        before = json.dumps(pod.get("status"), sort_keys=True)
        pod_uid = row.uid if row else secrets.token_hex(16)
        _schedule(s, ref, pod, pod_uid)
        if row is None or json.dumps(pod.get("status"), sort_keys=True) != before:
            objects.write(s, ref, pod_kind, ns, pod)
        ready += pod["status"]["phase"] == "Running"
    desired = len(wanted)
    generation = obj["metadata"].get("generation", 1)
    if kind.kind == "DaemonSet":
        return {
            "desiredNumberScheduled": desired,
            "currentNumberScheduled": desired,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": desired,
            "numberMisscheduled": 0,
            "observedGeneration": generation,
        }
    status = {
        "replicas": desired,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "updatedReplicas": desired,
        "observedGeneration": generation,
    }
    if kind.kind == "StatefulSet":
        status["currentReplicas"] = desired
    if kind.kind == "Deployment":
        status["conditions"] = [
            {"type": "Available", "status": "True" if ready >= desired else "False"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ]
    return status


def refresh_workloads(s: Session, ref: str, namespace: str | None = None) -> None:
    """Bring every workload's pods and status up to date (nodes may have become ready)."""
    for kind_name in WORKLOADS:
        kind = KINDS[kind_name]
        for row in objects.rows_of(s, ref, kind, namespace):
            obj = objects.as_object(row)
            status = reconcile_workload(s, ref, kind, row.uid, obj)
            if obj.get("status") != status:
                obj["status"] = status
                objects.write(s, ref, kind, row.namespace, obj)


def delete_children(
    s: Session, ref: str, kind: Kind, row_uid: str, namespace: str, name: str
) -> None:
    """Delete what goes away with an object: a workload's pods, a namespace's contents."""
    if kind.kind in WORKLOADS:
        for r in objects.rows_of(s, ref, KINDS["Pod"], namespace):
            if json.loads(r.body).get("metadata", {}).get("labels", {}).get(OWNER) == row_uid:
                objects.remove(s, r)
    elif kind.kind == "Namespace":
        from mkportal.models.sandbox import SandboxObject

        for r in s.exec(
            select(SandboxObject).where(SandboxObject.ref == ref, SandboxObject.namespace == name)
        ):
            s.delete(r)
        s.flush()


def pod_log(pod: dict) -> str:
    """Return a plausible log of a sandbox pod."""
    spec = pod.get("spec", {})
    lines = []
    for c in spec.get("containers", []) or [{"name": "main"}]:
        lines.append(
            f"{pod['metadata'].get('creationTimestamp', '')} {c.get('name')} started "
            f"({c.get('image', 'image')}) on {spec.get('nodeName', 'no node')}"
        )
        lines.append(f"{objects.timestamp()} {c.get('name')} ready")
    return "\n".join(lines) + "\n"
