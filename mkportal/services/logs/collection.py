"""Enabling log collection per cluster: the in-cluster agent and its ingest token.

Enabling creates an ingest token and installs the log agent: the catalog feature
`log-agent` (a fluent-bit DaemonSet in `mk-log-agent`), a ConfigMap `fluent-bit-config`
with fluent-bit's classic configuration (tail, kubernetes filter, namespace filter, a Lua
mapping onto the portal's line format, an `http` output to the portal) and a Secret with
the token, which the DaemonSet reads as `MKPORTAL_LOG_TOKEN`. Enabling again replaces the
token and configuration (idempotent). Disabling revokes the token and removes the agent.
On EKS, enabling also turns on the control plane's CloudWatch logging.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlparse

from kubernetes import client

from mkportal.db import session_scope
from mkportal.models.log_collection import LogCollection
from mkportal.models.org import Role
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict, RateLimited
from mkportal.services.kube import agents, features
from mkportal.services.kube.agents import (
    KUBE_ERRORS,
    CollectionStatus,
    clean_namespaces,
    kube_error,
    kube_for,
)
from mkportal.services.logs.ingest import IngestResult, store_batch
from mkportal.services.logs.tokens import (
    IngestIdentity,
    create_ingest_token,
    revoke_ingest_token,
    visible_cluster,
)
from mkportal.settings import get_settings

SLUG = "log-agent"
INGEST_PATH = "/api/v1/ingest/logs"

PARSERS = """\
[PARSER]
    Name        cri
    Format      regex
    Regex       ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>[^ ]*) (?<log>.*)$
    Time_Key    time
    Time_Format %Y-%m-%dT%H:%M:%S.%L%z

[PARSER]
    Name        docker
    Format      json
    Time_Key    time
    Time_Format %Y-%m-%dT%H:%M:%S.%L%z
"""

# Maps a record of the kubernetes filter onto the portal's ingest line format.
LUA = """\
function to_portal(tag, ts, record)
  local k = record["kubernetes"] or {}
  local attrs = record["attrs"]
  if type(attrs) ~= "table" then attrs = {} end
  attrs["stream"] = record["stream"] or "stdout"
  local level = attrs["level"] or attrs["severity"] or attrs["lvl"]
  if type(level) ~= "string" then level = "unknown" end
  local out = {
    message = record["log"] or "",
    stream = "app",
    level = level,
    namespace = k["namespace_name"] or "",
    pod = k["pod_name"] or "",
    container = k["container_name"] or "",
    attrs = attrs,
  }
  return 2, ts, out
end
"""


def _paths(namespaces: list[str]) -> str:
    if not namespaces:
        return "/var/log/containers/*.log"
    return ", ".join(f"/var/log/containers/*_{ns}_*.log" for ns in namespaces)


def fluent_bit_config(base_url: str, namespaces: list[str] | None) -> str:
    """Return fluent-bit's classic configuration for shipping container logs to the portal.

    Args:
        base_url: The portal's public URL (`BASE_URL`); lines go to its ingest endpoint.
        namespaces: Only these namespaces' containers (None or empty: every namespace).

    Returns:
        The text of `fluent-bit.conf`.

    """
    namespaces = sorted(set(namespaces or []))
    url = urlparse(base_url)
    tls = url.scheme == "https"
    port = url.port or (443 if tls else 80)
    grep = ""
    if namespaces:
        grep = (
            "[FILTER]\n"
            "    Name    grep\n"
            "    Match   kube.*\n"
            f"    Regex   $kubernetes['namespace_name'] ^({'|'.join(namespaces)})$\n\n"
        )
    return (
        "[SERVICE]\n"
        "    Flush         5\n"
        "    Log_Level     info\n"
        "    Parsers_File  /fluent-bit/etc/parsers.conf\n\n"
        "[INPUT]\n"
        "    Name              tail\n"
        "    Tag               kube.*\n"
        f"    Path              {_paths(namespaces)}\n"
        f"    Exclude_Path      /var/log/containers/*_{features.namespace(SLUG)}_*.log\n"
        "    multiline.parser  cri, docker\n"
        "    DB                /var/log/flb_kube.db\n"
        "    Mem_Buf_Limit     10MB\n"
        "    Skip_Long_Lines   On\n"
        "    Refresh_Interval  10\n\n"
        "[FILTER]\n"
        "    Name                kubernetes\n"
        "    Match               kube.*\n"
        "    Kube_Tag_Prefix     kube.var.log.containers.\n"
        "    Merge_Log           On\n"
        "    Merge_Log_Key       attrs\n"
        "    Keep_Log            On\n"
        "    Labels              Off\n"
        "    Annotations         Off\n\n"
        f"{grep}"
        "[FILTER]\n"
        "    Name    lua\n"
        "    Match   kube.*\n"
        "    script  /fluent-bit/etc/portal.lua\n"
        "    call    to_portal\n\n"
        "[OUTPUT]\n"
        "    Name              http\n"
        "    Match             kube.*\n"
        f"    Host              {url.hostname}\n"
        f"    Port              {port}\n"
        f"    URI               {url.path.rstrip('/')}{INGEST_PATH}\n"
        "    Format            json_lines\n"
        "    Json_Date_Key     ts\n"
        "    Json_Date_Format  iso8601\n"
        "    Compress          gzip\n"
        f"    Header            Authorization Bearer ${{{features.LOG_TOKEN_ENV}}}\n"
        f"    tls               {'On' if tls else 'Off'}\n"
        f"    tls.verify        {'On' if tls else 'Off'}\n"
        "    Retry_Limit       5\n"
    )


def install_agent(
    api: client.ApiClient, base_url: str, namespaces: list[str] | None, token: str
) -> None:
    """Install or update the agent: DaemonSet, ConfigMap `fluent-bit-config` and token Secret.

    Args:
        api: A client for the cluster.
        base_url: The portal's public URL.
        namespaces: The namespaces to collect (None or empty: all).
        token: The plain ingest token the agent sends as its Bearer token.

    """
    agents.install(
        api,
        SLUG,
        config_name=features.LOG_AGENT_CONFIG,
        config={
            "fluent-bit.conf": fluent_bit_config(base_url, namespaces),
            "parsers.conf": PARSERS,
            "portal.lua": LUA,
        },
        secret_name=features.LOG_AGENT_SECRET,
        token=token,
    )


def uninstall_agent(api: client.ApiClient, keep_daemonset: bool = False) -> None:
    """Remove the agent (its namespace), or only its config and token with `keep_daemonset`.

    Args:
        api: A client for the cluster.
        keep_daemonset: Keep the DaemonSet (the cluster has `log-agent` as a catalog feature).

    """
    agents.uninstall(
        api,
        SLUG,
        config_name=features.LOG_AGENT_CONFIG,
        secret_name=features.LOG_AGENT_SECRET,
        keep_daemonset=keep_daemonset,
    )


def enable(actor: Actor, cluster_id: str, namespaces: list[str] | None) -> CollectionStatus:
    """Turn on log collection for a cluster, optionally only for some namespaces.

    Args:
        actor: The caller (member or owner of the cluster's organisation, or an operator).
        cluster_id: The cluster.
        namespaces: Collect only these namespaces' application logs (None or empty: all).

    Returns:
        The collection's status.

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
            raise Conflict("Log collection can be enabled once the cluster is running.")
        s.expunge(cluster)
        old = s.get(LogCollection, cluster_id)
        old_token = old.token_id if old and old.enabled else ""
    plain, token = create_ingest_token(actor, cluster_id, "log-agent")
    try:
        with kube_for(cluster) as api:
            install_agent(api, get_settings().base_url, wanted, plain)
    except KUBE_ERRORS as exc:
        revoke_ingest_token(actor, cluster_id, token.id)
        raise kube_error(exc) from exc
    if old_token:
        revoke_ingest_token(actor, cluster_id, old_token)
    message = ""
    if cluster.provider == "eks":
        from mkportal.services.logs.cloud import enable_eks_logging

        message = enable_eks_logging(cluster.provider_ref)
    return agents.record_enabled(
        actor,
        cluster,
        LogCollection,
        wanted,
        message=message,
        action="logs.collection_enabled",
        token_id=token.id,
    )


def disable(actor: Actor, cluster_id: str) -> CollectionStatus:
    """Turn off log collection: revoke the agent's token and remove the agent.

    Args:
        actor: The caller (member or owner of the cluster's organisation, or an operator).
        cluster_id: The cluster.

    Returns:
        The collection's status (off).

    Raises:
        NotFound: No such cluster in the caller's organisation.
        Forbidden: The caller is a viewer.
        Conflict: The cluster's Kubernetes API failed.

    """
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        actor.require_role(Role.member)
        s.expunge(cluster)
        row = s.get(LogCollection, cluster_id)
        token_id = row.token_id if row else ""
    if token_id:
        revoke_ingest_token(actor, cluster_id, token_id)
    result = agents.record_disabled(
        actor, cluster, LogCollection, action="logs.collection_disabled", token_id=""
    )
    agents.remove_agent(
        cluster,
        LogCollection,
        uninstall_agent,
        SLUG,
        "The token is revoked, but the agent is still installed",
    )
    return result


def status(actor: Actor, cluster_id: str) -> CollectionStatus:
    """Return a cluster's log collection settings and the agent's state (any role).

    Raises:
        NotFound: No such cluster in the caller's organisation.

    """
    return agents.read_status(actor, cluster_id, LogCollection, SLUG)


def ingest_lines(
    cluster_id: str, org_id: str, lines: list[dict], now: datetime | None = None
) -> IngestResult:
    """Store lines the portal collected itself (simulator, cloud pulls) like an agent's batch.

    The lines go through the ingest endpoint's validation, expiry, quota and usage
    accounting (`ingest.store_batch`), without a bearer token: the caller vouches for the
    cluster. Far over the quota, nothing is stored (collectors do not fail on it).

    Args:
        cluster_id: The cluster the lines belong to.
        org_id: Its organisation.
        lines: Line objects in the ingest format (ts, message, stream, level, ...).
        now: The current time (tests pass a fixed one).

    Raises:
        Invalid: A line is malformed.

    """
    if not lines:
        return IngestResult(0, 0, 0, False)
    data = "\n".join(json.dumps(line, default=str) for line in lines).encode()
    try:
        return store_batch(IngestIdentity("portal", cluster_id, org_id), data, now=now)
    except RateLimited:
        return IngestResult(0, len(lines), 0, True)
