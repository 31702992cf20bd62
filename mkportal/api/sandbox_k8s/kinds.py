"""The resource kinds the sandbox Kubernetes API serves, for discovery and routing."""

from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class Kind:
    """One served resource."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    read_only: bool = False

    @property
    def api_version(self) -> str:
        """Return ``group/version`` (``v1`` for the core group)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def resource(self) -> dict:
        """Return this kind's entry of an APIResourceList."""
        return {
            "name": self.plural,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(READ_VERBS if self.read_only else ALL_VERBS),
            "shortNames": list(self.short_names),
        }


BUILTIN: tuple[Kind, ...] = (
    Kind("", "v1", "Namespace", "namespaces", False, ("ns",)),
    Kind("", "v1", "Node", "nodes", False, ("no",), read_only=True),
    Kind("", "v1", "Pod", "pods", True, ("po",)),
    Kind("", "v1", "Service", "services", True, ("svc",)),
    Kind("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    Kind("", "v1", "Secret", "secrets", True),
    Kind("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    Kind("", "v1", "Event", "events", True, ("ev",)),
    Kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",)),
    Kind("apps", "v1", "Deployment", "deployments", True, ("deploy",)),
    Kind("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",)),
    Kind("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",)),
    Kind("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",)),
    Kind("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",)),
    Kind("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",)),
    Kind("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ("sc",)),
    Kind(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
    ),
)


def crd_kinds(crds: list[dict]) -> list[Kind]:
    """Return the kinds defined by CustomResourceDefinition objects (served versions)."""
    out = []
    for crd in crds:
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        for v in spec.get("versions", []):
            if v.get("served", True) and names.get("plural") and names.get("kind"):
                out.append(
                    Kind(
                        spec.get("group", ""),
                        v["name"],
                        names["kind"],
                        names["plural"],
                        spec.get("scope", "Namespaced") == "Namespaced",
                        tuple(names.get("shortNames", [])),
                    )
                )
    return out


def find(kinds: list[Kind], group: str, version: str, plural: str) -> Kind | None:
    """Return the kind served at ``group/version/plural``, if any."""
    return next(
        (k for k in kinds if (k.group, k.version, k.plural) == (group, version, plural)), None
    )


def groups(kinds: list[Kind]) -> dict[str, list[str]]:
    """Return the named API groups and their versions (the core group excluded)."""
    out: dict[str, list[str]] = {}
    for k in kinds:
        if k.group and k.version not in out.setdefault(k.group, []):
            out[k.group].append(k.version)
    return out
