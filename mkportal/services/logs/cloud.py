"""Control-plane logs of real clusters, pulled from the cloud's logging service.

- EKS: CloudWatch Logs, log group ``/aws/eks/<cluster>/cluster`` (streams
  ``kube-apiserver-*``, ``kube-apiserver-audit-*``, ``kube-scheduler-*``,
  ``kube-controller-manager-*``, ``authenticator-*``) with ``filter_log_events``.
  Enabling collection turns the cluster's control-plane logging types on.
- GKE: Cloud Logging ``entries:list`` (REST v2) for the cluster's
  ``k8s_control_plane_component`` entries and its Kubernetes audit entries.
- AKS: the Log Analytics query API over ``AzureDiagnostics`` (diagnostic settings that
  send the control-plane categories to a workspace, `AKS_LOG_WORKSPACE_ID`).

Each source keeps a cursor per cluster: the newest timestamp seen and the ids of the
entries seen at that timestamp, so a pull starts at that timestamp (inclusive) and skips
what it already stored: no gaps, no duplicates. A pull is capped per cluster and tick.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime, timedelta

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.log_collection import LogCollection
from mkportal.services.logs.collection import ingest_lines
from mkportal.worker.tick import register_tick

log = logging.getLogger(__name__)

MAX_PULL = 1000
MAX_MESSAGE = 60_000
FIRST_PULL = timedelta(hours=1)
EKS_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
EKS_STREAMS = (
    ("kube-apiserver-audit-", "audit"),
    ("kube-apiserver-", "kube-apiserver"),
    ("kube-scheduler-", "kube-scheduler"),
    ("kube-controller-manager-", "kube-controller-manager"),
    ("authenticator-", "kube-apiserver"),
    ("cloud-controller-manager-", "kube-controller-manager"),
)
GKE_COMPONENTS = {
    "apiserver": "kube-apiserver",
    "kube-apiserver": "kube-apiserver",
    "scheduler": "kube-scheduler",
    "kube-scheduler": "kube-scheduler",
    "controller-manager": "kube-controller-manager",
    "kube-controller-manager": "kube-controller-manager",
}
GKE_SEVERITY = {
    "DEBUG": "debug", "INFO": "info", "NOTICE": "info", "DEFAULT": "info", "WARNING": "warn",
    "ERROR": "error", "CRITICAL": "fatal", "ALERT": "fatal", "EMERGENCY": "fatal",
}  # fmt: skip
RPC_TO_HTTP = {0: 200, 3: 400, 5: 404, 6: 409, 7: 403, 9: 422, 10: 409, 16: 401, 13: 500}
AKS_CATEGORIES = {
    "kube-apiserver": "kube-apiserver",
    "kube-audit": "audit",
    "kube-audit-admin": "audit",
    "kube-scheduler": "kube-scheduler",
    "kube-controller-manager": "kube-controller-manager",
    "guard": "kube-apiserver",
}
KLOG = re.compile(r"^([IWEF])\d{4} ")
KLOG_LEVEL = {"I": "info", "W": "warn", "E": "error", "F": "fatal"}
LOGFMT_LEVEL = re.compile(r'\blevel="?(\w+)"?')


def _setting(name: str) -> str:
    """Return a string setting (see `mkportal.settings.Settings`)."""
    from mkportal.settings import get_settings

    return str(getattr(get_settings(), name))


def _level(text: str) -> str:
    match = KLOG.match(text)
    if match:
        return KLOG_LEVEL[match.group(1)]
    found = LOGFMT_LEVEL.search(text[:300])
    return found.group(1).lower() if found else "info"


def audit_attrs(event: dict) -> dict:
    """Return the structured attrs of a Kubernetes audit event (verb, user, resource, ...)."""
    ref = event.get("objectRef") or {}
    code = (event.get("responseStatus") or {}).get("code", 0)
    return {
        "auditID": event.get("auditID", ""),
        "stage": event.get("stage", ""),
        "verb": event.get("verb", ""),
        "user": (event.get("user") or {}).get("username", ""),
        "resource": ref.get("resource", ""),
        "namespace": ref.get("namespace", ""),
        "name": ref.get("name", ""),
        "responseStatus": code,
        "sourceIP": (event.get("sourceIPs") or [""])[0],
        "userAgent": event.get("userAgent", ""),
    }


def _line(
    ts: datetime, component: str, message: str, attrs: dict, level: str | None = None
) -> dict:
    if component == "audit" and level is None:
        level = "warn" if int(attrs.get("responseStatus") or 0) >= 400 else "info"
    return {
        "ts": ts.astimezone(UTC).isoformat(),
        "stream": "control-plane",
        "component": component,
        "level": level or _level(message),
        "message": message[:MAX_MESSAGE],
        "attrs": attrs,
    }


def _text_line(ts: datetime, component: str, message: str, attrs: dict) -> dict:
    """Build a line from a raw log text; audit text is a JSON event."""
    if component == "audit":
        try:
            event = json.loads(message)
        except ValueError:
            event = None
        if isinstance(event, dict):
            return _line(ts, component, message, {**attrs, **audit_attrs(event)})
    return _line(ts, component, message, attrs)


def _since(cursor: dict, now: datetime) -> datetime:
    if cursor.get("ts"):
        return datetime.fromisoformat(cursor["ts"])
    return now - FIRST_PULL


def _advance(cursor: dict, ts: datetime, key: str) -> dict:
    """Return the cursor after an entry at `ts` with id `key` (entries come oldest first)."""
    current = datetime.fromisoformat(cursor["ts"]) if cursor.get("ts") else None
    if current is not None and ts == current:
        return {"ts": cursor["ts"], "ids": [*cursor.get("ids", []), key]}
    return {"ts": ts.isoformat(), "ids": [key]}


def _seen(cursor: dict, ts: datetime, key: str) -> bool:
    if not cursor.get("ts"):
        return False
    current = datetime.fromisoformat(cursor["ts"])
    return ts < current or (ts == current and key in cursor.get("ids", []))


def eks_component(stream: str) -> str | None:
    """Return the component of an EKS control-plane log stream (None: not one we keep)."""
    return next((c for prefix, c in EKS_STREAMS if stream.startswith(prefix)), None)


def pull_eks(
    logs,  # noqa: ANN001 - a boto3 client
    ref: str,
    cursor: dict,
    limit: int = MAX_PULL,
    now: datetime | None = None,
) -> tuple[list[dict], dict]:
    """Read new control-plane events of an EKS cluster from CloudWatch Logs.

    Args:
        logs: A boto3 ``logs`` client.
        ref: The EKS cluster name.
        cursor: The stored cursor ({} on the first pull: the last hour).
        limit: The most lines to return.
        now: The current time.

    Returns:
        The lines in the ingest format and the new cursor.

    """
    now = now or utcnow()
    since = _since(cursor, now)
    kwargs = {
        "logGroupName": f"/aws/eks/{ref}/cluster",
        "startTime": int(since.timestamp() * 1000),
        "interleaved": True,
        "limit": min(limit, 10_000),
    }
    lines: list[dict] = []
    while len(lines) < limit:
        try:
            page = logs.filter_log_events(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return [], cursor
            raise
        events = sorted(page.get("events", []), key=lambda e: e["timestamp"])
        for event in events:
            ts = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
            key = event.get("eventId", "")
            component = eks_component(event.get("logStreamName", ""))
            if _seen(cursor, ts, key):
                continue
            cursor = _advance(cursor, ts, key)
            if component is None:
                continue
            attrs = {"source": "cloudwatch", "log_stream": event.get("logStreamName", "")}
            lines.append(_text_line(ts, component, event.get("message", ""), attrs))
            if len(lines) >= limit:
                break
        if not page.get("nextToken") or not events:
            break
        kwargs["nextToken"] = page["nextToken"]
    return lines, cursor


def _gke_ts(value: str) -> datetime:
    value = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    return datetime.fromisoformat(value)


def _gke_entry(entry: dict) -> dict | None:
    resource = entry.get("resource") or {}
    labels = resource.get("labels") or {}
    ts = _gke_ts(entry.get("timestamp") or entry.get("receiveTimestamp"))
    level = GKE_SEVERITY.get(entry.get("severity", "DEFAULT"), "info")
    attrs = {"source": "cloud-logging", "log_name": entry.get("logName", "")}
    proto = entry.get("protoPayload")
    if proto:
        method = proto.get("methodName", "")
        parts = method.split(".")
        path = proto.get("resourceName", "").split("/")
        namespace = path[path.index("namespaces") + 1] if "namespaces" in path[:-1] else ""
        code = int((proto.get("status") or {}).get("code", 0))
        attrs.update(
            verb=parts[-1] if parts else "",
            user=(proto.get("authenticationInfo") or {}).get("principalEmail", ""),
            resource=parts[-2] if len(parts) > 1 else "",
            namespace=namespace,
            name=path[-1] if namespace else "",
            responseStatus=RPC_TO_HTTP.get(code, 500),
        )
        message = f"{method} {proto.get('resourceName', '')}"
        return _line(ts, "audit", message, attrs, "warn" if code else level)
    component = GKE_COMPONENTS.get(labels.get("component_name", ""))
    if component is None:
        return None
    payload = entry.get("jsonPayload")
    message = entry.get("textPayload") or (
        (payload or {}).get("message") or json.dumps(payload or {})
    )
    return _line(ts, component, message, attrs, level)


def pull_gke(
    http: httpx.Client,
    ref: str,
    cursor: dict,
    limit: int = MAX_PULL,
    now: datetime | None = None,
) -> tuple[list[dict], dict]:
    """Read new control-plane and audit entries of a GKE cluster from Cloud Logging.

    Args:
        http: A client whose base URL is the Logging API (headers carry the token).
        ref: The cluster's name ``projects/P/locations/L/clusters/N``.
        cursor: The stored cursor.
        limit: The most lines to return.
        now: The current time.

    Returns:
        The lines in the ingest format and the new cursor.

    """
    now = now or utcnow()
    parts = ref.split("/")
    project, location, name = parts[1], parts[3], parts[5]
    since = _since(cursor, now).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {
        "resourceNames": [f"projects/{project}"],
        "filter": (
            f'resource.labels.cluster_name="{name}" AND resource.labels.location="{location}" '
            f'AND timestamp>="{since}" AND (resource.type="k8s_control_plane_component" OR '
            '(resource.type="k8s_cluster" AND logName:"cloudaudit.googleapis.com"))'
        ),
        "orderBy": "timestamp asc",
        "pageSize": min(limit, 1000),
    }
    lines: list[dict] = []
    while len(lines) < limit:
        answer = http.post("/v2/entries:list", json=body)
        answer.raise_for_status()
        page = answer.json()
        for entry in page.get("entries", []):
            ts = _gke_ts(entry.get("timestamp") or entry.get("receiveTimestamp"))
            key = entry.get("insertId", "")
            if _seen(cursor, ts, key):
                continue
            cursor = _advance(cursor, ts, key)
            line = _gke_entry(entry)
            if line is not None:
                lines.append(line)
            if len(lines) >= limit:
                break
        if not page.get("nextPageToken"):
            break
        body["pageToken"] = page["nextPageToken"]
    return lines, cursor


def pull_aks(
    http: httpx.Client,
    workspace: str,
    resource_id: str,
    cursor: dict,
    limit: int = MAX_PULL,
    now: datetime | None = None,
) -> tuple[list[dict], dict]:
    """Read new control-plane records of an AKS cluster from a Log Analytics workspace.

    Args:
        http: A client whose base URL is the Log Analytics API (headers carry the token).
        workspace: The workspace id the cluster's diagnostic settings write to.
        resource_id: The managed cluster's Azure resource id.
        cursor: The stored cursor.
        limit: The most lines to return.
        now: The current time.

    Returns:
        The lines in the ingest format and the new cursor.

    """
    now = now or utcnow()
    since = _since(cursor, now).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    categories = ", ".join(f'"{c}"' for c in AKS_CATEGORIES)
    query = (
        "AzureDiagnostics"
        f" | where Category in ({categories})"
        f' | where ResourceId =~ "{resource_id}"'
        f" | where TimeGenerated >= datetime({since})"
        " | order by TimeGenerated asc"
        f" | take {limit + len(cursor.get('ids', []))}"
        " | project TimeGenerated, Category, log_s"
    )
    answer = http.post(f"/v1/workspaces/{workspace}/query", json={"query": query})
    answer.raise_for_status()
    table = (answer.json().get("tables") or [{}])[0]
    names = [c["name"] for c in table.get("columns", [])]
    lines: list[dict] = []
    for row in table.get("rows", []):
        record = dict(zip(names, row, strict=False))
        ts = _gke_ts(record["TimeGenerated"])
        text = record.get("log_s") or ""
        key = hashlib.sha1(
            f"{record['TimeGenerated']}|{record['Category']}|{text}".encode()
        ).hexdigest()[:16]  # noqa: S324 - a dedup key
        if _seen(cursor, ts, key):
            continue
        cursor = _advance(cursor, ts, key)
        component = AKS_CATEGORIES.get(record.get("Category", ""))
        if component is not None:
            attrs = {"source": "log-analytics", "category": record.get("Category", "")}
            lines.append(_text_line(ts, component, text, attrs))
        if len(lines) >= limit:
            break
    return lines, cursor


def _eks_client(service: str):  # noqa: ANN202
    from mkportal.services.providers.registry import get_provider

    settings = get_provider("eks").settings
    return boto3.client(
        service,
        region_name=settings.eks_region,
        endpoint_url=settings.eks_endpoint_url or None,
        aws_access_key_id=settings.eks_access_key_id or None,
        aws_secret_access_key=settings.eks_secret_access_key or None,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5),
    )


def enable_eks_logging(ref: str) -> str:
    """Turn on an EKS cluster's control-plane logging to CloudWatch (idempotent).

    Returns:
        "" when done, else a message saying why not (collection still works in-cluster).

    """
    try:
        _eks_client("eks").update_cluster_config(
            name=ref, logging={"clusterLogging": [{"types": EKS_LOG_TYPES, "enabled": True}]}
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if "No changes needed" in error.get("Message", ""):
            return ""
        return f"EKS control-plane logging could not be enabled: {error.get('Message', '')}"
    except BotoCoreError as exc:
        return f"EKS is unreachable: {exc}"
    return ""


def _gke_http() -> httpx.Client:
    from mkportal.services.providers.registry import get_provider

    headers = {}
    creds_file = get_provider("gke").settings.gke_credentials_file
    if creds_file:
        import google.auth.transport.requests
        from google.oauth2 import service_account

        creds = service_account.Credentials.from_service_account_file(
            creds_file, scopes=["https://www.googleapis.com/auth/logging.read"]
        )
        creds.refresh(google.auth.transport.requests.Request())
        headers["Authorization"] = f"Bearer {creds.token}"
    endpoint = _setting("gke_logging_endpoint")
    return httpx.Client(base_url=endpoint, headers=headers, timeout=30)


def _aks_http() -> tuple[httpx.Client, str, str]:
    from mkportal.services.providers.registry import get_provider

    settings = get_provider("aks").settings
    headers = {}
    if settings.aks_tenant_id and settings.aks_client_id:
        from azure.identity import ClientSecretCredential

        credential = ClientSecretCredential(
            settings.aks_tenant_id, settings.aks_client_id, settings.aks_client_secret
        )
        token = credential.get_token("https://api.loganalytics.io/.default").token
        headers["Authorization"] = f"Bearer {token}"
    prefix = (
        f"/subscriptions/{settings.aks_subscription_id}/resourceGroups/"
        f"{settings.aks_resource_group}/providers/Microsoft.ContainerService/managedClusters/"
    )
    endpoint = _setting("aks_log_endpoint")
    return (
        httpx.Client(base_url=endpoint, headers=headers, timeout=30),
        prefix,
        _setting("aks_log_workspace_id"),
    )


def pull_cluster(cluster: Cluster, cursor: dict, now: datetime) -> tuple[list[dict], dict]:
    """Pull one cluster's new control-plane lines from its cloud.

    Returns:
        The lines and the new cursor (unchanged when the cloud has no logs for it).

    """
    if cluster.provider == "eks":
        return pull_eks(_eks_client("logs"), cluster.provider_ref, cursor, now=now)
    if cluster.provider == "gke":
        with _gke_http() as http:
            return pull_gke(http, cluster.provider_ref, cursor, now=now)
    if cluster.provider == "aks":
        http, prefix, workspace = _aks_http()
        if not workspace:
            return [], cursor
        with http:
            return pull_aks(http, workspace, prefix + cluster.provider_ref, cursor, now=now)
    return [], cursor


def pull_all(now: datetime | None = None) -> dict[str, int]:
    """Tick hook: pull control-plane logs of every cloud cluster with collection enabled.

    Returns:
        The lines stored per cluster id. A failing cluster keeps its cursor and gets a
        message on its collection row; the others go on.

    """
    now = now or utcnow()
    with session_scope() as s:
        pairs = s.exec(
            select(LogCollection, Cluster)
            .join(Cluster, Cluster.id == LogCollection.cluster_id)
            .where(
                LogCollection.enabled == True,  # noqa: E712
                col(Cluster.provider).in_(("eks", "gke", "aks")),
                Cluster.status == "running",
                col(Cluster.deleted_at).is_(None),
            )
        ).all()
        work = [(row.cluster_id, dict(row.cursor), cluster) for row, cluster in pairs]
        for _row, cluster in pairs:
            s.expunge(cluster)
    stored: dict[str, int] = {}
    for cluster_id, cursor, cluster in work:
        message = ""
        try:
            lines, cursor = pull_cluster(cluster, cursor, now)
            stored[cluster_id] = ingest_lines(cluster_id, cluster.org_id, lines, now).accepted
        except Exception as exc:  # noqa: BLE001 - one cloud's failure must not stop the others
            log.warning("control-plane log pull for %s failed: %s", cluster_id, exc)
            message = f"Control-plane logs could not be read: {exc}"[:500]
        with session_scope() as s:
            row = s.get(LogCollection, cluster_id)
            if row is not None:
                if not message:
                    row.cursor = cursor
                row.message, row.updated_at = message, utcnow()
                s.add(row)
    return stored


register_tick("logs.cloud_control_plane", pull_all)
