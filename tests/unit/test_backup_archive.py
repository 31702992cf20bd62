"""What backups keep of a cluster's objects, and the encrypted archive format."""

from __future__ import annotations

import gzip
import json

import pytest

from mkportal.services.backup import archive as archive_mod
from mkportal.services.backup.archive import Snapshot, pack, unpack
from mkportal.services.backup.cleaning import (
    clean_object,
    counts_of,
    object_id,
    objects_checksum,
    sort_key,
)
from mkportal.services.errors import Invalid


def obj(kind: str, name: str, ns: str = "", api_version: str = "v1", **extra) -> dict:
    meta = {"name": name, "uid": "u-1", "resourceVersion": "7", "generation": 2}
    meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
    meta["managedFields"] = [{"manager": "kubectl"}]
    if ns:
        meta["namespace"] = ns
    meta.update(extra.pop("metadata", {}))
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **extra}


SKIPPED = {
    "event": obj("Event", "e", "shop"),
    "node": obj("Node", "n1"),
    "endpoints": obj("Endpoints", "web", "shop"),
    "lease": obj("Lease", "l", "shop", "coordination.k8s.io/v1"),
    "system-namespace-object": obj("ConfigMap", "c", "kube-system"),
    "system-namespace": obj("Namespace", "kube-public"),
    "controller-owned-pod": obj(
        "Pod", "web-1", "shop", metadata={"ownerReferences": [{"controller": True, "uid": "x"}]}
    ),
    "controller-owned-replicaset": obj(
        "ReplicaSet",
        "web-abc",
        "shop",
        "apps/v1",
        metadata={"ownerReferences": [{"controller": True, "uid": "x"}]},
    ),
    "portal-agent": obj(
        "DaemonSet",
        "agent",
        "mk-log-agent",
        "apps/v1",
        metadata={"labels": {"app.kubernetes.io/managed-by": "mkportal"}},
    ),
    "service-account-token": obj("Secret", "t", "shop", type="kubernetes.io/service-account-token"),
    "root-ca": obj("ConfigMap", "kube-root-ca.crt", "shop"),
    "system-clusterrole": obj("ClusterRole", "system:auth", "", "rbac.authorization.k8s.io/v1"),
}


def test_user_namespaces_named_like_system_objects_are_kept():
    assert clean_object(obj("Namespace", "system-tools")) is not None
    kept = clean_object(obj("ClusterRole", "team:admin", "", "rbac.authorization.k8s.io/v1"))
    assert kept["metadata"] == {"name": "team:admin"}


@pytest.mark.parametrize("name", sorted(SKIPPED))
def test_objects_the_cluster_makes_itself_are_left_out(name):
    assert clean_object(SKIPPED[name]) is None


def test_server_fields_status_and_assigned_addresses_are_dropped():
    svc = obj(
        "Service",
        "web",
        "shop",
        metadata={
            "annotations": {"deployment.kubernetes.io/revision": "3", "team": "a"},
            "ownerReferences": [{"controller": False, "uid": "x"}],
        },
        spec={
            "clusterIP": "10.0.0.3",
            "clusterIPs": ["10.0.0.3"],
            "ports": [{"port": 80, "nodePort": 31000}],
        },
        status={"loadBalancer": {}},
    )
    cleaned = clean_object(svc)
    assert cleaned["metadata"] == {"name": "web", "namespace": "shop", "annotations": {"team": "a"}}
    assert cleaned["spec"] == {"ports": [{"port": 80}]} and "status" not in cleaned
    assert svc["spec"]["clusterIP"] == "10.0.0.3"  # the input is not changed
    headless = clean_object(obj("Service", "db", "shop", spec={"clusterIP": "None"}))
    assert headless["spec"]["clusterIP"] == "None"
    pvc = clean_object(obj("PersistentVolumeClaim", "d", "shop", spec={"volumeName": "pv-1"}))
    assert pvc["spec"] == {}
    job = clean_object(
        obj(
            "Job",
            "j",
            "shop",
            "batch/v1",
            metadata={"labels": {"controller-uid": "u", "team": "a"}},
            spec={
                "selector": {"matchLabels": {"controller-uid": "u"}},
                "template": {"metadata": {"labels": {"controller-uid": "u", "job-name": "j"}}},
            },
        )
    )
    assert "selector" not in job["spec"] and job["metadata"]["labels"] == {"team": "a"}
    assert job["spec"]["template"]["metadata"]["labels"] == {"job-name": "j"}


def test_order_ids_counts_and_checksums_are_stable():
    items = [
        obj("ConfigMap", "b", "shop"),
        obj("Widget", "w", "shop", "example.com/v1"),
        obj("Namespace", "shop"),
        obj("CustomResourceDefinition", "widgets.example.com", "", "apiextensions.k8s.io/v1"),
        obj("Deployment", "web", "shop", "apps/v1"),
        obj("StorageClass", "fast", "", "storage.k8s.io/v1"),
    ]
    cleaned = sorted((clean_object(o) for o in items), key=sort_key)
    assert [o["kind"] for o in cleaned] == [
        "CustomResourceDefinition",
        "Namespace",
        "StorageClass",
        "ConfigMap",
        "Deployment",
        "Widget",
    ]
    assert object_id(cleaned[3]) == "core/ConfigMap/shop/b"
    assert counts_of(cleaned)["example.com/Widget"] == 1
    assert objects_checksum(cleaned) == objects_checksum(list(reversed(cleaned)))
    changed = [*cleaned[:-1], {**cleaned[-1], "spec": {"size": 2}}]
    assert objects_checksum(changed) != objects_checksum(cleaned)


def _snapshot() -> Snapshot:
    objects = [
        clean_object(obj("Namespace", "shop")),
        clean_object(obj("Secret", "db", "shop", type="Opaque", data={"password": "aHVudGVyMg=="})),
        clean_object(obj("ConfigMap", "c", "shop", data={"k": "v"})),
    ]
    return Snapshot(objects, "v1.35.0", counts_of(objects))


def _plain(packed_data: bytes) -> dict:
    fernet = archive_mod._key("archive")
    return json.loads(gzip.decompress(fernet.decrypt(packed_data)))


def test_pack_then_unpack_gives_back_the_objects_and_config(db):
    snap = _snapshot()
    packed = pack(snap, {"name": "shop", "version": "1.35"})
    assert packed.manifest["format"] == "mkportal-backup/1"
    assert packed.manifest["counts"] == {"core/ConfigMap": 1, "core/Namespace": 1, "core/Secret": 1}
    assert packed.manifest["object_count"] == 3
    archive = unpack(packed.data, packed.checksum)
    assert archive.objects == snap.objects and archive.config["version"] == "1.35"
    assert archive.k8s_version == "v1.35.0" and archive.counts == packed.manifest["counts"]


def test_secret_data_is_encrypted_separately_inside_the_archive(db):
    packed = pack(_snapshot(), {})
    plain = _plain(packed.data)
    secret = next(o for o in plain["objects"] if o["kind"] == "Secret")
    assert "data" not in secret and "aHVudGVyMg" not in json.dumps(plain)
    assert list(plain["secrets"]) == ["core/Secret/shop/db"]


def _repack(body: dict) -> bytes:
    raw = json.dumps(body).encode()
    return archive_mod._key("archive").encrypt(gzip.compress(raw))


@pytest.mark.parametrize("damage", ["checksum", "not-fernet", "objects", "format", "not-json"])
def test_damaged_or_tampered_archives_are_refused_with_a_readable_error(db, damage):
    import hashlib

    packed = pack(_snapshot(), {})
    data, checksum = packed.data, packed.checksum
    if damage == "checksum":
        data = data.replace(data[10:11], b"A" if data[10:11] != b"A" else b"B", 1)
    elif damage == "not-fernet":
        data = b"garbage"
        checksum = hashlib.sha256(data).hexdigest()
    elif damage in ("objects", "format"):
        body = _plain(packed.data)
        if damage == "objects":
            body["objects"][-1]["data"] = {"k": "evil"}
        else:
            body["manifest"]["format"] = "other/9"
        data = _repack(body)
        checksum = hashlib.sha256(data).hexdigest()
    else:
        data = archive_mod._key("archive").encrypt(gzip.compress(b"{not json"))
        checksum = hashlib.sha256(data).hexdigest()
    with pytest.raises(Invalid) as err:
        unpack(data, checksum)
    message = err.value.errors["backup"]
    expected = {
        "checksum": "checksum",
        "not-fernet": "cannot be decrypted",
        "objects": "do not match its manifest",
        "format": "unknown format",
        "not-json": "damaged",
    }[damage]
    assert expected in message
