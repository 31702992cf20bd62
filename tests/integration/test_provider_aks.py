"""The AKS adapter: the real azure-mgmt-containerservice client against a local ARM fake."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from mkportal.services.clusters.kubeconfig import render
from mkportal.services.providers.aks import AksProvider, agent_pool_name
from mkportal.services.providers.base import (
    ClusterSpec,
    PermissionDenied,
    PoolSpec,
    QuotaExceeded,
    Throttled,
)
from tests.fakes.aks import FakeAks
from tests.fakes.portal import enable_provider, observe_until, operation_log
from tests.fakes.server import serving


@pytest.fixture
def fake():
    aks = FakeAks(delay=0.2)
    with serving(aks.app) as url:
        aks.url = url
        yield aks


@pytest.fixture
def provider(fake) -> AksProvider:
    settings = SimpleNamespace(
        aks_subscription_id="11111111-2222-3333-4444-555555555555",
        aks_resource_group="mkportal",
        aks_endpoint=fake.url,
        aks_tenant_id="",
        aks_client_id="",
        aks_client_secret="",
    )
    return AksProvider(settings)


def _spec() -> ClusterSpec:
    return ClusterSpec(
        cluster_id="feedface00112233",
        name="erp",
        region="switzerlandnorth",
        version="1.34",
        pools=[PoolSpec("default", "Standard_D2s_v5", 2)],
        network={"cni": "cilium", "pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/16"},
    )


def test_aks_life_cycle(provider, fake):
    ref = provider.create_cluster(_spec(), "tok")
    assert provider.create_cluster(_spec(), "tok") == ref
    assert list(fake.clusters) == [ref]
    assert provider.get_cluster(ref).status == "creating"
    seen = observe_until(
        provider, ref, lambda s: s.status == "running" and s.pools[0].status == "ready"
    )
    assert (seen.pools[0].name, seen.pools[0].ready, seen.version) == ("default", 2, "1.34")

    provider.create_node_pool(ref, PoolSpec("default", "Standard_D2s_v5", 2), "tok")
    provider.create_node_pool(ref, PoolSpec("batch-jobs", "Standard_D4s_v5", 1), "tok-b")
    provider.create_node_pool(ref, PoolSpec("batch-jobs", "Standard_D4s_v5", 1), "tok-b")
    assert len(fake.pools[ref]) == 2
    observe_until(
        provider, ref, lambda s: len(s.pools) == 2 and all(p.status == "ready" for p in s.pools)
    )

    provider.update_node_pool(ref, PoolSpec("batch-jobs", "Standard_D4s_v5", 3, True, 1, 6))
    seen = observe_until(provider, ref, lambda s: all(p.status == "ready" for p in s.pools))
    batch = next(p for p in seen.pools if p.name == "batch-jobs")
    assert (batch.count, batch.autoscaling, batch.min_count, batch.max_count) == (3, True, 1, 6)

    provider.update_node_pool(ref, PoolSpec("batch-jobs", "Standard_E4s_v5", 3))
    seen = observe_until(
        provider,
        ref,
        lambda s: (
            all(p.status == "ready" for p in s.pools)
            and agent_pool_name("batch-jobs", "Standard_D4s_v5") not in fake.pools[ref]
        ),
    )
    batch = next(p for p in seen.pools if p.name == "batch-jobs")
    assert batch.machine_type == "Standard_E4s_v5"

    provider.set_features(ref, ["rwx-storage"])
    assert observe_until(provider, ref, lambda s: s.status == "running").features == {
        "rwx-storage": "ready"
    }

    provider.delete_node_pool(ref, "batch-jobs")
    observe_until(provider, ref, lambda s: [p.name for p in s.pools] == ["default"])

    creds = provider.credentials(ref)
    doc = yaml.safe_load(render(SimpleNamespace(name="erp", region="switzerlandnorth"), creds))
    assert doc["users"][0]["user"]["token"] == "admin-token-1"
    assert doc["clusters"][0]["cluster"]["server"].endswith("azmk8s.io:443")
    rotated = provider.credentials(ref, rotate=True)
    assert rotated.secret != creds.secret

    provider.delete_cluster(ref)
    provider.delete_cluster(ref)
    observe_until(provider, ref, lambda s: s.status == "deleted")


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (429, "TooManyRequests", Throttled),
        (409, "QuotaExceeded", QuotaExceeded),
        (403, "AuthorizationFailed", PermissionDenied),
    ],
)
def test_aks_errors_map_to_the_contract(provider, fake, status, code, error):
    fake.fail["put_cluster"] = (status, code)
    with pytest.raises(error) as err:
        provider.create_cluster(_spec(), "tok")
    assert "injected" in err.value.message


@pytest.fixture
def aks_portal(fake, monkeypatch):
    """The portal with AKS enabled and pointed at the fake."""
    enable_provider(
        monkeypatch,
        "aks",
        AKS_ENDPOINT=fake.url,
        AKS_SUBSCRIPTION_ID="11111111-2222-3333-4444-555555555555",
    )
    return fake


def _aks_request():
    from tests.unit.test_clusters import _req

    return _req(
        name="on-aks",
        provider="aks",
        region="switzerlandnorth",
        version="1.34",
        node_pools=[
            {"name": "system", "machine_type": "Standard_D2s_v5", "count": 1},
            {
                "name": "apps",
                "machine_type": "Standard_D4s_v5",
                "count": 2,
                "autoscaling": {"enabled": True, "min": 1, "max": 5},
            },
        ],
    )


def test_a_cluster_runs_on_aks_through_the_portal_after_throttling(two_orgs, aks_portal):
    from mkportal.services.clusters import actions
    from tests.unit.test_clusters import _run

    aks_portal.fail["put_pool"] = (429, "TooManyRequests")
    aks_portal.fail_times["put_pool"] = 1
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _aks_request())
    assert _run(op.id, budget=60) == "succeeded"
    view = actions.get_cluster(actor, cluster.id)
    assert view.status == "running"
    assert {p.name: p.ready_count for p in view.node_pools} == {"system": 1, "apps": 2}
    assert any("throttling" in line for line in operation_log(actor, op.id))
    _, op = actions.delete_cluster(actor, cluster.id, confirm_name="on-aks")
    assert _run(op.id) == "succeeded"
    assert aks_portal.clusters == {}


def test_a_permission_error_fails_the_operation_with_a_readable_reason(two_orgs, aks_portal):
    from mkportal.services.clusters import actions
    from tests.unit.test_clusters import _run

    aks_portal.fail["put_cluster"] = (403, "AuthorizationFailed")
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _aks_request())
    assert _run(op.id) == "failed"
    view = actions.get_cluster(actor, cluster.id)
    assert view.status == "failed" and "permission" in view.status_reason.lower()
