"""Backups of sandbox clusters through their Kubernetes API: catalog, crashes, tampering."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from kubernetes import client
from sqlmodel import select, update

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.backup import Backup
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.operation import Operation
from mkportal.services import operations
from mkportal.services.backup import backup_steps, backups
from mkportal.services.backup.archive import unpack
from mkportal.services.backup.storage import LocalStore, local_root, store_for
from mkportal.services.clusters import actions
from mkportal.services.clusters.kubeconfig import kubeconfig
from mkportal.services.errors import Conflict, Forbidden, Invalid, NotFound
from mkportal.services.kube.client import api_client
from mkportal.worker.engine import execute
from tests.integration.test_sandbox_k8s import portal_url  # noqa: F401  (fixture)
from tests.unit.test_clusters import _req, _run

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object"}},
            }
        ],
    },
}


class Crash(BaseException):
    """Stands in for the worker process dying: the engine does not catch it."""


def populate(api: client.ApiClient, configmaps: int = 3) -> None:
    """Give a cluster a namespace with config, a secret, a workload, a service and a CR."""
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace({"metadata": {"name": "shop"}})
    for i in range(configmaps):
        core.create_namespaced_config_map(
            "shop", {"metadata": {"name": f"cfg-{i}"}, "data": {"i": str(i)}}
        )
    core.create_namespaced_secret(
        "shop",
        {
            "metadata": {"name": "db"},
            "type": "Opaque",
            "data": {"password": base64.b64encode(b"hunter2-secret").decode()},
        },
    )
    labels = {"app": "web"}
    apps.create_namespaced_deployment(
        "shop",
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                },
            },
        },
    )
    core.create_namespaced_service(
        "shop", {"metadata": {"name": "web"}, "spec": {"selector": labels, "ports": [{"port": 80}]}}
    )
    client.ApiextensionsV1Api(api).create_custom_resource_definition(CRD)
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "example.com",
        "v1",
        "shop",
        "widgets",
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {}},
    )


@pytest.fixture
def cluster(portal_url, two_orgs) -> dict:  # noqa: F811
    """A running sandbox cluster of Acme with some objects."""
    actor = two_orgs["acme_member"]
    view, op, _ = actions.create_cluster(actor, _req(name="shop"))
    assert _run(op.id) == "succeeded"
    _name, text = kubeconfig(actor, view.id)
    with api_client(text) as api:
        populate(api)
    return {"id": view.id, "org": actor.org_id, "text": text}


def _op(op_id: str) -> Operation:
    with session_scope() as s:
        return s.get(Operation, op_id)


def _expire_lease(op_id: str) -> None:
    with session_scope() as s:
        s.exec(
            update(Operation)
            .where(Operation.id == op_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def _archives(org_id: str, cluster_id: str) -> list[str]:
    folder = local_root(org_id) / cluster_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_backup_keeps_user_objects_encrypts_secrets_and_is_verified(cluster, two_orgs):
    member = two_orgs["acme_member"]
    view, op, created = backups.start_backup(member, cluster["id"])
    assert created and view.status == "running" and op.kind == "backup.create"
    assert _run(op.id) == "succeeded"
    done = backups.get_backup(two_orgs["acme_viewer"], view.id)
    assert done.status == "succeeded" and done.restorable and done.k8s_version == "v1.35.0"
    assert done.counts["core/ConfigMap"] == 3 and done.counts["core/Secret"] == 1
    assert done.counts["apps/Deployment"] == 1 and done.counts["example.com/Widget"] == 1
    assert done.counts["apiextensions.k8s.io/CustomResourceDefinition"] == 1
    assert "core/Pod" not in done.counts and "apps/ReplicaSet" not in done.counts
    assert done.object_count == sum(done.counts.values())
    assert done.config["node_pools"][0]["name"] == "default" and done.duration_seconds >= 0
    data = LocalStore(local_root(cluster["org"])).get(done.storage_key)
    assert b"hunter2" not in data and len(data) == done.size_bytes
    archive = unpack(data, done.checksum)
    secret = next(o for o in archive.objects if o["kind"] == "Secret")
    assert base64.b64decode(secret["data"]["password"]) == b"hunter2-secret"
    service = next(o for o in archive.objects if o["kind"] == "Service")
    assert "clusterIP" not in service["spec"] and "status" not in service
    assert all("uid" not in o["metadata"] for o in archive.objects)
    assert archive.objects[0]["kind"] == "CustomResourceDefinition"
    assert archive.config["name"] == "shop"


def test_roles_isolation_locking_and_deletion(cluster, two_orgs):
    member, viewer, globex = (two_orgs[k] for k in ("acme_member", "acme_viewer", "globex_owner"))
    with pytest.raises(Forbidden):
        backups.back_up_now(viewer, cluster["id"])
    with pytest.raises(NotFound):
        backups.back_up_now(globex, cluster["id"])
    view = backups.back_up_now(member, cluster["id"])
    with pytest.raises(Conflict, match="still running"):
        backups.back_up_now(member, cluster["id"])
    assert _run(view.operation_id) == "succeeded"
    for call in (
        lambda: backups.get_backup(globex, view.id),
        lambda: backups.list_backups(globex, cluster["id"]),
        lambda: backups.set_locked(globex, view.id, True),
        lambda: backups.delete_backup(globex, view.id),
    ):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(Forbidden):
        backups.set_locked(viewer, view.id, True)
    assert backups.set_locked(member, view.id, True).kept_by == "locked"
    with pytest.raises(Conflict, match="locked"):
        backups.delete_backup(member, view.id)
    backups.set_locked(member, view.id, False)
    assert _archives(cluster["org"], cluster["id"]) == [f"{view.id}.mkb"]
    backups.delete_backup(member, view.id)
    assert _archives(cluster["org"], cluster["id"]) == []
    assert backups.list_backups(viewer, cluster["id"]).total == 0
    with session_scope() as s:
        actions_seen = set(
            s.exec(select(AuditEvent.action).where(AuditEvent.target_id == view.id)).all()
        )
    assert {"backup.requested", "backup.locked", "backup.unlocked", "backup.deleted"} <= (
        actions_seen
    )


def test_idempotency_key_and_paging(cluster, two_orgs):
    member = two_orgs["acme_member"]
    first, op, created = backups.start_backup(member, cluster["id"], idempotency_key="k-1")
    again, op2, created2 = backups.start_backup(member, cluster["id"], idempotency_key="k-1")
    assert created and not created2 and (again.id, op2.id) == (first.id, op.id)
    assert _run(op.id) == "succeeded"
    second = backups.back_up_now(member, cluster["id"], trigger="schedule", schedule_id="s1")
    assert _run(second.operation_id) == "succeeded"
    page = backups.list_backups(member, cluster["id"], page=1, per_page=1)
    assert page.total == 2 and page.pages == 2 and page.items[0].id == second.id
    assert page.items[0].trigger == "schedule"
    assert backups.list_backups(member, cluster["id"], status="failed").total == 0
    with pytest.raises(Conflict, match="Idempotency-Key"):
        operations.request(member, "noop", idempotency_key="k-1")
    with pytest.raises(Invalid):
        backups.back_up_now(member, cluster["id"], trigger="whenever")


def test_a_crash_after_the_upload_resumes_and_leaves_one_archive(cluster, two_orgs, monkeypatch):
    view = backups.back_up_now(two_orgs["acme_member"], cluster["id"])
    real_put = LocalStore.put

    def put_then_crash(self, key, data):
        real_put(self, key, data)
        raise Crash

    monkeypatch.setattr(LocalStore, "put", put_then_crash)
    with pytest.raises(Crash):
        execute(view.operation_id, "w1")
    assert _op(view.operation_id).status == "running"
    monkeypatch.setattr(LocalStore, "put", real_put)
    real_unpack = backup_steps.unpack
    monkeypatch.setattr(backup_steps, "unpack", lambda *a: (_ for _ in ()).throw(Crash()))
    _expire_lease(view.operation_id)
    with pytest.raises(Crash):
        execute(view.operation_id, "w2")
    assert _op(view.operation_id).step == 1  # the upload step is recorded as done
    monkeypatch.setattr(backup_steps, "unpack", real_unpack)
    _expire_lease(view.operation_id)
    assert execute(view.operation_id, "w3") == "succeeded"
    done = backups.get_backup(two_orgs["acme_member"], view.id)
    assert done.status == "succeeded"
    assert _archives(cluster["org"], cluster["id"]) == [f"{view.id}.mkb"]
    data = store_for(cluster["org"]).get(done.storage_key)
    assert unpack(data, done.checksum).manifest["object_count"] == done.object_count


def test_a_failing_upload_marks_the_backup_failed_and_removes_the_partial_archive(
    cluster, two_orgs, monkeypatch
):
    from mkportal.services.backup.storage import StoreError

    def partial_put(self, key, data):
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[:100])
        raise StoreError("disk full")

    monkeypatch.setattr(LocalStore, "put", partial_put)
    view = backups.back_up_now(two_orgs["acme_member"], cluster["id"])
    assert _run(view.operation_id) == "failed"
    failed = backups.get_backup(two_orgs["acme_member"], view.id)
    assert failed.status == "failed" and "disk full" in failed.error and not failed.restorable
    assert _archives(cluster["org"], cluster["id"]) == []
    with pytest.raises(Conflict, match="Only successful"):
        backups.set_locked(two_orgs["acme_member"], view.id, True)


def test_a_cancelled_backup_is_failed_and_deleted_clusters_keep_their_catalog(cluster, two_orgs):
    member = two_orgs["acme_member"]
    view = backups.back_up_now(member, cluster["id"])
    operations.cancel(member, view.operation_id)
    assert backups.get_backup(member, view.id).status == "failed"
    good = backups.back_up_now(member, cluster["id"])
    assert _run(good.operation_id) == "succeeded"
    with session_scope() as s:
        row = s.get(Cluster, cluster["id"])
        row.status, row.deleted_at = "deleted", utcnow()
        s.add(row)
    assert backups.list_backups(member, cluster["id"]).total == 2
    with pytest.raises(NotFound):
        backups.back_up_now(member, cluster["id"])


@pytest.mark.parametrize("damage", ["flip-byte", "truncate", "other-key"])
def test_a_tampered_archive_is_refused(cluster, two_orgs, damage, monkeypatch):
    view = backups.back_up_now(two_orgs["acme_member"], cluster["id"])
    assert _run(view.operation_id) == "succeeded"
    done = backups.get_backup(two_orgs["acme_member"], view.id)
    store = store_for(cluster["org"])
    data = store.get(done.storage_key)
    checksum = done.checksum
    if damage == "flip-byte":
        data = data[:50] + bytes([data[50] ^ 1]) + data[51:]
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        from mkportal.settings import get_settings

        monkeypatch.setattr(get_settings(), "secret_key", "another-portal")
    with pytest.raises(Invalid) as err:
        unpack(data, checksum)
    assert "backup" in err.value.errors
    message = err.value.errors["backup"]
    assert ("checksum" in message) if damage != "other-key" else ("decrypted" in message)


def test_backup_rows_record_the_operation(cluster, two_orgs):
    view = backups.back_up_now(two_orgs["acme_member"], cluster["id"])
    op = _op(view.operation_id)
    assert op.params == {"backup_id": view.id, "cluster_id": cluster["id"]}
    assert op.cluster_id is None  # backups do not block cluster changes
    assert _run(view.operation_id) == "succeeded"
    with session_scope() as s:
        row = s.get(Backup, view.id)
    assert row.storage_key == f"{cluster['id']}/{view.id}.mkb"
    assert json.loads(json.dumps(row.counts)) == row.counts
