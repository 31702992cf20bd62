"""The EKS adapter against moto's EKS server (the real boto3 client over HTTP)."""

from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from mkportal.services import operations
from mkportal.services.clusters import actions
from mkportal.services.clusters.kubeconfig import render
from mkportal.services.providers.base import (
    ClusterSpec,
    PermissionDenied,
    PoolSpec,
    QuotaExceeded,
    Throttled,
)
from mkportal.services.providers.eks import EksProvider, _error, group_name
from mkportal.settings import get_settings
from tests.unit.test_clusters import _req, _run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def eks(moto_url, monkeypatch) -> EksProvider:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = SimpleNamespace(
        eks_region="eu-central-1",
        eks_endpoint_url=moto_url,
        eks_access_key_id="testing",
        eks_secret_access_key="testing",
        eks_cluster_role_arn="arn:aws:iam::123456789012:role/eks",
        eks_node_role_arn="arn:aws:iam::123456789012:role/node",
        eks_subnet_ids=["subnet-a", "subnet-b"],
    )
    return EksProvider(settings)


def _spec(name: str) -> ClusterSpec:
    return ClusterSpec(
        cluster_id=f"{name}0000000000",
        name=name,
        region="eu-central-1",
        version="1.34",
        pools=[PoolSpec("default", "m6i.large", 2)],
        network={"service_cidr": "10.100.0.0/16"},
    )


def test_create_is_idempotent_and_pools_scale_autoscale_and_change_type(eks):
    ref = eks.create_cluster(_spec("alpha"), "token-alpha")
    assert eks.create_cluster(_spec("alpha"), "token-alpha") == ref
    assert eks.client.list_clusters()["clusters"].count(ref) == 1
    seen = eks.get_cluster(ref)
    assert seen.status == "running" and seen.version == "1.34"

    pool = PoolSpec("default", "m6i.large", 2)
    eks.create_node_pool(ref, pool, "tok-pool")
    eks.create_node_pool(ref, pool, "tok-pool")  # a retried step creates nothing new
    assert eks.client.list_nodegroups(clusterName=ref)["nodegroups"] == [
        group_name("default", "m6i.large")
    ]
    assert eks.get_cluster(ref).pools[0].ready == 2

    eks.update_node_pool(ref, PoolSpec("default", "m6i.large", 3, True, 1, 6))
    p = eks.get_cluster(ref).pools[0]
    assert (p.count, p.autoscaling, p.min_count, p.max_count) == (3, True, 1, 6)

    eks.update_node_pool(ref, PoolSpec("default", "m6i.xlarge", 3))
    eks.get_cluster(ref)  # observing finishes the replacement
    groups = eks.client.list_nodegroups(clusterName=ref)["nodegroups"]
    assert groups == [group_name("default", "m6i.xlarge")]
    p = eks.get_cluster(ref).pools[0]
    assert (p.machine_type, p.count, p.status) == ("m6i.xlarge", 3, "ready")

    eks.delete_node_pool(ref, "default")
    assert eks.get_cluster(ref).pools == []
    creds = eks.credentials(ref)
    doc = render(SimpleNamespace(name="alpha", region="eu-central-1"), creds)
    assert "command: aws" in doc and f"- {ref}" in doc and "eks" in doc
    eks.delete_cluster(ref)
    eks.delete_cluster(ref)
    assert eks.get_cluster(ref).status == "deleted"


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 400, Throttled),
        ("ResourceLimitExceededException", 400, QuotaExceeded),
        ("AccessDeniedException", 403, PermissionDenied),
    ],
)
def test_aws_errors_map_to_the_contract(code, status, error):
    exc = ClientError(
        {
            "Error": {"Code": code, "Message": "nope"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "CreateCluster",
    )
    mapped = _error(exc)
    assert isinstance(mapped, error) and "nope" in mapped.message


def test_a_cluster_is_provisioned_on_eks_through_the_portal(two_orgs, moto_url, monkeypatch):
    for key, value in {
        "PROVIDERS": '["sandbox", "eks"]',
        "EKS_ENDPOINT_URL": moto_url,
        "EKS_ACCESS_KEY_ID": "testing",
        "EKS_SECRET_ACCESS_KEY": "testing",
        "PROVIDER_INLINE_WAIT": "5",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    actor = two_orgs["acme_member"]
    req = _req(
        name="on-eks",
        provider="eks",
        region="eu-central-1",
        version="1.34",
        node_pools=[{"name": "default", "machine_type": "m6i.large", "count": 2}],
    )
    throttled = []

    def throttle_once(**_kwargs):
        if throttled:
            return None
        throttled.append(1)
        error = {"Code": "ThrottlingException", "Message": "Rate exceeded"}
        return SimpleNamespace(status_code=400), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    from mkportal.services.providers.registry import get_provider

    events = get_provider("eks").client.meta.events
    events.register("before-call.eks.CreateNodegroup", throttle_once)
    cluster, op, _ = actions.create_cluster(actor, req)
    assert _run(op.id) == "succeeded"
    log = [line.message for line in operations.logs(actor, op.id)]
    assert throttled and any("throttling" in line for line in log)
    view = actions.get_cluster(actor, cluster.id)
    assert view.status == "running" and view.node_pools[0].ready_count == 2
    client = boto3.client(
        "eks",
        region_name="eu-central-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert any(c.startswith("mk-on-eks-") for c in client.list_clusters()["clusters"])
    _, op = actions.delete_cluster(actor, cluster.id, confirm_name="on-eks")
    assert _run(op.id) == "succeeded"
    assert actions.get_cluster(actor, cluster.id).status == "deleted"
