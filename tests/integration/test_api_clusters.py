"""The clusters REST contract (DESIGN.md section 5) on the sandbox provider."""

from __future__ import annotations

import pytest
import yaml
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from tests.unit.test_clusters import _run

BODY = {
    "name": "shop",
    "provider": "sandbox",
    "region": "ch-gva-2",
    "version": "1.35",
    "service_level": "standard",
    "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
}


@pytest.fixture(autouse=True)
def _fast_sandbox(monkeypatch):
    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _h(actor) -> dict:
    return {"Authorization": f"Bearer {tokens.create_token(actor, 't')[0]}"}


def test_catalog_shape(api, two_orgs):
    cat = api.get("/api/v1/catalog", headers=_h(two_orgs["acme_viewer"])).json()
    sandbox = cat["providers"][0]
    assert sandbox["name"] == "sandbox" and len(sandbox["versions"]) >= 4
    assert {"name", "vcpu", "memory_gib"} <= set(sandbox["machine_types"][0])
    assert {f["slug"] for f in cat["features"]} >= {
        "ingress-controller",
        "cert-manager",
        "metrics-agent",
        "log-agent",
        "backup-agent",
        "cluster-autoscaler",
        "rwx-storage",
        "network-policy",
    }
    assert [s["slug"] for s in cat["service_levels"]] == [
        "zero",
        "standard",
        "professional",
        "premium",
    ]
    assert api.get("/api/v1/catalog").status_code == 401


def test_create_idempotent_then_running_then_delete(api, two_orgs):
    h = _h(two_orgs["acme_member"])
    r1 = api.post("/api/v1/clusters", headers={**h, "Idempotency-Key": "c1"}, json=BODY)
    r2 = api.post("/api/v1/clusters", headers={**h, "Idempotency-Key": "c1"}, json=BODY)
    assert r1.status_code == r2.status_code == 202
    assert r1.json()["cluster"]["id"] == r2.json()["cluster"]["id"]
    cluster = r1.json()["cluster"]
    assert set(cluster) >= {
        "id",
        "name",
        "provider",
        "region",
        "version",
        "current_version",
        "service_level",
        "status",
        "node_pools",
        "features",
        "network",
        "endpoint",
        "created_at",
        "updated_at",
    }
    assert cluster["node_pools"][0]["autoscaling"] == {"enabled": False, "min": 0, "max": 0}
    assert cluster["network"] == {
        "cni": "cilium",
        "pod_cidr": "10.244.0.0/16",
        "service_cidr": "10.96.0.0/12",
    }
    assert api.post("/api/v1/clusters", headers=h, json=BODY).status_code == 409
    assert _run(r1.json()["operation"]["id"]) == "succeeded"
    got = api.get(f"/api/v1/clusters/{cluster['id']}", headers=h).json()
    assert got["status"] == "running"
    kc = api.get(f"/api/v1/clusters/{cluster['id']}/kubeconfig", headers=h)
    assert kc.status_code == 200 and kc.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(kc.text)["kind"] == "Config"
    ops = api.get(f"/api/v1/clusters/{cluster['id']}/operations", headers=h).json()
    assert ops["total"] == 1 and ops["items"][0]["kind"] == "cluster.create"
    d = api.delete(f"/api/v1/clusters/{cluster['id']}", headers=h)
    assert d.status_code == 202
    assert _run(d.json()["operation"]["id"]) == "succeeded"
    assert api.get(f"/api/v1/clusters/{cluster['id']}", headers=h).json()["status"] == "deleted"
    assert api.get("/api/v1/clusters", headers=h).json()["total"] == 0


def test_patch_scales_and_conflicts(api, two_orgs):
    h = _h(two_orgs["acme_member"])
    created = api.post("/api/v1/clusters", headers=h, json=BODY).json()
    cid = created["cluster"]["id"]
    r = api.patch(f"/api/v1/clusters/{cid}", headers=h, json={"service_level": "premium"})
    assert r.status_code == 409 and created["operation"]["id"] in r.json()["detail"]
    _run(created["operation"]["id"])
    pools = [
        {"name": "default", "machine_type": "s-2", "count": 3},
        {"name": "extra", "machine_type": "m-4", "count": 1},
    ]
    r = api.patch(f"/api/v1/clusters/{cid}", headers=h, json={"node_pools": pools})
    assert r.status_code == 202 and r.json()["operation"]["kind"] == "cluster.update"
    assert _run(r.json()["operation"]["id"]) == "succeeded"
    got = api.get(f"/api/v1/clusters/{cid}", headers=h).json()["node_pools"]
    assert [(p["name"], p["ready_count"]) for p in got] == [("default", 3), ("extra", 1)]


def test_validation_422_with_paths(api, two_orgs):
    h = _h(two_orgs["acme_member"])
    bad = {
        **BODY,
        "name": "Bad Name",
        "node_pools": [{"name": "p", "machine_type": "s-2", "count": "many"}],
    }
    r = api.post("/api/v1/clusters", headers=h, json=bad)
    assert r.status_code == 422
    assert "body.node_pools.0.count" in {e["loc"] for e in r.json()["errors"]}
    r = api.post("/api/v1/clusters", headers=h, json={**BODY, "name": "Bad Name"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "name"
    r = api.post(
        "/api/v1/clusters", headers=h, json={**BODY, "network": {"pod_cidr": "1.2.3.0/24"}}
    )
    assert r.json()["errors"][0]["loc"] == "network.pod_cidr"


def test_other_orgs_clusters_are_404_everywhere(api, two_orgs):
    acme = _h(two_orgs["acme_member"])
    globex = _h(two_orgs["globex_owner"])
    created = api.post("/api/v1/clusters", headers=acme, json=BODY).json()
    cid = created["cluster"]["id"]
    _run(created["operation"]["id"])
    for method, path, body in [
        ("get", f"/api/v1/clusters/{cid}", None),
        ("get", f"/api/v1/clusters/{cid}/kubeconfig", None),
        ("get", f"/api/v1/clusters/{cid}/operations", None),
        ("patch", f"/api/v1/clusters/{cid}", {"service_level": "premium"}),
        ("delete", f"/api/v1/clusters/{cid}", None),
        ("post", f"/api/v1/clusters/{cid}/rotate-credentials", None),
        ("get", f"/api/v1/operations/{created['operation']['id']}", None),
    ]:
        kwargs = {"headers": globex}
        if body is not None:
            kwargs["json"] = body
        assert getattr(api, method)(path, **kwargs).status_code == 404, path
    assert api.get("/api/v1/clusters", headers=globex).json()["total"] == 0


def test_operator_sees_all_and_sets_service_level(api, two_orgs):
    acme = _h(two_orgs["acme_member"])
    ops = _h(two_orgs["operator"])
    created = api.post("/api/v1/clusters", headers=acme, json=BODY).json()
    _run(created["operation"]["id"])
    cid = created["cluster"]["id"]
    listed = api.get(
        "/api/v1/clusters?all_orgs=true&provider=sandbox&status=running", headers=ops
    ).json()
    assert [c["id"] for c in listed["items"]] == [cid]
    r = api.patch(f"/api/v1/clusters/{cid}", headers=ops, json={"service_level": "professional"})
    assert r.status_code == 202 and r.json()["cluster"]["service_level"] == "professional"
    assert api.get("/api/v1/clusters?all_orgs=true", headers=acme).json()["total"] == 1
    viewer = _h(two_orgs["acme_viewer"])
    assert (
        api.patch(
            f"/api/v1/clusters/{cid}", headers=viewer, json={"service_level": "zero"}
        ).status_code
        == 403
    )
