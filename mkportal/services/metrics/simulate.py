"""The sandbox exporter: closed-form, deterministic series for the catalog's raw metrics.

Every value is a pure function of the database and the time, so two processes (or one
restarted) expose the same numbers. Gauges are smooth daily/10-minute waves; counters are
integrals of a non-negative rate from the cluster's start (`ready_at`), computed piecewise
over the fault timeline (`faults.timeline`), so they never go down. Histograms split each
segment's requests into buckets by an exponential latency distribution.

`mk_cluster_info` is exposed for every cluster that is not deleted, of every provider.
App series exist for sandbox Deployments in namespaces with metrics collection enabled.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, select

from mkportal.models.cluster import Cluster
from mkportal.models.metrics import MetricsCollection
from mkportal.models.sandbox import SandboxCluster, SandboxNode, SandboxObject
from mkportal.models.service_level import ServiceLevel
from mkportal.services.backup.freshness import allowed_for, newest_good_at
from mkportal.services.metrics import catalog as c
from mkportal.services.metrics.faults import Segment, timeline

DAY = 86400.0
# Allowed backup age for a cluster without schedules whose backups an operator froze.
DEFAULT_BACKUP_MAX_AGE = 26 * 3600.0
W_DAY = 2 * math.pi / DAY
VERBS = {"get": 6.0, "list": 2.0, "watch": 0.5, "create": 0.4, "update": 0.8, "delete": 0.1}
NOT_FOUND_SHARE = 0.02
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
APP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LN100 = math.log(100)


def ts(dt: datetime) -> float:
    """Return unix seconds of a datetime (naive values are UTC, as SQLite returns them)."""
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def phase(*parts: str) -> float:
    """Return a stable phase in [0, 2π) for a series identity."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 * 2 * math.pi


def wave(t: float, ph: float, base: float, amp: float) -> float:
    """Return a gauge value: base + daily wave + 10-minute wobble, clamped to [0, 1]."""
    v = base + amp * math.sin(W_DAY * t + ph) + amp / 4 * math.sin(2 * math.pi * t / 600 + 2 * ph)
    return min(1.0, max(0.0, v))


def rate_integral(base: float, ph: float, a: float, b: float) -> float:
    """∫_a^b base·(1 + 0.3·sin(ω s + ph)) ds: requests of a daily-varying rate."""
    if b <= a:
        return 0.0
    return base * ((b - a) + 0.3 / W_DAY * (math.cos(W_DAY * a + ph) - math.cos(W_DAY * b + ph)))


def exp_cdf(le: float, mean: float) -> float:
    """Share of requests faster than `le` for exponential latency with `mean`."""
    return 1.0 - math.exp(-le / mean)


@dataclass
class Family:
    """One metric family of the exposition."""

    name: str
    type: str
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def add(self, labels: dict[str, str], value: float, suffix: str = "") -> None:
        """Append a sample (`suffix` such as "_bucket" for histogram parts)."""
        self.samples.append((suffix, labels, value))


def _families() -> dict[str, Family]:
    specs = [
        (c.CLUSTER_INFO, "gauge", "Cluster metadata from the portal (always 1)."),
        (c.APISERVER_UP, "gauge", "1 when the Kubernetes API answers."),
        (c.APISERVER_REQUESTS, "counter", "API requests by verb and code."),
        (c.APISERVER_LATENCY, "histogram", "API request latency."),
        (c.NODE_READY, "gauge", "Node conditions."),
        (c.NODE_CPU, "gauge", "Node CPU utilisation (0..1)."),
        (c.NODE_MEMORY, "gauge", "Node memory utilisation (0..1)."),
        (c.PODS, "gauge", "Pods by namespace and phase."),
        (c.CERT_EXPIRY, "gauge", "Certificate expiry (unix time)."),
        (c.BACKUP_LAST_SUCCESS, "gauge", "Newest successful backup (unix time)."),
        (c.BACKUP_MAX_AGE, "gauge", "How old the newest backup may be under the schedules."),
        (c.APP_REQUESTS, "counter", "Application HTTP requests."),
        (c.APP_LATENCY, "histogram", "Application HTTP request latency."),
        (c.APP_MEMORY, "gauge", "Application resident memory."),
    ]
    return {name: Family(name, kind, text) for name, kind, text in specs}


def _api_series(fams: dict[str, Family], base: dict[str, str], segs: list[Segment], t: float):
    ph = phase(base["cluster"], "api")
    for verb, rate in VERBS.items():
        counts = {"200": 0.0, "404": 0.0, "500": 0.0}
        for seg in segs:
            n = rate_integral(rate, ph, seg.start, min(seg.end or t, t)) * (0 if seg.down else 1)
            counts["500"] += n * seg.error_ratio
            counts["404"] += n * NOT_FOUND_SHARE
            counts["200"] += n * (1 - seg.error_ratio - NOT_FOUND_SHARE)
        for code, value in counts.items():
            fams[c.APISERVER_REQUESTS].add({**base, "verb": verb, "code": code}, value)
    buckets = dict.fromkeys(BUCKETS, 0.0)
    total = total_sum = 0.0
    for seg in segs:
        n = (
            0.0
            if seg.down
            else rate_integral(sum(VERBS.values()), ph, seg.start, min(seg.end or t, t))
        )
        mean = (seg.latency_seconds or 0.25) / LN100
        for le in BUCKETS:
            buckets[le] += n * exp_cdf(le, mean)
        total += n
        total_sum += n * mean
    fam = fams[c.APISERVER_LATENCY]
    for le, value in buckets.items():
        fam.add({**base, "le": f"{le:g}"}, value, "_bucket")
    fam.add({**base, "le": "+Inf"}, total, "_bucket")
    fam.add(base, total_sum, "_sum")
    fam.add(base, total, "_count")


def _node_series(fams, base, nodes: list[SandboxNode], not_ready: int, t: float) -> int:
    ready_count = 0
    for i, node in enumerate(sorted(nodes, key=lambda n: n.name)):
        lbl = {**base, "node": node.name, "pool": node.pool}
        up = node.status in ("ready", "draining") or (
            node.status == "provisioning" and ts(node.ready_at) <= t
        )
        ready = up and i >= not_ready
        ready_count += ready
        for status in ("true", "false", "unknown"):
            value = float((status == "true") == ready) if status != "unknown" else 0.0
            fams[c.NODE_READY].add({**lbl, "condition": "Ready", "status": status}, value)
        ph = phase(node.id, "node")
        fams[c.NODE_CPU].add(lbl, wave(t, ph, 0.35, 0.2) if ready else 0.0)
        fams[c.NODE_MEMORY].add(lbl, wave(t, ph + 1, 0.55, 0.1) if ready else 0.0)
    return ready_count


def _pod_series(fams, base, objects: list[SandboxObject], ready_nodes: int) -> None:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    counts[("kube-system", "Running")] = 2 + 2 * ready_nodes
    for obj in objects:
        if obj.kind == "Pod":
            status = json.loads(obj.body).get("status", {})
            counts[(obj.namespace, status.get("phase", "Pending"))] += 1
    for (namespace, phase_), n in sorted(counts.items()):
        fams[c.PODS].add({**base, "namespace": namespace, "phase": phase_}, float(n))


def _app_series(fams, base, deployments: list[SandboxObject], t: float) -> None:
    for dep in deployments:
        lbl = {**base, "namespace": dep.namespace, "app": dep.name}
        start = ts(dep.created_at)
        ph = phase(base["cluster"], dep.namespace, dep.name)
        replicas = max(1, int(json.loads(dep.body).get("spec", {}).get("replicas", 1) or 0))
        n = rate_integral(2.0 * replicas, ph, start, t)
        fams[c.APP_REQUESTS].add({**lbl, "code": "200"}, n * 0.99)
        fams[c.APP_REQUESTS].add({**lbl, "code": "500"}, n * 0.01)
        mean = 0.04 + 0.03 * (ph / (2 * math.pi))
        for le in APP_BUCKETS:
            fams[c.APP_LATENCY].add({**lbl, "le": f"{le:g}"}, n * exp_cdf(le, mean), "_bucket")
        fams[c.APP_LATENCY].add({**lbl, "le": "+Inf"}, n, "_bucket")
        fams[c.APP_LATENCY].add(lbl, n * mean, "_sum")
        fams[c.APP_LATENCY].add(lbl, n, "_count")
        memory = 64e6 * replicas * (1 + 0.5 * wave(t, ph, 0.5, 0.3))
        fams[c.APP_MEMORY].add(lbl, round(memory))


def _in_scope(namespace: str, collection: MetricsCollection | None) -> bool:
    return (
        collection is not None
        and collection.enabled
        and (not collection.namespaces or namespace in collection.namespaces)
    )


def _sandbox(fams, s: Session, cluster: Cluster, sb: SandboxCluster, t: float) -> None:
    base = {"org": cluster.org_id, "cluster": cluster.id}
    faults = sb.faults or {}
    segs = timeline(faults, ts(sb.ready_at))
    fams[c.APISERVER_UP].add(base, 0.0 if faults.get("api_down") else 1.0)
    _api_series(fams, base, segs, t)
    nodes = s.exec(
        select(SandboxNode).where(SandboxNode.ref == sb.ref, SandboxNode.delete_at.is_(None))
    ).all()
    ready = _node_series(fams, base, list(nodes), int(faults.get("nodes_not_ready", 0)), t)
    objects = s.exec(
        select(SandboxObject).where(
            SandboxObject.ref == sb.ref, SandboxObject.kind.in_(("Pod", "Deployment"))
        )
    ).all()
    _pod_series(fams, base, list(objects), ready)
    start = ts(sb.ready_at)
    expiry = faults.get("cert_expiry_at") or start + 365 * DAY
    for cert in ("apiserver", "etcd", "front-proxy"):
        fams[c.CERT_EXPIRY].add({**base, "certificate": cert}, float(expiry))
    newest = newest_good_at(s, cluster.id, datetime.fromtimestamp(t, UTC))
    last_backup = faults.get("backup_frozen_at") or (ts(newest) if newest else start)
    fams[c.BACKUP_LAST_SUCCESS].add(base, float(last_backup))
    allowed = allowed_for(s, cluster, datetime.fromtimestamp(t, UTC))
    if allowed is not None or faults.get("backup_frozen_at"):
        max_age = allowed.total_seconds() if allowed else DEFAULT_BACKUP_MAX_AGE
        fams[c.BACKUP_MAX_AGE].add(base, max_age)
    collection = s.get(MetricsCollection, cluster.id)
    deployments = [
        o for o in objects if o.kind == "Deployment" and _in_scope(o.namespace, collection)
    ]
    _app_series(fams, base, deployments, t)


def _running(sb: SandboxCluster | None, t: float) -> bool:
    return sb is not None and (
        sb.status == "running" or (sb.status == "creating" and ts(sb.ready_at) <= t)
    )


def collect(s: Session, now: datetime) -> list[Family]:
    """Return every metric family at `now` (sessions are read only; nothing is written)."""
    t = ts(now)
    fams = _families()
    levels = {sl.slug: sl for sl in s.exec(select(ServiceLevel)).all()}
    clusters = s.exec(select(Cluster).where(Cluster.deleted_at.is_(None))).all()
    for cluster in sorted(clusters, key=lambda x: x.id):
        level = levels.get(cluster.service_level)
        fams[c.CLUSTER_INFO].add(
            {
                "org": cluster.org_id,
                "cluster": cluster.id,
                "cluster_name": cluster.name,
                "provider": cluster.provider,
                "service_level": cluster.service_level,
                "priority": c.priority_for(level.availability_target if level else None),
                "version": cluster.current_version or cluster.version,
            },
            1.0,
        )
        if cluster.provider == "sandbox" and cluster.provider_ref:
            sb = s.get(SandboxCluster, cluster.provider_ref)
            if _running(sb, t):
                _sandbox(fams, s, cluster, sb, t)
    return list(fams.values())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ("+Inf" if value > 0 else "NaN")


def render(families: list[Family]) -> str:
    """Render families in the Prometheus text exposition format 0.0.4."""
    lines = []
    for fam in families:
        if not fam.samples:
            continue
        lines.append(f"# HELP {fam.name} {fam.help}")
        lines.append(f"# TYPE {fam.name} {fam.type}")
        for suffix, labels, value in fam.samples:
            body = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
            lines.append(f"{fam.name}{suffix}{{{body}}} {_num(value)}")
    return "\n".join(lines) + "\n"


def exposition(now: datetime) -> str:
    """Return the exporter's scrape body at `now` in the Prometheus text format."""
    from mkportal.db import session_scope

    with session_scope() as s:
        families = collect(s, now)
        s.rollback()
    return render(families)
