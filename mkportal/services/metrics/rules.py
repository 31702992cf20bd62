"""The Prometheus rule file (SLI recording rules, catalog alerts) and the Alertmanager config.

Both are plain dicts rendered to YAML; `backend.py` writes them under var/metrics/ for the
embedded stack, and an operator running their own stack can load the same files. Every alert
joins `cluster_name`, `service_level` and `priority` from `mk_cluster_info`, carries the
catalog's severity, and links its runbook at `BASE_URL/admin/runbooks/<slug>`.
"""

from __future__ import annotations

import yaml

from mkportal.services.metrics import catalog as c

BY = "org, cluster"
JOIN = (
    f" * on ({BY}) group_left (cluster_name, service_level, priority) "
    f"max by ({BY}, cluster_name, service_level, priority) ({c.CLUSTER_INFO})"
)
SERVER_ERRORS = f'{c.APISERVER_REQUESTS}{{code=~"5.."}}'
CERT_WARNING_SECONDS = 14 * 86400

# name -> (expression before the info join, `for`, description template)
_ALERT_EXPRS: dict[str, tuple[str, str, str]] = {
    "ClusterApiServerDown": (
        f"({c.SLI_AVAILABLE} == 0)",
        "1m",
        "The API server of {{ $labels.cluster_name }} ({{ $labels.cluster }}) has not "
        "answered for at least a minute.",
    ),
    "ClusterApiServerErrorsHigh": (
        f"({c.SLI_ERROR_RATIO} > 0.05)",
        "5m",
        "{{ $value | humanizePercentage }} of API requests of {{ $labels.cluster_name }} "
        "fail with a server error.",
    ),
    "ClusterApiServerLatencyHigh": (
        f"({c.SLI_LATENCY_P99} > 1)",
        "10m",
        "The p99 API latency of {{ $labels.cluster_name }} is {{ $value | humanizeDuration }}.",
    ),
    "ClusterNodeNotReady": (
        f'({c.NODE_READY}{{condition="Ready",status="true"}} == 0)',
        "5m",
        "Node {{ $labels.node }} (pool {{ $labels.pool }}) of {{ $labels.cluster_name }} "
        "is not Ready.",
    ),
    "ClusterCertificateExpiring": (
        f"(({c.CERT_EXPIRY} - time()) < {CERT_WARNING_SECONDS})",
        "1h",
        "Certificate {{ $labels.certificate }} of {{ $labels.cluster_name }} expires in "
        "{{ $value | humanizeDuration }}.",
    ),
    "ClusterBackupStale": (
        f"((time() - {c.BACKUP_LAST_SUCCESS}) > {c.BACKUP_MAX_AGE})",
        "15m",
        "The newest successful backup of {{ $labels.cluster_name }} is "
        "{{ $value | humanizeDuration }} old.",
    ),
}


def recording_rules() -> list[dict]:
    """Return the SLI recording rules (one series per org and cluster)."""
    total = f"sum by ({BY}) (rate({c.APISERVER_REQUESTS}[5m]))"
    errors = f"sum by ({BY}) (rate({SERVER_ERRORS}[5m]))"
    return [
        {"record": c.SLI_AVAILABLE, "expr": f"max by ({BY}) ({c.APISERVER_UP})"},
        {"record": c.SLI_ERROR_RATIO, "expr": f"({errors} or {total} * 0) / {total}"},
        {
            "record": c.SLI_LATENCY_P99,
            "expr": f"histogram_quantile(0.99, sum by ({BY}, le) "
            f"(rate({c.APISERVER_LATENCY}_bucket[5m])))",
        },
        {
            "record": c.SLI_NODES_NOT_READY,
            "expr": f'sum by ({BY}) ({c.NODE_READY}{{condition="Ready",status="true"}} == bool 0)',
        },
    ]


def runbook_url(base_url: str, slug: str) -> str:
    """Return the portal URL of a runbook."""
    return f"{base_url.rstrip('/')}/admin/runbooks/{slug}"


def alert_rules(base_url: str, *, alert_for: str | None = None) -> list[dict]:
    """Return one alerting rule per `catalog.ALERTS` entry.

    Args:
        base_url: The portal's public URL (for runbook links).
        alert_for: Override every rule's `for` duration (tests use "0s"); None keeps them.
    """
    rules = []
    for spec in c.ALERTS:
        expr, for_, description = _ALERT_EXPRS[spec.name]
        rules.append(
            {
                "alert": spec.name,
                "expr": expr + JOIN,
                "for": alert_for if alert_for is not None else for_,
                "labels": {"severity": spec.severity, "runbook": spec.runbook},
                "annotations": {
                    "summary": spec.summary,
                    "description": description,
                    "runbook_url": runbook_url(base_url, spec.runbook),
                },
            }
        )
    return rules


def rule_file(base_url: str, *, interval: str | None = None, alert_for: str | None = None) -> str:
    """Return the Prometheus rule file as YAML.

    Args:
        base_url: The portal's public URL (for runbook links).
        interval: Evaluation interval of both groups; None uses the global one.
        alert_for: Override of every alert's `for` (see `alert_rules`).
    """
    extra = {"interval": interval} if interval else {}
    groups = [
        {"name": "mkportal-sli", **extra, "rules": recording_rules()},
        {"name": "mkportal-alerts", **extra, "rules": alert_rules(base_url, alert_for=alert_for)},
    ]
    return yaml.safe_dump({"groups": groups}, sort_keys=False, width=1000)


# priority -> (group_wait, group_interval, repeat_interval)
ROUTE_TIMING = {
    "P1": ("10s", "1m", "1h"),
    "P2": ("30s", "5m", "4h"),
    "P3": ("1m", "10m", "12h"),
}


def alertmanager_config(webhook_url: str, secret: str, *, fast: bool = False) -> str:
    """Return the Alertmanager config as YAML: routes by priority to the portal's webhook.

    Args:
        webhook_url: The portal's Alertmanager webhook URL.
        secret: The shared secret sent as `Authorization: Bearer <secret>`.
        fast: Use 1 s group waits and intervals (tests).
    """
    routes = []
    for priority, (wait, interval, repeat) in ROUTE_TIMING.items():
        routes.append(
            {
                "matchers": [f'priority="{priority}"'],
                "group_wait": "1s" if fast else wait,
                "group_interval": "1s" if fast else interval,
                "repeat_interval": repeat,
            }
        )
    config = {
        "route": {
            "receiver": "portal",
            "group_by": ["alertname", "org", "cluster"],
            "group_wait": "1s" if fast else "30s",
            "group_interval": "1s" if fast else "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "receivers": [
            {
                "name": "portal",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "max_alerts": 0,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": secret}},
                    }
                ],
            }
        ],
    }
    return yaml.safe_dump(config, sort_keys=False, width=1000)
