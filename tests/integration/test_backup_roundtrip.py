"""Backup and restore round trip on the sandbox Kubernetes API (issue 6, "Tests").

Create namespaces, deployments, configmaps, secrets, services, an ingress and a custom
resource; back up; delete some objects and change others; restore. The cluster's state
afterwards equals the state at backup time (server-set fields ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.backup import Backup, Restore
from mkportal.models.cluster import Cluster
from mkportal.models.operation import Operation
from mkportal.services.backup import backups, drills, restore, restore_apply
from mkportal.services.backup.archive import snapshot
from mkportal.services.backup.storage import store_for
from mkportal.services.clusters import actions
from mkportal.services.clusters.kubeconfig import kubeconfig
from mkportal.services.clusters.spec import ClusterPatch
from mkportal.services.errors import Invalid, NotFound
from mkportal.services.kube.agents import kube_for
from tests.integration.test_sandbox_k8s import kubectl, portal_url  # noqa: F401
from tests.unit.test_clusters import _req, _run

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""

STATE = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: blog}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "nginx:1.27", ports: [{containerPort: 80}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: "example/api:2.1"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: wordpress, namespace: blog}
spec:
  replicas: 1
  selector: {matchLabels: {app: wp}}
  template:
    metadata: {labels: {app: wp}}
    spec: {containers: [{name: wp, image: "wordpress:6"}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {currency: CHF, theme: dark}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: feature-flags, namespace: shop}
data: {checkout: "on"}
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
type: Opaque
stringData: {password: s3cret-at-backup}
---
apiVersion: v1
kind: Secret
metadata: {name: wp-keys, namespace: blog}
type: Opaque
data: {auth: YXV0aC1rZXk=}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: wordpress, namespace: blog}
spec:
  type: LoadBalancer
  selector: {app: wp}
  ports: [{port: 443}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: web, port: {number: 80}}}
"""

WIDGET = """
apiVersion: example.com/v1
kind: Widget
metadata: {name: gizmo, namespace: shop}
spec: {size: 3, colour: blue}
"""

ADDED_LATER = """
apiVersion: v1
kind: ConfigMap
metadata: {name: added-later, namespace: shop}
data: {a: b}
"""


@pytest.fixture
def cluster(portal_url, two_orgs, tmp_path) -> dict:  # noqa: F811
    """A running sandbox cluster of Acme with the issue's objects in it."""
    actor = two_orgs["acme_member"]
    view, op, _ = actions.create_cluster(actor, _req(name="shop"))
    assert _run(op.id) == "succeeded"
    cfg = _kubeconfig(actor, view.id, tmp_path)
    kubectl(cfg, "apply", "-f", "-", stdin=CRD)
    kubectl(cfg, "apply", "-f", "-", stdin=STATE)
    kubectl(cfg, "apply", "-f", "-", stdin=WIDGET)
    return {"actor": actor, "id": view.id, "cfg": cfg}


def _kubeconfig(actor, cluster_id: str, tmp_path: Path) -> Path:
    _name, text = kubeconfig(actor, cluster_id)
    path = tmp_path / f"kubeconfig-{cluster_id}"
    path.write_text(text)
    return path


def _state(cluster_id: str) -> list[dict]:
    """Every backed-up object of the cluster, cleaned of server-set fields."""
    with session_scope() as s:
        row = s.get(Cluster, cluster_id)
        s.expunge(row)
    with kube_for(row) as api:
        return snapshot(api).objects


def _back_up(actor, cluster_id: str) -> str:
    view = backups.back_up_now(actor, cluster_id)
    assert _run(view.operation_id) == "succeeded"
    assert backups.get_backup(actor, view.id).status == "succeeded"
    return view.id


def _restore(actor, backup_id: str, **kwargs) -> restore.RestoreView:
    started = restore.start_restore(actor, backup_id, **kwargs)
    assert _run(started.operation_id) == "succeeded", _op_error(started.operation_id)
    return restore.get_restore(actor, started.id)


def _op_error(op_id: str) -> str:
    with session_scope() as s:
        return s.get(Operation, op_id).error


def _mutate(cfg: Path) -> None:
    kubectl(cfg, "delete", "configmap", "feature-flags", "-n", "shop")
    kubectl(cfg, "delete", "deployment", "api", "-n", "shop")
    kubectl(cfg, "delete", "secret", "db", "-n", "shop")
    kubectl(cfg, "delete", "widget", "gizmo", "-n", "shop")
    kubectl(cfg, "delete", "namespace", "blog")
    kubectl(cfg, "patch", "configmap", "settings", "-n", "shop", "-p", '{"data":{"theme":"light"}}')
    kubectl(cfg, "patch", "deployment", "web", "-n", "shop", "-p", '{"spec":{"replicas":5}}')
    kubectl(cfg, "label", "service", "web", "-n", "shop", "tampered=yes")
    kubectl(cfg, "apply", "-f", "-", stdin=ADDED_LATER)


def test_round_trip_restores_the_exact_state(cluster):
    actor, cluster_id = cluster["actor"], cluster["id"]
    before = _state(cluster_id)
    kinds = {(o["apiVersion"], o["kind"]) for o in before}
    assert {
        ("v1", "Namespace"),
        ("apps/v1", "Deployment"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Service"),
        ("networking.k8s.io/v1", "Ingress"),
        ("example.com/v1", "Widget"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    } <= kinds
    backup_id = _back_up(actor, cluster_id)
    _mutate(cluster["cfg"])
    assert _state(cluster_id) != before

    plan = restore.plan_restore(actor, backup_id, mode="replace")
    assert plan.counts["create"] >= 8 and plan.counts["update"] == 3
    assert plan.counts["delete"] == 1 and plan.counts["blocked"] == 0
    deleted = [c for c in plan.changes if c.action == "delete"]
    assert (deleted[0].kind, deleted[0].name) == ("ConfigMap", "added-later")
    updated = {(c.kind, c.name): c.fields for c in plan.changes if c.action == "update"}
    assert updated == {
        ("ConfigMap", "settings"): ["data"],
        ("Deployment", "web"): ["spec"],
        ("Service", "web"): ["metadata"],
    }
    assert _state(cluster_id) != before  # the plan changed nothing

    done = _restore(actor, backup_id, mode="replace")
    assert done.status == "succeeded" and done.result["applied"]["deleted"] == 1
    assert done.diff["counts"] == plan.counts
    after = _state(cluster_id)
    assert after == before
    secret = next(o for o in after if o["kind"] == "Secret" and o["metadata"]["name"] == "db")
    assert secret.get("stringData", {}).get("password") == "s3cret-at-backup"


def test_merge_restores_one_namespace_and_keeps_other_objects(cluster):
    actor, cluster_id, cfg = cluster["actor"], cluster["id"], cluster["cfg"]
    backup_id = _back_up(actor, cluster_id)
    _mutate(cfg)
    plan = restore.plan_restore(actor, backup_id, mode="merge", namespaces=["blog"])
    assert {c.namespace or c.name for c in plan.changes} == {"blog"}
    assert plan.counts["delete"] == 0 and plan.counts["create"] == 4
    _restore(actor, backup_id, mode="merge", namespaces=["blog"])
    names = {(o["kind"], o["metadata"]["name"]) for o in _state(cluster_id)}
    assert ("Deployment", "wordpress") in names and ("Secret", "wp-keys") in names
    assert ("ConfigMap", "added-later") in names  # merge deletes nothing
    assert ("ConfigMap", "feature-flags") not in names  # outside the scope


def test_kind_scope_and_clone_with_configuration(cluster):
    actor, cluster_id = cluster["actor"], cluster["id"]
    backup_id = _back_up(actor, cluster_id)
    plan = restore.plan_restore(actor, backup_id, mode="clone", clone_name="shop-copy")
    assert plan.counts["create"] == len(_state(cluster_id)) and plan.target_cluster_id == ""
    started = restore.start_restore(actor, backup_id, mode="clone", clone_name="shop-copy")
    with session_scope() as s:
        create_op = s.exec(
            select(Operation).where(
                Operation.cluster_id == started.target_cluster_id,
                Operation.kind == "cluster.create",
            )
        ).one()
    assert _run(create_op.id) == "succeeded"
    assert _run(started.operation_id) == "succeeded", _op_error(started.operation_id)
    clone = actions.get_cluster(actor, started.target_cluster_id)
    source = actions.get_cluster(actor, cluster_id)
    assert clone.name == "shop-copy" and clone.version == source.version
    assert [p.count for p in clone.node_pools] == [p.count for p in source.node_pools]
    assert _state(clone.id) == _state(cluster_id)


def test_tampered_archive_is_refused_with_a_readable_error(cluster):
    actor, cluster_id = cluster["actor"], cluster["id"]
    backup_id = _back_up(actor, cluster_id)
    with session_scope() as s:
        row = s.get(Backup, backup_id)
        org_id, key = row.org_id, row.storage_key
    store = store_for(org_id)
    data = bytearray(store.get(key))
    started = restore.start_restore(actor, backup_id, mode="merge")
    data[len(data) // 2] ^= 0x01
    store.put(key, bytes(data))
    assert _run(started.operation_id) == "failed"
    failed = restore.get_restore(actor, started.id)
    assert failed.status == "failed" and "checksum" in failed.error
    with pytest.raises(Invalid) as exc:
        restore.plan_restore(actor, backup_id)
    assert "changed or damaged" in exc.value.errors["backup"]


def test_older_minor_warns_and_blocks_apis_the_target_lacks(cluster, two_orgs, tmp_path):
    actor, cluster_id = cluster["actor"], cluster["id"]
    backup_id = _back_up(actor, cluster_id)
    old, op, _ = actions.create_cluster(actor, _req(name="old", version="1.34"))
    assert _run(op.id) == "succeeded"
    plan = restore.plan_restore(
        actor, backup_id, target_cluster_id=old.id, kinds=["Widget", "core/ConfigMap"]
    )
    assert any("older than the backup's 1.35" in w for w in plan.warnings)
    assert any("example.com/v1 Widget" in w for w in plan.warnings)
    blocked = [c for c in plan.changes if c.action == "blocked"]
    assert [(c.kind, c.name) for c in blocked] == [("Widget", "gizmo")]
    done = _restore(actor, backup_id, target_cluster_id=old.id, kinds=["Widget", "ConfigMap"])
    assert done.result["applied"]["blocked"] == 1
    assert done.result["applied"]["created"] == 3  # two ConfigMaps and the Namespace they need
    names = {(o["kind"], o["metadata"]["name"]) for o in _state(old.id)}
    assert {("ConfigMap", "settings"), ("Namespace", "shop")} <= names
    assert ("Widget", "gizmo") not in names


def test_another_organisations_cluster_or_backup_is_not_found(cluster, two_orgs):
    actor, cluster_id = cluster["actor"], cluster["id"]
    backup_id = _back_up(actor, cluster_id)
    globex = two_orgs["globex_owner"]
    theirs, op, _ = actions.create_cluster(globex, _req(name="theirs"))
    assert _run(op.id) == "succeeded"
    with pytest.raises(NotFound):
        restore.plan_restore(globex, backup_id)
    with pytest.raises(NotFound):
        restore.start_restore(globex, backup_id, target_cluster_id=theirs.id)
    for who in (actor, two_orgs["operator"]):
        with pytest.raises(NotFound):
            restore.start_restore(who, backup_id, target_cluster_id=theirs.id)
    with session_scope() as s:
        assert s.exec(select(Restore)).all() == []


def test_restore_drill_verifies_and_deletes_the_temporary_cluster(cluster):
    actor, cluster_id = cluster["actor"], cluster["id"]
    backup_id = _back_up(actor, cluster_id)
    drill = drills.run_drill_now(actor, cluster_id)
    assert drill.status == "running" and drill.backup_id == backup_id
    assert _run(drill.operation_id, budget=1) == "pending"  # waits for the temporary cluster
    temp = drills.list_drills(actor, cluster_id)[0].temp_cluster_id
    with session_scope() as s:
        create_op = s.exec(select(Operation).where(Operation.cluster_id == temp)).one()
    assert _run(create_op.id) == "succeeded"
    assert _run(drill.operation_id) == "succeeded", _op_error(drill.operation_id)
    done = drills.list_drills(actor, cluster_id)[0]
    assert done.status == "succeeded", done.message
    assert done.result["expected_counts"] == done.result["restored_counts"]
    assert done.result["expected_checksum"] == done.result["restored_checksum"]
    with session_scope() as s:
        delete_op = s.exec(
            select(Operation).where(
                Operation.cluster_id == done.temp_cluster_id, Operation.kind == "cluster.delete"
            )
        ).one()
    assert _run(delete_op.id) == "succeeded"
    assert actions.get_cluster(actor, done.temp_cluster_id).status == "deleted"


def test_a_restore_interrupted_mid_apply_resumes_and_ends_exact(cluster, monkeypatch):
    actor, cluster_id = cluster["actor"], cluster["id"]
    before = _state(cluster_id)
    backup_id = _back_up(actor, cluster_id)
    _mutate(cluster["cfg"])
    real, calls = restore_apply.upsert, []

    def dies_once(api, served, obj):  # noqa: ANN001, ANN202
        calls.append(obj["metadata"]["name"])
        if len(calls) == 4:
            raise ConnectionResetError("worker lost the connection")
        return real(api, served, obj)

    monkeypatch.setattr(restore_apply, "upsert", dies_once)
    done = _restore(actor, backup_id, mode="replace")
    assert len(calls) > 4 and calls[3] in calls[4:]  # the failed object was applied again
    assert done.status == "succeeded" and _state(cluster_id) == before
    again = restore.plan_restore(actor, backup_id, mode="replace")
    assert again.counts["unchanged"] == len(before)
    assert again.counts["create"] == again.counts["update"] == again.counts["delete"] == 0


def test_configuration_comes_back_through_the_update_path(cluster):
    actor, cluster_id = cluster["actor"], cluster["id"]
    backup_id = _back_up(actor, cluster_id)
    pools = [{"name": "default", "machine_type": "s-2", "count": 3}]
    _view, op = actions.update_cluster(actor, cluster_id, ClusterPatch(node_pools=pools))
    assert _run(op.id) == "succeeded"
    plan = restore.plan_restore(actor, backup_id, include_config=True)
    assert plan.config_changes["node_pools"]["to"][0]["count"] == 2
    started = restore.start_restore(actor, backup_id, include_config=True)
    assert _run(started.operation_id, budget=1) == "pending"  # waits for the cluster update
    with session_scope() as s:
        update_op = s.exec(
            select(Operation).where(
                Operation.cluster_id == cluster_id, Operation.kind == "cluster.update"
            )
        ).all()[-1]
    assert update_op.idempotency_key == f"restore-{started.id}-config"
    assert _run(update_op.id) == "succeeded"
    assert _run(started.operation_id) == "succeeded", _op_error(started.operation_id)
    done = restore.get_restore(actor, started.id)
    assert done.result["config_operation_id"] == update_op.id
    assert [p.count for p in actions.get_cluster(actor, cluster_id).node_pools] == [2]
