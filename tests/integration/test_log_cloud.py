"""Control-plane logs from the clouds: CloudWatch Logs (moto server), Cloud Logging and
Log Analytics (local fakes), with cursors that neither skip nor repeat lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.models.log_collection import LogCollection
from mkportal.services.logs import cloud
from mkportal.services.logs.store import LogQuery, get_store
from mkportal.settings import get_settings
from tests.fakes.cloud_logging import FakeCloudLogging, FakeLogAnalytics
from tests.fakes.server import serving

pytestmark = pytest.mark.slow

NOW = datetime.now(UTC).replace(microsecond=0)
AUDIT = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "level": "Metadata",
    "auditID": "6c2d1f0e-1111-4a5b-9c1e-0123456789ab",
    "stage": "ResponseComplete",
    "requestURI": "/api/v1/namespaces/shop/pods/web-1",
    "verb": "delete",
    "user": {"username": "kubernetes-admin", "groups": ["system:masters"]},
    "sourceIPs": ["192.0.2.10"],
    "userAgent": "kubectl/v1.34.1",
    "objectRef": {"resource": "pods", "namespace": "shop", "name": "web-1", "apiVersion": "v1"},
    "responseStatus": {"metadata": {}, "code": 200},
}


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _aws(moto_url: str, service: str):  # noqa: ANN202
    return boto3.client(
        service,
        region_name="eu-central-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _put(logs, group: str, stream: str, events: list[tuple[datetime, str]]) -> None:  # noqa: ANN001
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": _ms(ts), "message": text} for ts, text in events],
    )


def _seed_eks(logs, name: str) -> str:  # noqa: ANN001
    group = f"/aws/eks/{name}/cluster"
    logs.create_log_group(logGroupName=group)
    t = NOW - timedelta(minutes=5)
    _put(
        logs,
        group,
        "kube-apiserver-0a1b",
        [
            (t, 'I1124 10:00:00.000001       1 httplog.go:134] "HTTP" verb="GET" resp=200'),
            (t + timedelta(seconds=1), "E1124 10:00:01.000001       1 controller.go:9] boom"),
        ],
    )
    _put(logs, group, "kube-apiserver-audit-0a1b", [(t + timedelta(seconds=2), json.dumps(AUDIT))])
    _put(
        logs,
        group,
        "kube-scheduler-0a1b",
        [
            (
                t + timedelta(seconds=3),
                'W1124 10:00:03.000001       1 schedule_one.go:1055] "no fit"',
            ),
        ],
    )
    _put(
        logs,
        group,
        "authenticator-0a1b",
        [
            (
                t + timedelta(seconds=4),
                'time="2026-11-24T10:00:04Z" level=info msg="access granted"',
            ),
        ],
    )
    _put(
        logs,
        group,
        "kube-controller-manager-0a1b",
        [
            (
                t + timedelta(seconds=4),
                'I1124 10:00:04.000001       1 replica_set.go:679] "Finished"',
            ),
        ],
    )
    return group


def test_cloudwatch_pull_with_cursor_has_no_duplicates(moto_url):
    logs = _aws(moto_url, "logs")
    group = _seed_eks(logs, "mk-alpha")
    lines, cursor = cloud.pull_eks(logs, "mk-alpha", {}, now=NOW)
    assert len(lines) == 6
    by = {}
    for line in lines:
        by.setdefault(line["component"], []).append(line)
    assert len(by["kube-apiserver"]) == 3  # apiserver and authenticator streams
    assert [line["level"] for line in by["kube-apiserver"][:2]] == ["info", "error"]
    assert by["kube-scheduler"][0]["level"] == "warn"
    audit = by["audit"][0]["attrs"]
    assert audit["verb"] == "delete" and audit["user"] == "kubernetes-admin"
    assert audit["resource"] == "pods" and audit["namespace"] == "shop"
    assert audit["responseStatus"] == 200
    assert all(line["stream"] == "control-plane" for line in lines)

    again, cursor2 = cloud.pull_eks(logs, "mk-alpha", cursor, now=NOW)
    assert again == [] and cursor2 == cursor
    last = datetime.fromisoformat(cursor["ts"])
    _put(
        logs,
        group,
        "kube-scheduler-0a1b",
        [
            (last, 'I1124 10:00:04.000001       1 schedule_one.go:314] "same millisecond"'),
            (
                last + timedelta(seconds=1),
                'I1124 10:00:05.000001       1 schedule_one.go:314] "bound"',
            ),
        ],
    )
    new, cursor3 = cloud.pull_eks(logs, "mk-alpha", cursor, now=NOW)
    assert [line["message"][-7:] for line in new] == ['second"', '"bound"']
    assert cloud.pull_eks(logs, "mk-alpha", cursor3, now=NOW)[0] == []


def test_cloudwatch_pull_is_capped_and_resumes(moto_url):
    logs = _aws(moto_url, "logs")
    group = "/aws/eks/mk-many/cluster"
    logs.create_log_group(logGroupName=group)
    start = NOW - timedelta(minutes=10)
    _put(
        logs,
        group,
        "kube-apiserver-x",
        [
            (start + timedelta(seconds=i), f"I1124 10:00:00.000001       1 x.go:1] line {i}")
            for i in range(25)
        ],
    )
    seen, cursor = [], {}
    for _ in range(4):
        lines, cursor = cloud.pull_eks(logs, "mk-many", cursor, limit=10, now=NOW)
        assert len(lines) <= 10
        seen += [line["message"].rsplit(" ", 1)[1] for line in lines]
    assert seen == [str(i) for i in range(25)]
    assert cloud.pull_eks(logs, "mk-nothing", {}, now=NOW) == ([], {})


def test_eks_logging_enabled_and_pulled_by_the_tick(moto_url, two_orgs, monkeypatch):
    for name, value in {
        "EKS_ENDPOINT_URL": moto_url,
        "EKS_ACCESS_KEY_ID": "testing",
        "EKS_SECRET_ACCESS_KEY": "testing",
        "EKS_REGION": "eu-central-1",
        "PROVIDERS": '["sandbox", "eks"]',
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    eks = _aws(moto_url, "eks")
    eks.create_cluster(
        name="mk-beta",
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-a"]},
    )
    assert cloud.enable_eks_logging("mk-beta") == ""
    logging_cfg = eks.describe_cluster(name="mk-beta")["cluster"]["logging"]["clusterLogging"]
    enabled = {t for item in logging_cfg if item["enabled"] for t in item["types"]}
    assert enabled == set(cloud.EKS_LOG_TYPES)
    assert "could not be enabled" in cloud.enable_eks_logging("mk-missing")

    _seed_eks(_aws(moto_url, "logs"), "mk-beta")
    org_id = two_orgs["acme_member"].org_id
    with session_scope() as s:
        cluster = Cluster(
            org_id=org_id,
            name="beta",
            provider="eks",
            region="eu-central-1",
            version="1.34",
            status="running",
            provider_ref="mk-beta",
        )
        s.add(cluster)
        s.flush()
        s.add(LogCollection(cluster_id=cluster.id, org_id=org_id, enabled=True))
        cluster_id = cluster.id
    assert cloud.pull_all(now=NOW) == {cluster_id: 6}
    assert cloud.pull_all(now=NOW) == {cluster_id: 0}
    stored = get_store().search(LogQuery(org_id, cluster_id, "control-plane", limit=100)).items
    assert len(stored) == 6
    assert {line.component for line in stored} == {
        "kube-apiserver",
        "audit",
        "kube-scheduler",
        "kube-controller-manager",
    }
    with session_scope() as s:
        row = s.get(LogCollection, cluster_id)
        assert row.cursor["ts"] and row.message == ""


def _entry(ts: datetime, insert_id: str, cluster: str = "mk-gamma", **payload) -> dict:
    base = {
        "insertId": insert_id,
        "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z",
        "receiveTimestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "severity": payload.pop("severity", "INFO"),
        "logName": "projects/proj-1/logs/container.googleapis.com%2Fapiserver",
        "resource": {
            "type": "k8s_control_plane_component",
            "labels": {
                "project_id": "proj-1",
                "location": "europe-west6",
                "cluster_name": cluster,
                "component_name": payload.pop("component", "apiserver"),
            },
        },
    }
    return {**base, **payload}


def test_gke_cloud_logging_entries_with_cursor():
    fake = FakeCloudLogging()
    t = NOW - timedelta(minutes=3)
    fake.entries += [
        _entry(t, "a1", textPayload='I1124 10:00:00.000001 1 httplog.go:134] "HTTP" resp=200'),
        _entry(
            t + timedelta(seconds=1),
            "a2",
            component="scheduler",
            severity="WARNING",
            jsonPayload={"message": "no nodes available"},
        ),
        _entry(t + timedelta(seconds=2), "x1", cluster="someone-else", textPayload="other"),
        {
            **_entry(t + timedelta(seconds=3), "a3", severity="NOTICE"),
            "logName": "projects/proj-1/logs/cloudaudit.googleapis.com%2Factivity",
            "resource": {
                "type": "k8s_cluster",
                "labels": {"location": "europe-west6", "cluster_name": "mk-gamma"},
            },
            "protoPayload": {
                "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                "methodName": "io.k8s.core.v1.pods.delete",
                "resourceName": "core/v1/namespaces/shop/pods/web-1",
                "authenticationInfo": {"principalEmail": "dev@example.com"},
                "status": {},
            },
        },
        _entry(
            t + timedelta(seconds=4),
            "a4",
            component="controller-manager",
            textPayload="E1124 10:00:04.000001 1 x.go:1] failed",
        ),
    ]
    ref = "projects/proj-1/locations/europe-west6/clusters/mk-gamma"
    with serving(fake.app) as url, httpx.Client(base_url=url) as http:
        lines, cursor = cloud.pull_gke(http, ref, {}, limit=10, now=NOW)
        assert [line["component"] for line in lines] == [
            "kube-apiserver",
            "kube-scheduler",
            "audit",
            "kube-controller-manager",
        ]
        assert lines[1]["level"] == "warn" and lines[1]["message"] == "no nodes available"
        assert lines[3]["level"] == "info"  # GKE's severity wins over the klog prefix
        audit = lines[2]["attrs"]
        assert (audit["verb"], audit["resource"], audit["namespace"], audit["user"]) == (
            "delete",
            "pods",
            "shop",
            "dev@example.com",
        )
        assert audit["responseStatus"] == 200
        assert 'cluster_name="mk-gamma"' in fake.requests[0]["filter"]
        assert cloud.pull_gke(http, ref, cursor, now=NOW)[0] == []
        fake.entries.append(
            _entry(t + timedelta(seconds=9), "a5", textPayload="W1124 10:00:09.0 1 y.go:2] slow")
        )
        newer, _ = cloud.pull_gke(http, ref, cursor, now=NOW)
        assert [line["message"][-4:] for line in newer] == ["slow"]
        paged, _ = cloud.pull_gke(http, ref, {}, limit=2, now=NOW)
        assert len(paged) == 2


def test_aks_log_analytics_rows_with_cursor():
    fake = FakeLogAnalytics()
    rid = (
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/"
        "managedClusters/mk-d"
    )
    t = NOW - timedelta(minutes=2)

    def row(delta: int, category: str, text: str, resource: str = rid) -> dict:
        ts = (t + timedelta(seconds=delta)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {
            "TimeGenerated": ts,
            "Category": category,
            "ResourceId": resource.upper(),
            "log_s": text,
        }

    fake.rows["ws-1"] = [
        row(0, "kube-apiserver", 'I1124 10:00:00.000001 1 httplog.go:134] "HTTP" resp=200'),
        row(1, "kube-audit", json.dumps(AUDIT)),
        row(1, "kube-scheduler", "W1124 10:00:01.000001 1 s.go:1] unschedulable"),
        row(2, "cluster-autoscaler", "I1124 not collected"),
        row(3, "kube-controller-manager", "I1124 10:00:03.000001 1 c.go:1] synced", "/other"),
    ]
    with serving(fake.app) as url, httpx.Client(base_url=url) as http:
        lines, cursor = cloud.pull_aks(http, "ws-1", rid, {}, now=NOW)
        assert [line["component"] for line in lines] == [
            "kube-apiserver",
            "audit",
            "kube-scheduler",
        ]
        assert lines[1]["attrs"]["verb"] == "delete" and lines[1]["attrs"]["namespace"] == "shop"
        assert lines[2]["level"] == "warn"
        assert cloud.pull_aks(http, "ws-1", rid, cursor, now=NOW)[0] == []
        fake.rows["ws-1"].append(row(1, "kube-apiserver", "E1124 10:00:01.000002 1 a.go:1] late"))
        late, _ = cloud.pull_aks(http, "ws-1", rid, cursor, now=NOW)
        assert [(line["level"], line["message"][-4:]) for line in late] == [("error", "late")]
        with pytest.raises(httpx.HTTPStatusError):
            cloud.pull_aks(http, "ws-missing", rid, {}, now=NOW)
