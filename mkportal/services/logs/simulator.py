"""Simulated logs of sandbox clusters: workloads and control-plane components.

On every tick each running sandbox cluster gets the lines it would have produced since
the last tick, at `SANDBOX_LOG_RATE` application lines per second (default 2) and half as
many control-plane lines, capped per tick. Application lines come only from clusters with
collection enabled, from their real pods (the sandbox API's Pod objects) in the chosen
namespaces: nginx-style access lines for nginx images, JSON logs with levels otherwise,
now and then a warning, an error or a stack trace. Control-plane lines (kube-apiserver,
its audit events with structured attrs, kube-scheduler, kube-controller-manager) come for
every running sandbox cluster. Everything is written through the ingest path, and is
deterministic for a given seed.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.log_collection import LogCollection
from mkportal.models.sandbox import SandboxNode, SandboxObject
from mkportal.services.errors import ServiceError
from mkportal.services.logs.collection import ingest_lines
from mkportal.settings import get_settings
from mkportal.worker.tick import register_tick

log = logging.getLogger(__name__)

DEFAULT_RATE = 2.0
MAX_LINES_PER_CLUSTER = 600
MAX_LINES_PER_TICK = 5000
MAX_GAP_SECONDS = 600.0
PATHS = (
    "/",
    "/api/items",
    "/api/items/42",
    "/api/cart",
    "/healthz",
    "/static/app.js",
    "/api/orders",
    "/login",
    "/api/search?q=shoes",
    "/favicon.ico",
)
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0",
    "kube-probe/1.35",
    "curl/8.5.0",
    "Go-http-client/1.1",
)
MESSAGES = (
    ("info", "request handled", {"route": "/api/items", "duration_ms": 0}),
    ("info", "order created", {"order_id": 0, "items": 0}),
    ("info", "cache refreshed", {"keys": 0}),
    ("debug", "db query", {"table": "orders", "rows": 0, "duration_ms": 0}),
    ("warn", "slow query", {"table": "orders", "duration_ms": 0}),
    ("warn", "retrying upstream call", {"upstream": "payments", "attempt": 0}),
    ("error", "upstream call failed", {"upstream": "payments", "status": 503}),
)
TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/app/service/orders.py", line 88, in create_order\n'
    "    payment = payments.charge(order.total)\n"
    '  File "/app/service/payments.py", line 41, in charge\n'
    "    raise UpstreamError(resp.status_code)\n"
    "service.payments.UpstreamError: 503"
)
USERS = (
    "system:serviceaccount:kube-system:replicaset-controller",
    "system:kube-scheduler",
    "system:node:{node}",
    "kubernetes-admin",
    "system:serviceaccount:kube-system:deployment-controller",
)
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
RESOURCES = ("pods", "deployments", "services", "configmaps", "secrets", "events", "leases")


@dataclass(frozen=True)
class PodInfo:
    """A running pod of a sandbox cluster, as the simulator uses it."""

    namespace: str
    name: str
    node: str
    containers: tuple[tuple[str, str], ...]  # (name, image)


def log_rate() -> float:
    """Return the application lines per second per cluster (`SANDBOX_LOG_RATE`)."""
    return max(0.0, get_settings().sandbox_log_rate)


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _klog(level: str, ts: datetime, source: str, text: str) -> str:
    return f"{level}{ts:%m%d %H:%M:%S.%f}       1 {source}] {text}"


def _access_line(rng: random.Random, pod: PodInfo, container: str, ts: datetime) -> dict:
    status = rng.choices(
        (200, 201, 204, 301, 304, 404, 429, 500, 502), (60, 6, 4, 3, 8, 9, 3, 4, 3)
    )[0]
    method = rng.choices(("GET", "POST", "PUT", "DELETE"), (80, 12, 5, 3))[0]
    path, size = rng.choice(PATHS), rng.randint(0, 48_000) if status < 400 else rng.randint(0, 600)
    remote, agent = f"10.244.{rng.randint(0, 7)}.{rng.randint(2, 250)}", rng.choice(AGENTS)
    duration = round(rng.lognormvariate(-4.0, 1.0), 3)
    level = "error" if status >= 500 else "warn" if status >= 400 else "info"
    message = (
        f'{remote} - - [{ts:%d/%b/%Y:%H:%M:%S} +0000] "{method} {path} HTTP/1.1" {status} {size} '
        f'"-" "{agent}" rt={duration}'
    )
    attrs = {
        "method": method,
        "path": path,
        "status": status,
        "bytes": size,
        "remote_addr": remote,
        "duration_s": duration,
        "stream": "stdout",
    }
    return _app(pod, container, ts, level, message, attrs)


def _json_line(rng: random.Random, pod: PodInfo, container: str, ts: datetime) -> dict:
    level, msg, template = rng.choices(MESSAGES, (30, 15, 8, 20, 6, 5, 3))[0]
    fields = {k: rng.randint(1, 9999) if v == 0 else v for k, v in template.items()}
    record = {"ts": _iso(ts), "level": level, "msg": msg, "logger": container, **fields}
    if level == "error" and rng.random() < 0.5:
        record["stacktrace"] = TRACE
    message = json.dumps(record)
    if "stacktrace" in record:
        message = f"{message}\n{TRACE}"
    attrs = {
        **{k: v for k, v in record.items() if k not in ("ts", "stacktrace")},
        "stream": "stderr" if level == "error" else "stdout",
    }
    return _app(pod, container, ts, level, message, attrs)


def _app(pod: PodInfo, container: str, ts: datetime, level: str, msg: str, attrs: dict) -> dict:
    return {
        "ts": _iso(ts),
        "stream": "app",
        "level": level,
        "message": msg,
        "namespace": pod.namespace,
        "pod": pod.name,
        "container": container,
        "attrs": attrs,
    }


def app_lines(rng: random.Random, pods: list[PodInfo], times: list[datetime]) -> list[dict]:
    """Return one application line per timestamp, from randomly chosen pods' containers."""
    lines = []
    for ts in times:
        pod = rng.choice(pods)
        container, image = rng.choice(pod.containers)
        make = _access_line if "nginx" in image or "ingress" in image else _json_line
        lines.append(make(rng, pod, container, ts))
    return lines


def _cp(component: str, ts: datetime, level: str, message: str, attrs: dict) -> dict:
    return {
        "ts": _iso(ts),
        "stream": "control-plane",
        "component": component,
        "level": level,
        "message": message,
        "attrs": attrs,
    }


def _audit(rng: random.Random, pods: list[PodInfo], nodes: list[str], ts: datetime) -> dict:
    pod = rng.choice(pods) if pods else None
    namespace = pod.namespace if pod else rng.choice(("default", "kube-system"))
    verb, resource = rng.choice(VERBS), rng.choice(RESOURCES)
    user = rng.choice(USERS).format(node=rng.choice(nodes) if nodes else "node-1")
    code = rng.choices((200, 201, 403, 404, 409, 422), (80, 8, 3, 5, 2, 2))[0]
    if verb == "create" and code == 200:
        code = 201
    name = pod.name if pod and resource == "pods" else ""
    attrs = {
        "kind": "Event",
        "level": "Metadata",
        "stage": "ResponseComplete",
        "auditID": f"{rng.getrandbits(128):032x}",
        "verb": verb,
        "user": user,
        "resource": resource,
        "namespace": namespace,
        "name": name,
        "responseStatus": code,
        "sourceIP": f"10.0.{rng.randint(0, 3)}.{rng.randint(2, 250)}",
        "userAgent": rng.choice(
            (
                "kubectl/v1.35.0",
                "kube-controller-manager/v1.35.0",
                "kube-scheduler/v1.35.0",
                "kubelet/v1.35.0",
            )
        ),
    }
    target = f"{resource}/{name}" if name else resource
    message = f"audit: {user} {verb} {target} in namespace {namespace}: {code}"
    return _cp("audit", ts, "warn" if code >= 400 else "info", message, attrs)


def _apiserver(rng: random.Random, pod_key: str) -> tuple:
    code = rng.choices((200, 201, 404, 500), (85, 8, 6, 1))[0]
    ms = round(rng.lognormvariate(1.0, 0.8), 1)
    uri = f"/api/v1/namespaces/{pod_key.split('/')[0]}/pods"
    verb = rng.choice(("GET", "LIST", "WATCH", "POST"))
    text = f'"HTTP" verb="{verb}" URI="{uri}" latency="{ms}ms" resp={code}'
    attrs = {"uri": uri, "resp": code, "latency_ms": ms}
    return "kube-apiserver", "error" if code >= 500 else "info", "httplog.go:134", text, attrs


def _scheduler(rng: random.Random, pod_key: str, nodes: list[str]) -> tuple:
    if rng.random() < 0.08:
        text = (
            f'"Unable to schedule pod; no fit; waiting" pod="{pod_key}" '
            'err="0/2 nodes are available: 2 Insufficient cpu."'
        )
        return "kube-scheduler", "warn", "schedule_one.go:1055", text, {"pod": pod_key}
    node = rng.choice(nodes) if nodes else "node-1"
    text = (
        f'"Successfully bound pod to node" pod="{pod_key}" node="{node}" '
        f"evaluatedNodes={max(1, len(nodes))}"
    )
    return "kube-scheduler", "info", "schedule_one.go:314", text, {"pod": pod_key, "node": node}


def _controller(rng: random.Random, pod_key: str) -> tuple:
    if rng.random() < 0.06:
        text = f'"Failed to update lease" err="context deadline exceeded" key="{pod_key}"'
        return "kube-controller-manager", "error", "leaderelection.go:429", text, {"key": pod_key}
    kind = rng.choice(("ReplicaSet", "Deployment", "EndpointSlice", "DaemonSet"))
    took = round(rng.random() * 3, 3)
    text = f'"Finished syncing" kind="{kind}" key="{pod_key}" duration="{took}ms"'
    attrs = {"kind": kind, "key": pod_key}
    return "kube-controller-manager", "info", "replica_set.go:679", text, attrs


def control_plane_lines(
    rng: random.Random, pods: list[PodInfo], nodes: list[str], times: list[datetime]
) -> list[dict]:
    """Return one control-plane line per timestamp (apiserver, audit, scheduler, controllers)."""
    lines = []
    for ts in times:
        pick = rng.choices(("apiserver", "audit", "scheduler", "controller"), (30, 40, 12, 18))[0]
        pod = rng.choice(pods) if pods else None
        pod_key = f"{pod.namespace}/{pod.name}" if pod else "default/web-0"
        if pick == "audit":
            lines.append(_audit(rng, pods, nodes, ts))
            continue
        if pick == "apiserver":
            component, level, source, text, attrs = _apiserver(rng, pod_key)
        elif pick == "scheduler":
            component, level, source, text, attrs = _scheduler(rng, pod_key, nodes)
        else:
            component, level, source, text, attrs = _controller(rng, pod_key)
        message = _klog(level[0].upper(), ts, source, text)
        lines.append(_cp(component, ts, level, message, attrs))
    return lines


def _pods(ref: str, namespaces: list[str] | None) -> list[PodInfo]:
    with session_scope() as s:
        query = select(SandboxObject).where(SandboxObject.ref == ref, SandboxObject.kind == "Pod")
        if namespaces:
            query = query.where(col(SandboxObject.namespace).in_(namespaces))
        rows = s.exec(query).all()
        found = []
        for row in rows:
            body = json.loads(row.body)
            if body.get("status", {}).get("phase", "Running") != "Running":
                continue
            spec = body.get("spec", {})
            containers = tuple(
                (c.get("name", "main"), c.get("image", "")) for c in spec.get("containers", [])
            )
            if containers:
                found.append(PodInfo(row.namespace, row.name, spec.get("nodeName", ""), containers))
        return sorted(found, key=lambda p: (p.namespace, p.name))


def _nodes(ref: str) -> list[str]:
    with session_scope() as s:
        rows = s.exec(
            select(SandboxNode.name).where(SandboxNode.ref == ref, SandboxNode.status == "ready")
        ).all()
        return sorted(rows)


def _times(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    span = max(0.0, (end - start).total_seconds())
    return sorted(start + timedelta(seconds=rng.random() * span) for _ in range(count))


def _count(rng: random.Random, expected: float, cap: int) -> int:
    whole = int(expected)
    return min(cap, whole + (1 if rng.random() < expected - whole else 0))


def simulate_cluster(
    cluster: Cluster, row: LogCollection | None, start: datetime, end: datetime, rng: random.Random
) -> list[dict]:
    """Return the lines a sandbox cluster produced in [start, end), capped per cluster."""
    seconds = min(MAX_GAP_SECONDS, max(0.0, (end - start).total_seconds()))
    start = end - timedelta(seconds=seconds)
    rate = log_rate()
    enabled = row is not None and row.enabled
    pods_all = _pods(cluster.provider_ref, None)
    nodes = _nodes(cluster.provider_ref)
    lines: list[dict] = []
    if enabled:
        pods = [p for p in pods_all if not row.namespaces or p.namespace in row.namespaces]
        if pods:
            count = _count(rng, rate * seconds, MAX_LINES_PER_CLUSTER)
            lines += app_lines(rng, pods, _times(rng, start, end, count))
    room = MAX_LINES_PER_CLUSTER - len(lines)
    count = _count(rng, rate * seconds / 2, min(room, MAX_LINES_PER_CLUSTER // 2))
    lines += control_plane_lines(rng, pods_all, nodes, _times(rng, start, end, count))
    return lines


def simulate(now: datetime | None = None, seed: int | str | None = None) -> dict[str, int]:
    """Produce and ingest the lines of every running sandbox cluster since its last run.

    Args:
        now: The current time (tests pass a fixed one).
        seed: Makes the lines deterministic (default: derived from the time).

    Returns:
        The number of lines stored per cluster id.

    """
    now = now or utcnow()
    with session_scope() as s:
        clusters = s.exec(
            select(Cluster).where(
                Cluster.provider == "sandbox",
                Cluster.status == "running",
                col(Cluster.deleted_at).is_(None),
                Cluster.provider_ref != "",
            )
        ).all()
        rows = {r.cluster_id: r for r in s.exec(select(LogCollection)).all()}
        for obj in [*clusters, *rows.values()]:
            s.expunge(obj)
    stored: dict[str, int] = {}
    budget = MAX_LINES_PER_TICK
    never = datetime.min.replace(tzinfo=UTC)

    def waited(c: Cluster) -> tuple:
        row = rows.get(c.id)
        at = row.sim_at if row and row.sim_at else never
        return (at if at.tzinfo else at.replace(tzinfo=UTC), c.id)

    # Longest-waiting first, so a per-tick budget rotates over many clusters.
    for cluster in sorted(clusters, key=waited):
        if budget <= 0:
            break
        row = rows.get(cluster.id)
        last = (
            row.sim_at
            if row and row.sim_at
            else now - timedelta(seconds=get_settings().tick_interval)
        )
        rng = random.Random(f"{seed if seed is not None else now.isoformat()}:{cluster.id}")
        lines = simulate_cluster(cluster, row, last, now, rng)[:budget]
        budget -= len(lines)
        try:
            stored[cluster.id] = ingest_lines(cluster.id, cluster.org_id, lines, now).accepted
        except ServiceError as exc:
            log.warning("simulated logs of %s were refused: %s", cluster.id, exc.message)
            stored[cluster.id] = 0
        with session_scope() as s:
            saved = s.get(LogCollection, cluster.id) or LogCollection(
                cluster_id=cluster.id, org_id=cluster.org_id
            )
            saved.sim_at = now
            s.add(saved)
    return stored


register_tick("logs.sandbox_simulator", simulate)
