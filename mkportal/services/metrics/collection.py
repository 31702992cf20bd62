"""Enabling application metrics collection per cluster: the in-cluster Prometheus agent.

Enabling installs the catalog feature `metrics-agent` (a Prometheus DaemonSet in agent
mode in `mk-metrics-agent`) and a ConfigMap `metrics-agent-config` with its configuration:
Kubernetes pod discovery on the agent's own node honouring the `prometheus.io/scrape`,
`prometheus.io/port` and `prometheus.io/path` annotations, an optional namespace filter,
`org`/`cluster` labels set on every series, and `remote_write` to the portal's
`/api/v1/ingest/metrics` with a cluster ingest token (Secret `metrics-agent-token`). The
portal forces the token's org and cluster onto every series before writing them to its
Prometheus (see remote_write.py), so a customer editing the agent's configuration still
cannot write another cluster's series. Enabling again replaces the configuration and the
token (idempotent); disabling revokes the token and removes the agent. The
MetricsCollection row is what the sandbox exporter reads to emit application series for
sandbox clusters.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from kubernetes import client
from kubernetes.client.rest import ApiException

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.metrics import MetricsCollection
from mkportal.models.org import Role
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict
from mkportal.services.kube import features
from mkportal.services.logs.collection import (
    KUBE_ERRORS,
    _clean_namespaces,
    _kube,
    _kube_error,
    _upsert,
)
from mkportal.services.logs.tokens import (
    create_ingest_token,
    list_ingest_tokens,
    revoke_ingest_token,
    visible_cluster,
)
from mkportal.services.metrics import prom
from mkportal.services.metrics.agent_config import agent_config
from mkportal.settings import get_settings

SLUG = "metrics-agent"
INGEST_PATH = "/api/v1/ingest/metrics"
TOKEN_NAME = "metrics-agent"


@dataclass
class MetricsCollectionStatus:
    """A cluster's application metrics collection as shown to users."""

    cluster_id: str
    enabled: bool
    namespaces: list[str]
    status: str
    message: str
    enabled_by: str
    enabled_at: datetime | None
    agent: str


def remote_write_url() -> str:
    """Return where agents send samples: the portal's authenticated remote-write endpoint."""
    return get_settings().base_url.rstrip("/") + INGEST_PATH


def install_agent(
    api: client.ApiClient, org_id: str, cluster_id: str, namespaces: list[str] | None, token: str
) -> None:
    """Install or update the agent: DaemonSet, its ConfigMap and the ingest token Secret."""
    features.apply(api, SLUG)
    ns = features.namespace(SLUG)
    core = client.CoreV1Api(api)
    labels = {**features.MANAGED, "app.kubernetes.io/name": SLUG}
    config = agent_config(org_id, cluster_id, namespaces, remote_write_url())
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(
            name=features.METRICS_AGENT_CONFIG, namespace=ns, labels=labels
        ),
        data={"prometheus.yml": config},
    )
    _upsert(
        core.create_namespaced_config_map,
        core.replace_namespaced_config_map,
        features.METRICS_AGENT_CONFIG,
        ns,
        body,
    )
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=features.METRICS_AGENT_SECRET, namespace=ns, labels=labels
        ),
        type="Opaque",
        data={"token": base64.b64encode(token.encode()).decode()},
    )
    _upsert(
        core.create_namespaced_secret,
        core.replace_namespaced_secret,
        features.METRICS_AGENT_SECRET,
        ns,
        secret,
    )


def uninstall_agent(api: client.ApiClient, keep_daemonset: bool = False) -> None:
    """Remove the agent (its namespace), or only its config and token with `keep_daemonset`."""
    if not keep_daemonset:
        features.remove(api, SLUG)
        return
    core = client.CoreV1Api(api)
    ns = features.namespace(SLUG)
    for delete, name in (
        (core.delete_namespaced_config_map, features.METRICS_AGENT_CONFIG),
        (core.delete_namespaced_secret, features.METRICS_AGENT_SECRET),
    ):
        try:
            delete(name, ns)
        except ApiException as exc:
            if exc.status != 404:
                raise


def _agent_tokens(actor: Actor, cluster_id: str) -> list[str]:
    """Return the ids of the cluster's live metrics-agent ingest tokens."""
    return [
        t.id
        for t in list_ingest_tokens(actor, cluster_id)
        if t.name == TOKEN_NAME and t.revoked_at is None
    ]


def _view(cluster_id: str, row: MetricsCollection | None, agent: str) -> MetricsCollectionStatus:
    if row is None:
        return MetricsCollectionStatus(cluster_id, False, [], "off", "", "", None, agent)
    return MetricsCollectionStatus(
        cluster_id,
        row.enabled,
        list(row.namespaces),
        row.status,
        row.message,
        row.enabled_by,
        row.enabled_at,
        agent,
    )


def enable(actor: Actor, cluster_id: str, namespaces: list[str] | None) -> MetricsCollectionStatus:
    """Turn on application metrics collection, optionally only for some namespaces.

    Args:
        actor: The caller (member or owner of the cluster's organisation, or an operator).
        cluster_id: The cluster.
        namespaces: Scrape only these namespaces' pods (None or empty: all).

    Raises:
        NotFound: No such cluster in the caller's organisation.
        Forbidden: The caller is a viewer.
        Invalid: A namespace name is malformed.
        Conflict: The cluster is not running, or its Kubernetes API failed.

    """
    wanted = _clean_namespaces(namespaces)
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        actor.require_role(Role.member)
        if cluster.status != "running" or not cluster.credentials_enc:
            raise Conflict("Metrics collection can be enabled once the cluster is running.")
        s.expunge(cluster)
    old_tokens = _agent_tokens(actor, cluster_id)
    plain, token = create_ingest_token(actor, cluster_id, TOKEN_NAME)
    try:
        with _kube(cluster) as api:
            install_agent(api, cluster.org_id, cluster_id, wanted, plain)
    except KUBE_ERRORS as exc:
        revoke_ingest_token(actor, cluster_id, token.id)
        raise _kube_error(exc) from exc
    for old_id in old_tokens:
        revoke_ingest_token(actor, cluster_id, old_id)
    message = "" if prom.prometheus_url() else prom.INSTALL_HINT
    with session_scope() as s:
        row = s.get(MetricsCollection, cluster_id) or MetricsCollection(
            cluster_id=cluster_id, org_id=cluster.org_id
        )
        row.enabled, row.namespaces, row.status, row.message = True, wanted, "enabled", message
        row.enabled_by, row.enabled_at, row.updated_at = actor.email, utcnow(), utcnow()
        s.add(row)
        audit.record(
            s,
            actor,
            "metrics.collection_enabled",
            target_type="cluster",
            target_id=cluster_id,
            org_id=cluster.org_id,
            detail={"namespaces": wanted},
        )
        return _view(cluster_id, row, "installing")


def disable(actor: Actor, cluster_id: str) -> MetricsCollectionStatus:
    """Turn off application metrics collection and remove the agent (stored series stay).

    Raises:
        NotFound: No such cluster in the caller's organisation.
        Forbidden: The caller is a viewer.
        Conflict: The cluster's Kubernetes API failed (the row is off regardless).

    """
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        actor.require_role(Role.member)
        s.expunge(cluster)
        row = s.get(MetricsCollection, cluster_id)
        if row is not None:
            row.enabled, row.status, row.message, row.updated_at = False, "off", "", utcnow()
            s.add(row)
        audit.record(
            s,
            actor,
            "metrics.collection_disabled",
            target_type="cluster",
            target_id=cluster_id,
            org_id=cluster.org_id,
        )
        view = _view(cluster_id, row, "missing")
    for token_id in _agent_tokens(actor, cluster_id):
        revoke_ingest_token(actor, cluster_id, token_id)
    if cluster.credentials_enc and cluster.status != "deleted":
        try:
            with _kube(cluster) as api:
                uninstall_agent(api, keep_daemonset=SLUG in (cluster.features or []))
        except KUBE_ERRORS as exc:
            error = _kube_error(exc)
            with session_scope() as s:
                row = s.get(MetricsCollection, cluster_id)
                if row is not None:
                    row.message = (
                        f"Collection is off, but the agent is still installed: {error.message}"
                    )
                    s.add(row)
            raise error from exc
    return view


def status(actor: Actor, cluster_id: str) -> MetricsCollectionStatus:
    """Return a cluster's metrics collection settings and the agent's state (any role).

    Raises:
        NotFound: No such cluster in the caller's organisation.

    """
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        s.expunge(cluster)
        row = s.get(MetricsCollection, cluster_id)
        if row is not None:
            s.expunge(row)
    agent = "missing"
    if row is not None and row.enabled:
        try:
            with _kube(cluster) as api:
                agent = features.status(api, SLUG)
        except (*KUBE_ERRORS, ValueError):
            agent = "unknown"
    return _view(cluster_id, row, agent)
