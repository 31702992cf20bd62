"""The dry-run diff of a restore: what applying a backup would change in a cluster.

Pure functions over plain Kubernetes objects (volatile server fields already dropped and
Secrets decrypted): which objects the scope covers, which the target cannot serve, and per
object whether the restore creates, updates, deletes or leaves it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MODES = ("merge", "replace", "clone")
PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
KEEP_NAMESPACES = ("default", *PROTECTED_NAMESPACES)
CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
APPLY_ORDER = (
    "Namespace",
    "CustomResourceDefinition",
    "StorageClass",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Service",
)
_MINOR = re.compile(r"^v?(\d+)\.(\d+)")

Key = tuple[str, str, str, str]  # group, kind, namespace, name


@dataclass
class ObjectChange:
    """What the restore does to one object.

    `action` is create, update, delete, unchanged or blocked; `fields` names the
    top-level fields that differ (for updates); `reason` explains a blocked object.
    """

    action: str
    api_version: str
    kind: str
    namespace: str
    name: str
    fields: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class Diff:
    """The changes of a restore, its counts and its warnings."""

    changes: list[ObjectChange]
    counts: dict[str, int]
    warnings: list[str]


def group_of(obj: dict) -> str:
    """Return the API group of an object ('' for the core group)."""
    api_version = obj.get("apiVersion", "v1")
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def version_of(obj: dict) -> str:
    """Return the API version of an object without its group."""
    return obj.get("apiVersion", "v1").rsplit("/", 1)[-1]


def key_of(obj: dict) -> Key:
    """Return the identity of an object: group, kind, namespace and name."""
    meta = obj.get("metadata") or {}
    return (group_of(obj), obj.get("kind", ""), meta.get("namespace", "") or "", meta["name"])


def minor_of(version: str) -> tuple[int, int] | None:
    """Return (major, minor) of a Kubernetes version such as ``v1.35.0`` or ``1.35``."""
    m = _MINOR.match(version or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def kind_matches(obj: dict, wanted: Iterable[str]) -> bool:
    """Whether an object's kind is among `wanted` (``Kind``, ``group/Kind`` or ``core/Kind``)."""
    group, kind = group_of(obj), obj.get("kind", "")
    names = {kind.lower(), f"{group}/{kind}".lower(), f"{group or 'core'}/{kind}".lower()}
    return any(w.strip().lower() in names for w in wanted)


def in_scope(obj: dict, namespaces: Iterable[str], kinds: Iterable[str]) -> bool:
    """Whether the scope covers an object.

    With namespaces chosen, only objects in them and the Namespace objects themselves are
    covered (cluster-scoped objects are not); with kinds chosen, only those kinds. (`compute`
    adds the Namespaces that covered objects need when the target lacks them.)
    """
    namespaces, kinds = list(namespaces), list(kinds)
    if kinds and not kind_matches(obj, kinds):
        return False
    if namespaces:
        _g, kind, ns, name = key_of(obj)
        if ns:
            return ns in namespaces
        return kind == "Namespace" and name in namespaces
    return True


def crd_kinds(objects: Iterable[dict]) -> set[tuple[str, str, str]]:
    """Return the (group, version, kind) served by the CustomResourceDefinitions among `objects`."""
    out = set()
    for obj in objects:
        if (group_of(obj), obj.get("kind")) != CRD:
            continue
        spec = obj.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind", "")
        for v in spec.get("versions") or []:
            if v.get("served", True) and kind:
                out.add((spec.get("group", ""), v.get("name", ""), kind))
    return out


def _with_namespaces(wanted: list[dict], backup: list[dict], have: dict) -> list[dict]:
    """Add the backed-up Namespaces that in-scope objects need and the target lacks."""
    keys = {key_of(o) for o in wanted}
    needed = {key_of(o)[2] for o in wanted} - {""}
    extra = [
        o
        for o in backup
        if key_of(o)[:2] == ("", "Namespace")
        and key_of(o)[3] in needed
        and key_of(o) not in keys
        and key_of(o) not in have
    ]
    return extra + wanted


def _differing(want: dict, have: dict) -> list[str]:
    keys = sorted(set(want) | set(have))
    return [k for k in keys if want.get(k) != have.get(k)]


def _protected(key: Key) -> bool:
    _g, kind, ns, name = key
    return ns in PROTECTED_NAMESPACES or (kind == "Namespace" and name in KEEP_NAMESPACES)


def order_key(change: ObjectChange) -> tuple[int, str, str, str]:
    """Sort key applying namespaces and definitions first, custom resources last."""
    rank = APPLY_ORDER.index(change.kind) if change.kind in APPLY_ORDER else len(APPLY_ORDER)
    return (rank, change.kind, change.namespace, change.name)


def compute(
    backup: list[dict],
    live: list[dict],
    *,
    mode: str,
    namespaces: Iterable[str] = (),
    kinds: Iterable[str] = (),
    served: set[tuple[str, str, str]],
    backup_version: str = "",
    target_version: str = "",
) -> Diff:
    """Compute the changes restoring `backup` into a cluster currently holding `live`.

    Args:
        backup: The backed-up objects (plain, normalised).
        live: The target's objects, normalised the same way.
        mode: merge (create and update), replace (also delete what the backup lacks,
            within the scope) or clone (a fresh cluster: like merge).
        namespaces: Restrict to these namespaces (empty: all).
        kinds: Restrict to these kinds (empty: all).
        served: (group, version, kind) the target serves.
        backup_version: The Kubernetes version the backup was taken on.
        target_version: The target's Kubernetes version.

    Returns:
        The changes in apply order, counts per action, and warnings.
    """
    namespaces, kinds = list(namespaces), list(kinds)
    have = {key_of(o): o for o in live}
    wanted = _with_namespaces([o for o in backup if in_scope(o, namespaces, kinds)], backup, have)
    serving = set(served) | crd_kinds(wanted)
    changes: list[ObjectChange] = []
    blocked_apis: set[str] = set()
    seen: set[Key] = set()
    for obj in wanted:
        key = key_of(obj)
        seen.add(key)
        group, kind, ns, name = key
        api_version = obj.get("apiVersion", "v1")
        if (group, version_of(obj), kind) not in serving:
            blocked_apis.add(f"{api_version} {kind}")
            reason = f"The target cluster does not serve {api_version} {kind}."
            changes.append(ObjectChange("blocked", api_version, kind, ns, name, reason=reason))
            continue
        current = have.get(key)
        if current is None:
            changes.append(ObjectChange("create", api_version, kind, ns, name))
        elif current == obj:
            changes.append(ObjectChange("unchanged", api_version, kind, ns, name))
        else:
            fields = _differing(obj, current)
            changes.append(ObjectChange("update", api_version, kind, ns, name, fields))
    if mode == "replace":
        for key, obj in have.items():
            if key in seen or _protected(key) or not in_scope(obj, namespaces, kinds):
                continue
            group, kind, ns, name = key
            changes.append(ObjectChange("delete", obj.get("apiVersion", "v1"), kind, ns, name))
    changes.sort(key=order_key)
    counts = {a: 0 for a in ("create", "update", "delete", "unchanged", "blocked")}
    for c in changes:
        counts[c.action] += 1
    return Diff(changes, counts, _warnings(backup_version, target_version, blocked_apis))


def _warnings(backup_version: str, target_version: str, blocked: set[str]) -> list[str]:
    out = []
    was, now = minor_of(backup_version), minor_of(target_version)
    if was and now and now < was:
        out.append(
            f"The target runs Kubernetes {now[0]}.{now[1]}, older than the backup's "
            f"{was[0]}.{was[1]}. APIs the older version does not serve are skipped."
        )
    if blocked:
        out.append(
            "Not restored because the target cluster does not serve their API: "
            + ", ".join(sorted(blocked))
            + "."
        )
    return out
