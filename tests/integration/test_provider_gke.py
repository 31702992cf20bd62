"""The GKE adapter: the real google-cloud-container client (REST) against a local fake."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mkportal.services.clusters.kubeconfig import render
from mkportal.services.providers.base import (
    ClusterSpec,
    PermissionDenied,
    PoolSpec,
    QuotaExceeded,
    Throttled,
)
from mkportal.services.providers.gke import GkeProvider
from tests.fakes.gke import FakeGke
from tests.fakes.portal import enable_provider, observe_until, operation_log
from tests.fakes.server import serving


@pytest.fixture
def fake():
    gke = FakeGke(delay=0.2)
    with serving(gke.app) as url:
        gke.url = url
        yield gke


@pytest.fixture
def provider(fake) -> GkeProvider:
    settings = SimpleNamespace(
        gke_project="acme-prod", gke_endpoint=fake.url, gke_credentials_file=""
    )
    return GkeProvider(settings)


def _spec() -> ClusterSpec:
    return ClusterSpec(
        cluster_id="c0ffee00deadbeef",
        name="shop",
        region="europe-west6",
        version="1.34",
        pools=[PoolSpec("default", "e2-standard-2", 2)],
        network={"pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/16"},
    )


def test_gke_life_cycle(provider, fake):
    ref = provider.create_cluster(_spec(), "tok")
    assert provider.create_cluster(_spec(), "tok") == ref  # a retry creates nothing new
    assert len(fake.clusters) == 1
    assert provider.get_cluster(ref).status == "creating"
    seen = observe_until(
        provider, ref, lambda s: s.status == "running" and s.pools[0].status == "ready"
    )
    assert seen.version == "1.34" and seen.pools[0].ready == 2

    provider.create_node_pool(ref, PoolSpec("default", "e2-standard-2", 2), "tok-pool")
    provider.create_node_pool(ref, PoolSpec("batch", "n2-standard-4", 1), "tok-batch")
    observe_until(
        provider, ref, lambda s: len(s.pools) == 2 and all(p.status == "ready" for p in s.pools)
    )

    provider.update_node_pool(ref, PoolSpec("default", "e2-standard-2", 3, True, 1, 5))
    provider.update_node_pool(ref, PoolSpec("batch", "n2-standard-8", 1))
    seen = observe_until(provider, ref, lambda s: all(p.status == "ready" for p in s.pools))
    pools = {p.name: p for p in seen.pools}
    assert (pools["default"].count, pools["default"].autoscaling, pools["default"].max_count) == (
        3,
        True,
        5,
    )
    assert pools["batch"].machine_type == "n2-standard-8"

    provider.set_features(ref, ["rwx-storage", "network-policy", "log-agent"])
    assert provider.get_cluster(ref).features == {"rwx-storage": "ready", "network-policy": "ready"}

    provider.delete_node_pool(ref, "batch")
    provider.delete_node_pool(ref, "batch")
    observe_until(provider, ref, lambda s: [p.name for p in s.pools] == ["default"])

    creds = provider.credentials(ref)
    doc = render(SimpleNamespace(name="shop", region="europe-west6"), creds)
    assert "gke-gcloud-auth-plugin" in doc and "https://203.0.113.40" in doc
    rotated = provider.credentials(ref, rotate=True)
    assert rotated.ca_data != creds.ca_data

    provider.delete_cluster(ref)
    provider.delete_cluster(ref)
    observe_until(provider, ref, lambda s: s.status == "deleted")


@pytest.mark.parametrize(
    ("status", "grpc", "error"),
    [
        (429, "RESOURCE_EXHAUSTED", QuotaExceeded),
        (429, "UNAVAILABLE", Throttled),
        (403, "PERMISSION_DENIED", PermissionDenied),
        (400, "FAILED_PRECONDITION", Throttled),
    ],
)
def test_gke_errors_map_to_the_contract(provider, fake, status, grpc, error):
    fake.fail["create_cluster"] = (status, grpc)
    with pytest.raises(error) as err:
        provider.create_cluster(_spec(), "tok")
    assert "injected" in err.value.message


@pytest.fixture
def gke_portal(fake, monkeypatch):
    """The portal with GKE enabled and pointed at the fake."""
    enable_provider(monkeypatch, "gke", GKE_ENDPOINT=fake.url, GKE_PROJECT="acme-prod")
    return fake


def _gke_request():
    from tests.unit.test_clusters import _req

    return _req(
        name="on-gke",
        provider="gke",
        region="europe-west6",
        version="1.34",
        node_pools=[{"name": "default", "machine_type": "e2-standard-2", "count": 2}],
    )


def test_throttling_is_retried_and_the_cluster_runs(two_orgs, gke_portal):
    from mkportal.services.clusters import actions
    from tests.unit.test_clusters import _run

    gke_portal.fail["create_cluster"] = (429, "UNAVAILABLE")
    gke_portal.fail_times["create_cluster"] = 2
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _gke_request())
    assert _run(op.id) == "succeeded"
    assert actions.get_cluster(actor, cluster.id).status == "running"
    assert sum("throttling" in line for line in operation_log(actor, op.id)) == 2
    assert len(gke_portal.clusters) == 1


def test_a_quota_error_fails_the_operation_with_a_readable_reason(two_orgs, gke_portal):
    from mkportal.services import operations
    from mkportal.services.clusters import actions
    from tests.unit.test_clusters import _run

    gke_portal.fail["create_cluster"] = (429, "RESOURCE_EXHAUSTED")
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _gke_request())
    assert _run(op.id) == "failed"
    failed = operations.get(actor, op.id)
    assert "quota" in failed.error.lower()
    view = actions.get_cluster(actor, cluster.id)
    assert view.status == "failed" and "quota" in view.status_reason.lower()
