"""The metrics contract: series names and labels, SLI recording rules, predefined alerts.

Every series the portal reads carries `org` (organisation id) and `cluster` (cluster id)
labels; namespaced series also carry `namespace`. The sandbox exporter produces the raw
series below for sandbox clusters; on real clusters the metrics agent produces the same
names (kube-state-metrics, the API server, node exporter) with the cluster's labels set
as external labels. `mk_cluster_info` comes from the portal's own database for every
cluster, so alerts can join the service level and priority onto any series.
"""

from __future__ import annotations

from dataclasses import dataclass

# Raw series (see module docstring).
CLUSTER_INFO = (
    "mk_cluster_info"  # {org, cluster, cluster_name, provider, service_level, priority, version} 1
)
APISERVER_UP = "mk_apiserver_up"  # {org, cluster} 0|1
APISERVER_REQUESTS = "apiserver_request_total"  # counter {org, cluster, verb, code}
APISERVER_LATENCY = "apiserver_request_duration_seconds"  # histogram {org, cluster, le}
NODE_READY = "kube_node_status_condition"  # {org, cluster, node, pool, condition="Ready", status}
NODE_CPU = "node_cpu_utilisation_ratio"  # {org, cluster, node, pool} 0..1
NODE_MEMORY = "node_memory_utilisation_ratio"  # {org, cluster, node, pool} 0..1
PODS = "mk_pods"  # {org, cluster, namespace, phase}
CERT_EXPIRY = "mk_certificate_expiry_timestamp_seconds"  # {org, cluster, certificate}
BACKUP_LAST_SUCCESS = "mk_backup_last_success_timestamp_seconds"  # {org, cluster}
BACKUP_MAX_AGE = "mk_backup_max_age_seconds"  # {org, cluster}: what the schedules allow
APP_REQUESTS = "http_requests_total"  # counter {org, cluster, namespace, app, code}
APP_LATENCY = "http_request_duration_seconds"  # histogram {org, cluster, namespace, app, le}
APP_MEMORY = "process_resident_memory_bytes"  # {org, cluster, namespace, app}

# Recording rules (SLIs), one series per {org, cluster}.
SLI_AVAILABLE = "cluster:apiserver_available:bool"  # 1 when the API answers, else 0
SLI_ERROR_RATIO = "cluster:apiserver_error_ratio:rate5m"  # 5xx / all requests
SLI_LATENCY_P99 = "cluster:apiserver_latency_seconds:p99_5m"
SLI_NODES_NOT_READY = "cluster:nodes_not_ready:count"

PRIORITIES = ("P1", "P2", "P3")


def priority_for(availability_target: float | None) -> str:
    """Return the alert priority of a service level (by its availability target).

    P1 for 99.9 % and above (premium), P2 for 99.5 % and above, else P3.
    """
    if availability_target is None:
        return "P3"
    if availability_target >= 99.9:
        return "P1"
    if availability_target >= 99.5:
        return "P2"
    return "P3"


@dataclass(frozen=True)
class AlertSpec:
    """A predefined SLI alert; its runbook is `mkportal/runbooks/<runbook>.md`."""

    name: str
    runbook: str
    severity: str
    summary: str


ALERTS: tuple[AlertSpec, ...] = (
    AlertSpec("ClusterApiServerDown", "cluster-api-server-down", "critical",
              "The Kubernetes API of a cluster does not answer."),
    AlertSpec("ClusterApiServerErrorsHigh", "cluster-api-server-errors-high", "warning",
              "More than 5 % of API requests fail with a server error."),
    AlertSpec("ClusterApiServerLatencyHigh", "cluster-api-server-latency-high", "warning",
              "The 99th percentile API latency is above 1 second."),
    AlertSpec("ClusterNodeNotReady", "cluster-node-not-ready", "warning",
              "A node has not been Ready for 5 minutes."),
    AlertSpec("ClusterCertificateExpiring", "cluster-certificate-expiring", "warning",
              "A cluster certificate expires within 14 days."),
    AlertSpec("ClusterBackupStale", "cluster-backup-stale", "warning",
              "The newest successful backup is older than its schedule allows."),
)  # fmt: skip
ALERTS_BY_NAME = {a.name: a for a in ALERTS}
ALERTS_BY_RUNBOOK = {a.runbook: a for a in ALERTS}
