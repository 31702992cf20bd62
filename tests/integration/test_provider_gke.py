"""The GKE adapter: the real google-cloud-container client (REST) against a local fake."""

from __future__ import annotations

import time
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


def _until(provider: GkeProvider, ref: str, check, timeout: float = 10):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        seen = provider.get_cluster(ref)
        if check(seen):
            return seen
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)


def test_gke_life_cycle(provider, fake):
    ref = provider.create_cluster(_spec(), "tok")
    assert provider.create_cluster(_spec(), "tok") == ref  # a retry creates nothing new
    assert len(fake.clusters) == 1
    assert provider.get_cluster(ref).status == "creating"
    seen = _until(provider, ref, lambda s: s.status == "running" and s.pools[0].status == "ready")
    assert seen.version == "1.34" and seen.pools[0].ready == 2

    provider.create_node_pool(ref, PoolSpec("default", "e2-standard-2", 2), "tok-pool")
    provider.create_node_pool(ref, PoolSpec("batch", "n2-standard-4", 1), "tok-batch")
    _until(provider, ref, lambda s: len(s.pools) == 2 and all(p.status == "ready" for p in s.pools))

    provider.update_node_pool(ref, PoolSpec("default", "e2-standard-2", 3, True, 1, 5))
    provider.update_node_pool(ref, PoolSpec("batch", "n2-standard-8", 1))
    seen = _until(provider, ref, lambda s: all(p.status == "ready" for p in s.pools))
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
    _until(provider, ref, lambda s: [p.name for p in s.pools] == ["default"])

    creds = provider.credentials(ref)
    doc = render(SimpleNamespace(name="shop", region="europe-west6"), creds)
    assert "gke-gcloud-auth-plugin" in doc and "https://203.0.113.40" in doc
    rotated = provider.credentials(ref, rotate=True)
    assert rotated.ca_data != creds.ca_data

    provider.delete_cluster(ref)
    provider.delete_cluster(ref)
    _until(provider, ref, lambda s: s.status == "deleted")


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
