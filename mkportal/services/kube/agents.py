"""In-cluster collection agents (logs, metrics): the plumbing both collections share.

An agent is a catalog feature (a DaemonSet in `mk-<slug>`) plus a ConfigMap with its
configuration and a Secret with the portal ingest token it sends. A collection row per
cluster (LogCollection, MetricsCollection) records whether it is on and for which
namespaces; this module turns such a row into what users see, installs and removes the
agent's files, and maps the cluster API's failures onto readable errors.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.clusters.kubeconfig import render, unseal
from mkportal.services.errors import Conflict, Invalid
from mkportal.services.kube import features
from mkportal.services.kube.client import api_client
from mkportal.services.logs.tokens import visible_cluster

KUBE_ERRORS = (ApiException, HTTPError, OSError)
MAX_NAMESPACES = 50
NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass
class CollectionStatus:
    """A cluster's log or metrics collection as shown to users."""

    cluster_id: str
    enabled: bool
    namespaces: list[str]
    status: str
    message: str
    enabled_by: str
    enabled_at: datetime | None
    agent: str


def view(cluster_id: str, row: Any | None, agent: str = "") -> CollectionStatus:  # noqa: ANN401
    """Return what users see of a collection row (None: collection was never turned on)."""
    if row is None:
        return CollectionStatus(cluster_id, False, [], "off", "", "", None, agent or "missing")
    return CollectionStatus(
        cluster_id,
        row.enabled,
        list(row.namespaces),
        row.status,
        row.message,
        row.enabled_by,
        row.enabled_at,
        agent,
    )


def clean_namespaces(namespaces: list[str] | None) -> list[str]:
    """Return the namespaces sorted and de-duplicated (empty: every namespace).

    Raises:
        Invalid: Too many namespaces, or a name that is not a namespace name.
    """
    cleaned = sorted({n.strip() for n in namespaces or [] if n and n.strip()})
    if len(cleaned) > MAX_NAMESPACES:
        raise Invalid({"namespaces": f"Choose at most {MAX_NAMESPACES} namespaces."})
    for i, name in enumerate(cleaned):
        if not NAMESPACE_RE.match(name):
            raise Invalid(
                {f"namespaces.{i}": f"'{name}' is not a namespace name (lowercase, digits, '-')."}
            )
    return cleaned


def kube_for(cluster) -> client.ApiClient:  # noqa: ANN001
    """Return a Kubernetes client for a cluster row (with its sealed credentials)."""
    return api_client(render(cluster, unseal(cluster.credentials_enc)))


def kube_error(exc: Exception) -> Conflict:
    """Return the readable error for a failed call to a cluster's Kubernetes API."""
    if isinstance(exc, ApiException):
        return Conflict(
            f"The cluster's Kubernetes API answered {exc.status} ({exc.reason}); try again shortly."
        )
    return Conflict(f"The cluster's Kubernetes API is unreachable ({exc}); try again shortly.")


def upsert(create: Callable, replace: Callable, name: str, ns: str, body: object) -> None:
    """Create a namespaced object, or replace it when it exists."""
    try:
        create(ns, body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        replace(name, ns, body)


def install(
    api: client.ApiClient,
    slug: str,
    *,
    config_name: str,
    config: dict[str, str],
    secret_name: str,
    token: str,
) -> None:
    """Install or update an agent: its feature workload, ConfigMap and token Secret.

    Args:
        api: A client for the cluster.
        slug: The agent's catalog feature.
        config_name: The ConfigMap's name.
        config: The ConfigMap's files.
        secret_name: The Secret's name (key `token`).
        token: The plain ingest token the agent sends as its Bearer token.

    """
    features.apply(api, slug)
    core = client.CoreV1Api(api)
    ns = features.namespace(slug)
    labels = {**features.MANAGED, "app.kubernetes.io/name": slug}
    config_map = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=config_name, namespace=ns, labels=labels), data=config
    )
    upsert(
        core.create_namespaced_config_map,
        core.replace_namespaced_config_map,
        config_name,
        ns,
        config_map,
    )
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(name=secret_name, namespace=ns, labels=labels),
        type="Opaque",
        data={"token": base64.b64encode(token.encode()).decode()},
    )
    upsert(core.create_namespaced_secret, core.replace_namespaced_secret, secret_name, ns, secret)


def uninstall(
    api: client.ApiClient, slug: str, *, config_name: str, secret_name: str, keep_daemonset: bool
) -> None:
    """Remove an agent (its namespace), or only its config and token with `keep_daemonset`.

    `keep_daemonset` is for clusters that have the agent as a catalog feature of their own.
    """
    if not keep_daemonset:
        features.remove(api, slug)
        return
    core = client.CoreV1Api(api)
    ns = features.namespace(slug)
    for delete, name in (
        (core.delete_namespaced_config_map, config_name),
        (core.delete_namespaced_secret, secret_name),
    ):
        try:
            delete(name, ns)
        except ApiException as exc:
            if exc.status != 404:
                raise


def agent_state(cluster, row: Any | None, slug: str) -> str:  # noqa: ANN001, ANN401
    """Return the agent's readiness in the cluster while collection is on, else "missing"."""
    if row is None or not row.enabled:
        return "missing"
    try:
        with kube_for(cluster) as api:
            return features.status(api, slug) or "missing"
    except (*KUBE_ERRORS, ValueError):
        return "unknown"


def record_enabled(
    actor: Actor,
    cluster,  # noqa: ANN001
    model: type,
    namespaces: list[str],
    *,
    message: str,
    action: str,
    **fields: object,
) -> CollectionStatus:
    """Mark collection on (creating the row), audit it as `action` and return the status.

    `fields` are further columns of the collection row to set (e.g. its token id).
    """
    with session_scope() as s:
        row = s.get(model, cluster.id) or model(cluster_id=cluster.id, org_id=cluster.org_id)
        row.enabled, row.namespaces, row.status, row.message = True, namespaces, "enabled", message
        row.enabled_by, row.enabled_at, row.updated_at = actor.email, utcnow(), utcnow()
        for name, value in fields.items():
            setattr(row, name, value)
        s.add(row)
        audit.record(
            s,
            actor,
            action,
            target_type="cluster",
            target_id=cluster.id,
            org_id=cluster.org_id,
            detail={"namespaces": namespaces},
        )
        return view(cluster.id, row, "installing")


def record_disabled(
    actor: Actor,
    cluster,  # noqa: ANN001
    model: type,
    *,
    action: str,
    **fields: object,
) -> CollectionStatus:
    """Mark collection off (if it was ever on), audit it as `action` and return the status."""
    with session_scope() as s:
        row = s.get(model, cluster.id)
        if row is not None:
            row.enabled, row.status, row.message, row.updated_at = False, "off", "", utcnow()
            for name, value in fields.items():
                setattr(row, name, value)
            s.add(row)
        audit.record(
            s, actor, action, target_type="cluster", target_id=cluster.id, org_id=cluster.org_id
        )
        return view(cluster.id, row, "missing")


def read_status(actor: Actor, cluster_id: str, model: type, slug: str) -> CollectionStatus:
    """Return a cluster's collection settings and its agent's state (any role).

    Args:
        actor: The caller.
        cluster_id: The cluster.
        model: The collection table (LogCollection or MetricsCollection).
        slug: The agent's catalog feature.

    Raises:
        NotFound: No such cluster in the caller's organisation.
    """
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        s.expunge(cluster)
        row = s.get(model, cluster_id)
        if row is not None:
            s.expunge(row)
    return view(cluster_id, row, agent_state(cluster, row, slug))


def remove_agent(
    cluster,  # noqa: ANN001
    model: type,
    uninstall_agent: Callable[..., None],
    slug: str,
    still_installed: str,
) -> None:
    """Remove a turned-off agent from a live cluster; note on the row if the API fails.

    Args:
        cluster: The cluster row (detached).
        model: The collection table (LogCollection or MetricsCollection).
        uninstall_agent: The agent's uninstall function (api, keep_daemonset=...).
        slug: The agent's catalog feature.
        still_installed: The row's message prefix when the agent could not be removed.

    Raises:
        Conflict: The cluster's Kubernetes API failed (collection stays off).
    """
    if not cluster.credentials_enc or cluster.status == "deleted":
        return
    try:
        with kube_for(cluster) as api:
            uninstall_agent(api, keep_daemonset=slug in (cluster.features or []))
    except KUBE_ERRORS as exc:
        error = kube_error(exc)
        with session_scope() as s:
            row = s.get(model, cluster.id)
            if row is not None:
                row.message = f"{still_installed}: {error.message}"
                s.add(row)
        raise error from exc
