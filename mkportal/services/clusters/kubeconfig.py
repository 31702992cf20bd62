"""Kubeconfigs in each provider's convention, built from encrypted stored credentials."""

from __future__ import annotations

import json

import yaml

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict, NotFound
from mkportal.services.providers.base import Credentials
from mkportal.services.secrets import decrypt, encrypt


def seal(creds: Credentials) -> str:
    """Encrypt credentials for storage on the Cluster row."""
    return encrypt(json.dumps(creds.__dict__))


def unseal(blob: str) -> Credentials:
    """Decrypt stored credentials."""
    return Credentials(**json.loads(decrypt(blob)))


def _user(cluster: Cluster, creds: Credentials) -> dict:
    if creds.kind == "exec-eks":
        return {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "aws",
                "args": [
                    "eks",
                    "get-token",
                    "--cluster-name",
                    creds.secret,
                    "--region",
                    cluster.region,
                    "--output",
                    "json",
                ],
                "interactiveMode": "IfAvailable",
            }
        }
    if creds.kind == "exec-gke":
        return {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "gke-gcloud-auth-plugin",
                "installHint": "Install gke-gcloud-auth-plugin: "
                "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl",
                "provideClusterInfo": True,
                "interactiveMode": "IfAvailable",
            }
        }
    if creds.kind == "admin-aks":
        return yaml.safe_load(creds.secret)
    return {"token": creds.secret}


def render(cluster: Cluster, creds: Credentials) -> str:
    """Render a kubeconfig for `cluster`."""
    name = f"{cluster.name}"
    server = {"server": creds.endpoint}
    if creds.ca_data:
        server["certificate-authority-data"] = creds.ca_data
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": server}],
        "users": [{"name": f"{name}-user", "user": _user(cluster, creds)}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-user"}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def kubeconfig(actor: Actor, cluster_id: str) -> tuple[str, str]:
    """Return (file name, kubeconfig YAML) for a cluster of the caller's organisation.

    Raises:
        NotFound: Not the caller's cluster.
        Conflict: The cluster has no credentials yet, or is deleted.
    """
    with session_scope() as s:
        cluster = s.get(Cluster, cluster_id)
        if cluster is None or not actor.can_see_org(cluster.org_id):
            raise NotFound("Not found.")
        if cluster.deleted_at:
            raise Conflict("The cluster was deleted.")
        if not cluster.credentials_enc:
            raise Conflict("The cluster has no credentials yet; wait until it is running.")
        audit.record(
            s,
            actor,
            "cluster.kubeconfig_downloaded",
            target_type="cluster",
            target_id=cluster.id,
            org_id=cluster.org_id,
        )
        return f"{cluster.name}-kubeconfig.yaml", render(cluster, unseal(cluster.credentials_enc))
