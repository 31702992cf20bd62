"""Cluster provisioning on the sandbox: validation, life cycle, isolation (no features)."""

from __future__ import annotations

import time

import pytest
import yaml

from mkportal.services import operations
from mkportal.services.clusters import actions
from mkportal.services.clusters.kubeconfig import kubeconfig
from mkportal.services.clusters.pricing import estimate
from mkportal.services.clusters.spec import ClusterIn, ClusterPatch
from mkportal.services.errors import Conflict, Forbidden, Invalid, NotFound
from mkportal.services.providers.sandbox import CATALOG
from mkportal.worker.engine import execute


@pytest.fixture(autouse=True)
def _fast_sandbox(monkeypatch):
    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")
    monkeypatch.setenv("PROVIDER_INLINE_WAIT", "5")


def _req(**over) -> ClusterIn:
    body = {
        "name": "web",
        "region": "ch-gva-2",
        "version": "1.35",
        "node_pools": [{"name": "default", "machine_type": "s-2", "count": 2}],
    }
    body.update(over)
    return ClusterIn.model_validate(body)


def _run(op_id: str, budget: float = 30.0) -> str:
    """Execute an operation like a worker would, waiting out its backoffs and polls."""
    deadline = time.monotonic() + budget
    status = None
    while time.monotonic() < deadline:
        status = execute(op_id, "test") or status
        if status in ("succeeded", "failed"):
            return status
        time.sleep(0.1)
    return status


def test_create_runs_to_running_and_kubeconfig(two_orgs):
    actor = two_orgs["acme_member"]
    cluster, op, created = actions.create_cluster(actor, _req())
    assert created and cluster.status == "provisioning"
    assert _run(op.id) == "succeeded"
    view = actions.get_cluster(actor, cluster.id)
    assert view.status == "running" and view.current_version == "1.35"
    assert view.node_pools[0].ready_count == 2
    name, text = kubeconfig(actor, cluster.id)
    doc = yaml.safe_load(text)
    assert doc["clusters"][0]["cluster"]["server"].endswith(f"/sandbox/k8s/{view.endpoint[-32:]}")
    assert doc["users"][0]["user"]["token"].startswith("sbx_")
    with pytest.raises(NotFound):
        kubeconfig(two_orgs["globex_owner"], cluster.id)


def test_validation_errors_have_field_paths(two_orgs):
    actor = two_orgs["acme_member"]
    cases = [
        (_req(name="Web_1"), "name"),
        (_req(name="1web"), "name"),
        (_req(region="mars-1"), "region"),
        (_req(version="1.20"), "version"),
        (_req(provider="ibm"), "provider"),
        (_req(service_level="gold"), "service_level"),
        (_req(node_pools=[]), "node_pools"),
        (_req(node_pools=[{"name": "a", "machine_type": "s-2", "count": 0}]), "node_pools"),
        (
            _req(node_pools=[{"name": "a", "machine_type": "x", "count": 1}]),
            "node_pools.0.machine_type",
        ),
        (
            _req(
                node_pools=[
                    {"name": "a", "machine_type": "s-2", "count": 1},
                    {"name": "a", "machine_type": "s-2", "count": 1},
                ]
            ),
            "node_pools.1.name",
        ),
        (
            _req(
                node_pools=[
                    {
                        "name": "a",
                        "machine_type": "s-2",
                        "count": 5,
                        "autoscaling": {"enabled": True, "min": 1, "max": 3},
                    }
                ]
            ),
            "node_pools.0.autoscaling",
        ),
        (
            _req(node_pools=[{"name": "a", "machine_type": "s-2", "count": 101}]),
            "node_pools.0.count",
        ),
        (_req(network={"pod_cidr": "8.8.0.0/16"}), "network.pod_cidr"),
        (_req(network={"pod_cidr": "10.0.0.0/33"}), "network.pod_cidr"),
        (_req(network={"pod_cidr": "10.96.0.0/16"}), "network.service_cidr"),
        (_req(network={"cni": "weave"}), "network.cni"),
        (_req(features=["nope"]), "features.0"),
        (_req(features=["cert-manager"]), "features"),
    ]
    for req, field in cases:
        with pytest.raises(Invalid) as err:
            actions.create_cluster(actor, req)
        assert field in err.value.errors, (field, err.value.errors)


def test_autoscaling_adds_the_cluster_autoscaler(two_orgs):
    pools = [
        {
            "name": "a",
            "machine_type": "s-2",
            "count": 2,
            "autoscaling": {"enabled": True, "min": 1, "max": 5},
        }
    ]
    cluster, _, _ = actions.create_cluster(two_orgs["acme_member"], _req(node_pools=pools))
    assert cluster.features == ["cluster-autoscaler"]
    assert cluster.node_pools[0].autoscaling == {"enabled": True, "min": 1, "max": 5}


def test_names_are_unique_per_org_and_freed_by_deletion(two_orgs):
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _req())
    with pytest.raises(Conflict):
        actions.create_cluster(actor, _req())
    actions.create_cluster(two_orgs["globex_owner"], _req())
    _run(op.id)
    with pytest.raises(Invalid):
        actions.delete_cluster(actor, cluster.id, confirm_name="wrong")
    (
        _,
        delete_op,
    ) = actions.delete_cluster(actor, cluster.id, confirm_name="web")
    assert _run(delete_op.id) == "succeeded"
    gone = actions.get_cluster(actor, cluster.id)
    assert gone.status == "deleted" and gone.deleted_at is not None
    assert actions.list_clusters(actor).total == 0
    assert actions.list_clusters(actor, include_deleted=True).total == 1
    with pytest.raises(Conflict):
        kubeconfig(actor, cluster.id)
    actions.create_cluster(actor, _req())


def test_idempotent_create(two_orgs):
    actor = two_orgs["acme_member"]
    a, op_a, created_a = actions.create_cluster(actor, _req(), idempotency_key="k")
    b, op_b, created_b = actions.create_cluster(actor, _req(), idempotency_key="k")
    assert (a.id, op_a.id, created_a, created_b) == (b.id, op_b.id, True, False)


def test_scale_and_change_machine_type(two_orgs):
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _req())
    _run(op.id)
    patch = ClusterPatch.model_validate(
        {
            "node_pools": [
                {"name": "default", "machine_type": "s-2", "count": 3},
                {"name": "big", "machine_type": "m-8", "count": 1},
            ]
        }
    )
    _, op2 = actions.update_cluster(actor, cluster.id, patch)
    with pytest.raises(Conflict):
        actions.update_cluster(actor, cluster.id, ClusterPatch(service_level="premium"))
    assert _run(op2.id) == "succeeded"
    view = actions.get_cluster(actor, cluster.id)
    assert {(p.name, p.ready_count) for p in view.node_pools} == {("default", 3), ("big", 1)}
    patch = ClusterPatch.model_validate(
        {"node_pools": [{"name": "default", "machine_type": "s-4", "count": 3}]}
    )
    _, op3 = actions.update_cluster(actor, cluster.id, patch)
    assert _run(op3.id) == "succeeded"
    view = actions.get_cluster(actor, cluster.id)
    assert [(p.name, p.machine_type, p.ready_count) for p in view.node_pools] == [
        ("default", "s-4", 3)
    ]
    logs = " ".join(x.message for x in operations.logs(actor, op3.id))
    assert "draining" in logs and "Rolling node pool default onto s-4" in logs


def test_service_level_change_and_roles(two_orgs):
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _req())
    _run(op.id)
    with pytest.raises(Forbidden):
        actions.update_cluster(
            two_orgs["acme_viewer"], cluster.id, ClusterPatch(service_level="premium")
        )
    with pytest.raises(NotFound):
        actions.update_cluster(
            two_orgs["globex_owner"], cluster.id, ClusterPatch(service_level="premium")
        )
    view, op2 = actions.update_cluster(
        two_orgs["operator"], cluster.id, ClusterPatch(service_level="premium")
    )
    assert view.service_level == "premium"
    assert _run(op2.id) == "succeeded"
    with pytest.raises(Invalid):
        actions.update_cluster(actor, cluster.id, ClusterPatch(service_level="premium"))
    admin = actions.list_clusters(two_orgs["operator"], all_orgs=True, service_level="premium")
    assert [c.id for c in admin.items] == [cluster.id]


def test_quota_failure_fails_with_reason_and_retry_resumes(two_orgs, monkeypatch):
    monkeypatch.setenv("SANDBOX_FAIL", "create_node_pool:quota")
    from mkportal.settings import get_settings

    get_settings.cache_clear()
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _req())
    assert _run(op.id) == "failed"
    view = actions.get_cluster(actor, cluster.id)
    assert view.status == "failed" and "Quota exceeded" in view.status_reason
    monkeypatch.setenv("SANDBOX_FAIL", "")
    get_settings.cache_clear()
    operations.retry(actor, op.id)
    assert _run(op.id) == "succeeded"
    assert actions.get_cluster(actor, cluster.id).status == "running"


def test_throttling_is_retried(two_orgs, monkeypatch):
    monkeypatch.setenv("SANDBOX_FAIL", "create_cluster:throttle")
    from mkportal.settings import get_settings

    get_settings.cache_clear()
    cluster, op, _ = actions.create_cluster(two_orgs["acme_member"], _req())
    assert execute(op.id, "t") == "pending"
    assert _run(op.id) == "succeeded"


def test_rotate_credentials_changes_the_token(two_orgs):
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _req())
    _run(op.id)
    before = yaml.safe_load(kubeconfig(actor, cluster.id)[1])["users"][0]["user"]["token"]
    rot = actions.rotate_credentials(actor, cluster.id)
    assert _run(rot.id) == "succeeded"
    after = yaml.safe_load(kubeconfig(actor, cluster.id)[1])["users"][0]["user"]["token"]
    assert before != after


def test_estimate_is_decimal(db):
    est = estimate(CATALOG, [("s-2", 2)], ["ingress-controller"], "professional")
    # (2 x 0.045 + 0.020) CHF/h x 730 h = 80.30; + 150 base fee + 10 % of 80.30 = 238.33
    assert str(est.monthly_total) == "238.33"
    assert est.currency == "CHF"


def test_sandbox_autoscaling_follows_load_within_bounds(two_orgs):
    from mkportal.services.clusters.steps import observe
    from mkportal.services.providers import sandbox

    pools = [
        {
            "name": "a",
            "machine_type": "s-2",
            "count": 2,
            "autoscaling": {"enabled": True, "min": 1, "max": 6},
        }
    ]
    cluster, op, _ = actions.create_cluster(two_orgs["acme_member"], _req(node_pools=pools))
    from mkportal.db import session_scope
    from mkportal.models.cluster import Cluster

    with session_scope() as s:  # the autoscaler feature needs the in-cluster API; skip it here
        row = s.get(Cluster, cluster.id)
        row.features, row.feature_status = [], {}
        s.add(row)
    assert _run(op.id) == "succeeded"
    counts = set()
    for minute in range(0, 60, 5):
        sandbox.autoscale(at=1_800_000_000 + minute * 60)
        observe(cluster.id)
        pool = actions.get_cluster(two_orgs["acme_member"], cluster.id).node_pools[0]
        assert 1 <= pool.count <= 6
        counts.add(pool.count)
    assert len(counts) > 1
    assert "Scaled" in pool.message and "bounds 1-6" in pool.message


def test_cancelled_provisioning_marks_the_cluster_failed(two_orgs):
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _req())
    operations.cancel(actor, op.id)
    view = actions.get_cluster(actor, cluster.id)
    assert view.status == "failed" and "Cancelled by member@acme.test" in view.status_reason
    _, delete_op = actions.delete_cluster(actor, cluster.id, confirm_name="web")
    assert _run(delete_op.id) == "succeeded"
