"""Backing up and restoring 10,000 objects of a sandbox cluster.

A running sandbox cluster gets 20 namespaces with ConfigMaps, Secrets, Services and
Deployments (10,000 backed-up objects; the Deployments' pods are not backed up). The
objects are written straight into the sandbox's tables (setting up is not measured).
Measured, in this process with the sandbox API over HTTPS and the worker inline:

- backup: the `backup.create` operation end to end (discovery, listing over HTTPS,
  cleaning, gzip + Fernet, writing to the local store, reading back and verifying);
- archive size (and the size of the plain JSON it holds);
- restore: `backup.restore` in merge mode into a second, empty cluster (plan, then every
  object created over HTTPS), and whether a snapshot of the target then has the backup's
  objects checksum;
- peak memory: the growth of the process's peak RSS during each phase (VmHWM, reset
  before each phase; it includes the in-process sandbox API server's work).
"""

from __future__ import annotations

import base64
import gzip
import socket
import time
from pathlib import Path

from bench.common import apply_env, scratch_env

NAMESPACES = 20
PER_NAMESPACE = {"ConfigMap": 439, "Secret": 40, "Service": 10, "Deployment": 10}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> int:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_kib("VmRSS")


def _peak_growth_mib(baseline_kib: int) -> float:
    return round(max(0, _status_kib("VmHWM") - baseline_kib) / 1024, 1)


def _run(op_id: str, budget: float = 1800.0) -> str:
    from mkportal.worker.engine import execute

    deadline = time.monotonic() + budget
    status = None
    while time.monotonic() < deadline:
        status = execute(op_id, "bench") or status
        if status in ("succeeded", "failed"):
            return status
        time.sleep(0.05)
    return str(status)


def _body(kind: str, ns: str, i: int) -> dict:
    name = f"{kind.lower()}-{i:04d}"
    labels = {"app": f"app-{i % 10}", "bench": "yes"}
    if kind == "ConfigMap":
        return {"metadata": {"name": name, "labels": labels}, "data": {"k": f"v{i}" * 20}}
    if kind == "Secret":
        value = base64.b64encode(f"secret-{ns}-{i}".encode()).decode()
        return {"metadata": {"name": name}, "type": "Opaque", "data": {"password": value}}
    if kind == "Service":
        return {"metadata": {"name": name}, "spec": {"selector": labels, "ports": [{"port": 80}]}}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }


def _populate(ref: str) -> int:
    from mkportal.api.sandbox_k8s import objects, simulate
    from mkportal.db import session_scope

    count = 0
    with session_scope() as s:
        simulate.ensure_defaults(s, ref)
        for n in range(NAMESPACES):
            ns = f"team-{n:02d}"
            objects.write(s, ref, simulate.KINDS["Namespace"], "", {"metadata": {"name": ns}})
            count += 1
            for kind, number in PER_NAMESPACE.items():
                for i in range(number):
                    obj = simulate.complete(s, ref, simulate.KINDS[kind], _body(kind, ns, i), "")
                    objects.write(s, ref, simulate.KINDS[kind], ns, obj)
                    count += 1
    return count


def _cluster(actor, name: str) -> tuple[str, str]:  # noqa: ANN001
    from mkportal.db import session_scope
    from mkportal.models.cluster import Cluster
    from mkportal.services.clusters import actions
    from mkportal.services.clusters.spec import ClusterIn

    req = ClusterIn.model_validate(
        {
            "name": name,
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
        }
    )
    view, op, _ = actions.create_cluster(actor, req)
    assert _run(op.id) == "succeeded"
    with session_scope() as s:
        return view.id, s.get(Cluster, view.id).provider_ref


def measure() -> dict:
    port = _free_port()
    apply_env(
        scratch_env(
            SANDBOX_CLUSTER_DELAY="0",
            SANDBOX_NODE_DELAY="0",
            PROVIDER_INLINE_WAIT="5",
            SANDBOX_API_PORT=str(port),
        )
    )
    from mkportal.api.sandbox_k8s import server as sandbox_server
    from mkportal.migrate import upgrade
    from mkportal.services import auth
    from mkportal.services.backup import backups, restore
    from mkportal.services.backup.archive import _key, snapshot, unpack
    from mkportal.services.backup.cleaning import objects_checksum
    from mkportal.services.backup.storage import store_for
    from mkportal.services.clusters.kubeconfig import kubeconfig
    from mkportal.services.kube.client import api_client
    from mkportal.services.users import create_user

    upgrade()
    server = sandbox_server.start()
    create_user("bench@example.test", "bench-password-1", org="Bench")
    actor = auth.session_actor(auth.login("bench@example.test", "bench-password-1").token)
    source, ref = _cluster(actor, "source")
    target, _target_ref = _cluster(actor, "target")
    populated = _populate(ref)

    baseline = _reset_peak()
    started = time.perf_counter()
    view = backups.back_up_now(actor, source)
    assert _run(view.operation_id) == "succeeded"
    backup_seconds = time.perf_counter() - started
    backup_peak = _peak_growth_mib(baseline)
    done = backups.get_backup(actor, view.id)
    data = store_for(done.org_id).get(done.storage_key)
    plain = len(gzip.decompress(_key("archive").decrypt(data)))

    baseline = _reset_peak()
    started = time.perf_counter()
    restored = restore.start_restore(actor, view.id, target_cluster_id=target, mode="merge")
    status = _run(restored.operation_id)
    restore_seconds = time.perf_counter() - started
    restore_peak = _peak_growth_mib(baseline)
    _name, text = kubeconfig(actor, target)
    with api_client(text) as api:
        after = snapshot(api)
    manifest_checksum = unpack(data, done.checksum).manifest["objects_checksum"]
    server.should_exit = True
    return {
        "objects populated": populated,
        "objects backed up": done.object_count,
        "backup seconds (operation, end to end)": round(backup_seconds, 2),
        "backup objects per second": round(done.object_count / backup_seconds),
        "archive bytes (gzip + Fernet)": done.size_bytes,
        "archive plain JSON bytes": plain,
        "backup peak RSS growth MiB": backup_peak,
        "restore status": status,
        "restore seconds (merge into empty cluster)": round(restore_seconds, 2),
        "restore objects per second": round(done.object_count / restore_seconds),
        "restore peak RSS growth MiB": restore_peak,
        "restored objects": len(after.objects),
        "restored checksum matches backup": objects_checksum(after.objects) == manifest_checksum,
    }
