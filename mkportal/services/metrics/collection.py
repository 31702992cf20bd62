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

from kubernetes import client

from mkportal.db import session_scope
from mkportal.models.metrics import MetricsCollection
from mkportal.models.org import Role
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict
from mkportal.services.kube import agents, features
from mkportal.services.kube.agents import (
    KUBE_ERRORS,
    CollectionStatus,
    clean_namespaces,
    kube_error,
    kube_for,
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


MetricsCollectionStatus = CollectionStatus


def remote_write_url() -> str:
    """Return where agents send samples: the portal's authenticated remote-write endpoint."""
    return get_settings().base_url.rstrip("/") + INGEST_PATH


def install_agent(
    api: client.ApiClient, org_id: str, cluster_id: str, namespaces: list[str] | None, token: str
) -> None:
    """Install or update the agent: DaemonSet, its ConfigMap and the ingest token Secret."""
    agents.install(
        api,
        SLUG,
        config_name=features.METRICS_AGENT_CONFIG,
        config={"prometheus.yml": agent_config(org_id, cluster_id, namespaces, remote_write_url())},
        secret_name=features.METRICS_AGENT_SECRET,
        token=token,
    )


def uninstall_agent(api: client.ApiClient, keep_daemonset: bool = False) -> None:
    """Remove the agent (its namespace), or only its config and token with `keep_daemonset`."""
    agents.uninstall(
        api,
        SLUG,
        config_name=features.METRICS_AGENT_CONFIG,
        secret_name=features.METRICS_AGENT_SECRET,
        keep_daemonset=keep_daemonset,
    )


def _agent_tokens(actor: Actor, cluster_id: str) -> list[str]:
    """Return the ids of the cluster's live metrics-agent ingest tokens."""
    return [
        t.id
        for t in list_ingest_tokens(actor, cluster_id)
        if t.name == TOKEN_NAME and t.revoked_at is None
    ]


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
    wanted = clean_namespaces(namespaces)
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        actor.require_role(Role.member)
        if cluster.status != "running" or not cluster.credentials_enc:
            raise Conflict("Metrics collection can be enabled once the cluster is running.")
        s.expunge(cluster)
    old_tokens = _agent_tokens(actor, cluster_id)
    plain, token = create_ingest_token(actor, cluster_id, TOKEN_NAME)
    try:
        with kube_for(cluster) as api:
            install_agent(api, cluster.org_id, cluster_id, wanted, plain)
    except KUBE_ERRORS as exc:
        revoke_ingest_token(actor, cluster_id, token.id)
        raise kube_error(exc) from exc
    for old_id in old_tokens:
        revoke_ingest_token(actor, cluster_id, old_id)
    message = "" if prom.prometheus_url() else prom.INSTALL_HINT
    return agents.record_enabled(
        actor,
        cluster,
        MetricsCollection,
        wanted,
        message=message,
        action="metrics.collection_enabled",
    )


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
    result = agents.record_disabled(
        actor, cluster, MetricsCollection, action="metrics.collection_disabled"
    )
    for token_id in _agent_tokens(actor, cluster_id):
        revoke_ingest_token(actor, cluster_id, token_id)
    agents.remove_agent(
        cluster,
        MetricsCollection,
        uninstall_agent,
        SLUG,
        "Collection is off, but the agent is still installed",
    )
    return result


def status(actor: Actor, cluster_id: str) -> MetricsCollectionStatus:
    """Return a cluster's metrics collection settings and the agent's state (any role).

    Raises:
        NotFound: No such cluster in the caller's organisation.

    """
    return agents.read_status(actor, cluster_id, MetricsCollection, SLUG)
