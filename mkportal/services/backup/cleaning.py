"""Which Kubernetes objects a backup keeps, and in which form.

A backup keeps what a restore can re-create: the objects users made. It leaves out what
the cluster makes itself (events, nodes, endpoints, leases, objects owned by a controller
such as a Deployment's ReplicaSets and pods, service account tokens), the system
namespaces, and the portal's own agents (labelled ``app.kubernetes.io/managed-by:
mkportal``; they come back with the cluster's configuration). Kept objects lose the
fields the API server or controllers fill in (uid, resourceVersion, status, assigned IPs
and node ports, ...), so a restored object compares equal to its backup.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
SKIP_GROUPS = (
    "events.k8s.io",
    "metrics.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "apiregistration.k8s.io",
    "coordination.k8s.io",
)
SKIP_KINDS = {
    ("", "Event"),
    ("", "Node"),
    ("", "Endpoints"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("", "Binding"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "CSIStorageCapacity"),
}
VOLATILE_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
)
VOLATILE_ANNOTATION_PREFIXES = (
    "deployment.kubernetes.io/",
    "pv.kubernetes.io/",
    "volume.kubernetes.io/",
    "volume.beta.kubernetes.io/",
    "control-plane.alpha.kubernetes.io/",
)
JOB_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
MANAGED_BY = ("app.kubernetes.io/managed-by", "mkportal")
RANKS = {
    ("apiextensions.k8s.io", "CustomResourceDefinition"): 0,
    ("", "Namespace"): 1,
    ("", "ServiceAccount"): 3,
    ("", "Secret"): 4,
    ("", "ConfigMap"): 4,
    ("", "PersistentVolumeClaim"): 5,
    ("", "Service"): 6,
}
BUILTIN_GROUPS = ("", "apps", "batch", "policy", "autoscaling")


def group_of(obj: dict) -> str:
    """Return the API group of an object ('' for the core group)."""
    api_version = obj.get("apiVersion") or "v1"
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def kind_key(obj: dict) -> str:
    """Return the catalog's name of an object's kind: ``core/ConfigMap``, ``apps/Deployment``."""
    return f"{group_of(obj) or 'core'}/{obj.get('kind', '')}"


def object_id(obj: dict) -> str:
    """Return a unique name of an object: ``<kind_key>/<namespace>/<name>``."""
    meta = obj.get("metadata") or {}
    return f"{kind_key(obj)}/{meta.get('namespace') or ''}/{meta.get('name', '')}"


def skip_kind(group: str, kind: str) -> bool:
    """Whether objects of this kind are never backed up (the cluster makes them itself)."""
    return group in SKIP_GROUPS or (group, kind) in SKIP_KINDS


def skip_object(obj: dict) -> bool:
    """Whether a listed object is left out of backups (see the module docstring)."""
    meta = obj.get("metadata") or {}
    kind, name, ns = obj.get("kind", ""), meta.get("name", ""), meta.get("namespace") or ""
    if skip_kind(group_of(obj), kind) or ns in SYSTEM_NAMESPACES:
        return True
    if kind == "Namespace" and name in SYSTEM_NAMESPACES:
        return True
    if any(ref.get("controller") for ref in meta.get("ownerReferences") or []):
        return True
    if (meta.get("labels") or {}).get(MANAGED_BY[0]) == MANAGED_BY[1]:
        return True
    if kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        return True
    if kind == "ConfigMap" and name == "kube-root-ca.crt":
        return True
    system_kind = group_of(obj) in ("rbac.authorization.k8s.io", "scheduling.k8s.io")
    return system_kind and not ns and name.startswith(("system:", "system-"))


def _clean_metadata(meta: dict) -> dict:
    meta = {k: v for k, v in meta.items() if k not in VOLATILE_METADATA}
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith(VOLATILE_ANNOTATION_PREFIXES)
    }
    meta.pop("annotations", None)
    if annotations:
        meta["annotations"] = annotations
    if not meta.get("labels"):
        meta.pop("labels", None)
    return meta


def _clean_service(spec: dict) -> None:
    if spec.get("clusterIP") != "None":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    spec.pop("healthCheckNodePort", None)
    for port in spec.get("ports") or []:
        port.pop("nodePort", None)


def _clean_job(obj: dict, spec: dict) -> None:
    if spec.get("manualSelector"):
        return
    spec.pop("selector", None)
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    for label in JOB_LABELS:
        labels.pop(label, None)
    for label in (*JOB_LABELS, "job-name", "batch.kubernetes.io/job-name"):
        (obj["metadata"].get("labels") or {}).pop(label, None)


def clean_object(obj: dict) -> dict | None:
    """Return an object as a backup keeps it, or None when backups leave it out.

    Args:
        obj: An object as the API returned it, with `apiVersion` and `kind` set.

    Returns:
        A new dict without status and server-filled fields, or None.

    """
    if skip_object(obj):
        return None
    out = json.loads(json.dumps(obj))
    out.pop("status", None)
    out["metadata"] = _clean_metadata(out.get("metadata") or {})
    kind, group = out.get("kind", ""), group_of(out)
    spec = out.get("spec") if isinstance(out.get("spec"), dict) else {}
    if (group, kind) == ("", "Service"):
        _clean_service(spec)
    elif (group, kind) == ("", "PersistentVolumeClaim"):
        spec.pop("volumeName", None)
    elif (group, kind) == ("", "Namespace"):
        out.pop("spec", None)
    elif (group, kind) == ("", "Pod"):
        spec.pop("nodeName", None)
    elif (group, kind) == ("batch", "Job"):
        _clean_job(out, spec)
    return out


def sort_key(obj: dict) -> tuple:
    """Order for archives and restores: CRDs, namespaces, cluster-wide, then namespaced."""
    group, kind = group_of(obj), obj.get("kind", "")
    meta = obj.get("metadata") or {}
    rank = RANKS.get((group, kind))
    if rank is None:
        namespaced = bool(meta.get("namespace"))
        custom = group not in BUILTIN_GROUPS and not group.endswith(".k8s.io")
        rank = 8 if custom else (7 if namespaced else 2)
    return (rank, group, kind, meta.get("namespace") or "", meta.get("name", ""))


def counts_of(objects: Iterable[dict]) -> dict[str, int]:
    """Return the number of objects per kind, as ``{"core/ConfigMap": 3, ...}``."""
    counts: dict[str, int] = {}
    for obj in objects:
        key = kind_key(obj)
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def canonical(obj: dict) -> bytes:
    """Return the canonical JSON of an object (sorted keys, no spaces)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def objects_checksum(objects: Iterable[dict]) -> str:
    """Return the SHA-256 of a set of cleaned objects, independent of their order."""
    digest = hashlib.sha256()
    for line in sorted(canonical(o) for o in objects):
        digest.update(line)
        digest.update(b"\n")
    return digest.hexdigest()
