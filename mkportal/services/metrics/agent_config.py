"""The Prometheus agent configuration a cluster's metrics agent runs with.

Pod discovery on the agent's own node (the DaemonSet replaces `__NODE_NAME__` at start)
honouring the `prometheus.io/scrape`, `prometheus.io/port` and `prometheus.io/path`
annotations, an optional namespace filter, `org`/`cluster` labels on every series, and
`remote_write` to the portal with the cluster's ingest token (which forces those labels
again on its side, see remote_write.py).
"""

from __future__ import annotations

import yaml

TOKEN_FILE = "/etc/mkportal/token"


def _force(label: str, value: str) -> dict:
    return {"target_label": label, "replacement": value, "action": "replace"}


def agent_config(org_id: str, cluster_id: str, namespaces: list[str] | None, write_url: str) -> str:
    """Return the Prometheus agent configuration (YAML) for one cluster.

    Args:
        org_id: The cluster's organisation (the `org` label of every series).
        cluster_id: The cluster (the `cluster` label).
        namespaces: Scrape only pods of these namespaces (None or empty: every namespace).
        write_url: The remote-write endpoint.

    Returns:
        The text of `prometheus.yml`; `__NODE_NAME__` is replaced by the agent at start.

    """
    namespaces = sorted(set(namespaces or []))
    sd: dict = {
        "role": "pod",
        "selectors": [{"role": "pod", "field": "spec.nodeName=__NODE_NAME__"}],
    }
    if namespaces:
        sd["namespaces"] = {"names": namespaces}
    relabel = [
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
            "regex": "true",
            "action": "keep",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_phase"],
            "regex": "Pending|Succeeded|Failed",
            "action": "drop",
        },
        {
            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
            "regex": "(.+)",
            "target_label": "__metrics_path__",
            "action": "replace",
        },
        {
            "source_labels": [
                "__address__",
                "__meta_kubernetes_pod_annotation_prometheus_io_port",
            ],
            "regex": "([^:]+)(?::\\d+)?;(\\d+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
            "action": "replace",
        },
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_pod_label_app"], "target_label": "app"},
        _force("org", org_id),
        _force("cluster", cluster_id),
    ]
    config = {
        "global": {
            "scrape_interval": "30s",
            "external_labels": {"org": org_id, "cluster": cluster_id},
        },
        "scrape_configs": [
            {
                "job_name": "kubernetes-pods",
                "honor_labels": False,
                "kubernetes_sd_configs": [sd],
                "relabel_configs": relabel,
                "metric_relabel_configs": [_force("org", org_id), _force("cluster", cluster_id)],
            }
        ],
        "remote_write": [
            {
                "url": write_url,
                "authorization": {"type": "Bearer", "credentials_file": TOKEN_FILE},
                "write_relabel_configs": [_force("org", org_id), _force("cluster", cluster_id)],
            }
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)
