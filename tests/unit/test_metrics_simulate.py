"""The sandbox exporter: deterministic, monotonic counters, faults, the exposition format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.metrics import MetricsCollection
from mkportal.services.errors import Invalid, NotFound
from mkportal.services.metrics import catalog as c
from mkportal.services.metrics import faults, simulate
from tests.fakes.metrics_data import sandbox_cluster

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _samples(now: datetime) -> dict[tuple, float]:
    out = {}
    for fam in text_string_to_metric_families(simulate.exposition(now)):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(samples: dict, name: str, **labels: str) -> float:
    return sum(
        v for (n, lbl), v in samples.items() if n == name and labels.items() <= dict(lbl).items()
    )


@pytest.fixture
def cluster(two_orgs) -> dict:
    acme = two_orgs["acme_owner"].org_id
    cid = sandbox_cluster(acme, started=T0 - timedelta(days=2))
    return {"id": cid, "org": acme, **two_orgs}


def test_exposition_parses_and_has_every_raw_series(cluster):
    samples = _samples(T0)
    names = {n for n, _ in samples}
    for name in (c.CLUSTER_INFO, c.APISERVER_UP, c.NODE_READY, c.NODE_CPU, c.NODE_MEMORY, c.PODS):
        assert name in names
    assert f"{c.APISERVER_REQUESTS}" in names or f"{c.APISERVER_REQUESTS}_total" in names
    assert f"{c.APISERVER_LATENCY}_bucket" in names
    assert c.CERT_EXPIRY in names and c.BACKUP_LAST_SUCCESS in names
    info = [dict(lbl) for n, lbl in samples if n == c.CLUSTER_INFO]
    assert info == [
        {
            "org": cluster["org"],
            "cluster": cluster["id"],
            "cluster_name": "prod",
            "provider": "sandbox",
            "service_level": "standard",
            "priority": info[0]["priority"],
            "version": "1.35",
        }
    ]
    for _name, lbl in samples:
        assert dict(lbl)["org"] == cluster["org"]
        assert dict(lbl)["cluster"] == cluster["id"]


def test_counters_are_deterministic_and_monotonic(cluster):
    first = simulate.exposition(T0)
    assert simulate.exposition(T0) == first
    previous = _samples(T0)
    for minutes in (1, 7, 60, 600, 1440):
        current = _samples(T0 + timedelta(minutes=minutes))
        for key, value in previous.items():
            if key[0].endswith(("_total", "_bucket", "_count", "_sum")):
                assert current[key] >= value, key
        previous = current


def test_app_series_only_while_collection_is_enabled(cluster):
    assert _value(_samples(T0), "http_requests_total") == 0
    with session_scope() as s:
        s.add(MetricsCollection(cluster_id=cluster["id"], org_id=cluster["org"], enabled=True))
    samples = _samples(T0)
    assert _value(samples, "http_requests_total", namespace="shop", app="web") > 0
    with session_scope() as s:
        row = s.get(MetricsCollection, cluster["id"])
        row.namespaces = ["other"]
        s.add(row)
    assert _value(_samples(T0), "http_requests_total") == 0


def test_faults_change_series_and_keep_counters_monotonic(cluster):
    op = cluster["operator"]
    before = _samples(T0)
    errors_before = _value(before, "apiserver_request_total", code="500")
    faults.set_faults(
        op,
        cluster["id"],
        {"api_down": True, "nodes_not_ready": 1, "backup_stale": True, "cert_expiry_days": 3},
        now=T0.timestamp(),
    )
    down = _samples(T0 + timedelta(minutes=10))
    assert _value(down, c.APISERVER_UP) == 0
    # While the API is down no requests are counted.
    assert _value(down, "apiserver_request_total") == pytest.approx(
        _value(before, "apiserver_request_total")
    )
    ready = _value(down, c.NODE_READY, condition="Ready", status="true")
    assert ready == 1
    assert _value(down, c.CERT_EXPIRY) / 3 == pytest.approx(T0.timestamp() + 3 * 86400)
    assert _value(down, c.BACKUP_LAST_SUCCESS) < T0.timestamp() - 2 * 86400
    faults.set_faults(op, cluster["id"], {"error_ratio": 0.5}, now=T0.timestamp() + 1200)
    later = _samples(T0 + timedelta(minutes=30))
    assert _value(later, c.APISERVER_UP) == 1
    added = _value(later, "apiserver_request_total") - _value(down, "apiserver_request_total")
    added_errors = _value(later, "apiserver_request_total", code="500") - errors_before
    assert added_errors / added == pytest.approx(0.5, rel=0.01)
    for key, value in down.items():
        if key[0].endswith(("_total", "_bucket", "_count")):
            assert later[key] >= value, key


def test_latency_fault_moves_p99(cluster):
    faults.set_faults(
        cluster["operator"], cluster["id"], {"latency_seconds": 3}, now=T0.timestamp()
    )
    a = _samples(T0 + timedelta(minutes=1))
    b = _samples(T0 + timedelta(minutes=6))
    total = _value(b, "apiserver_request_duration_seconds_count") - _value(
        a, "apiserver_request_duration_seconds_count"
    )
    fast = _value(b, "apiserver_request_duration_seconds_bucket", le="1.0") - _value(
        a, "apiserver_request_duration_seconds_bucket", le="1.0"
    )
    assert fast / total < 0.99  # p99 is above one second


def test_fault_injection_is_operator_only_and_audited(cluster):
    with pytest.raises(NotFound):
        faults.set_faults(cluster["acme_owner"], cluster["id"], {"api_down": True})
    with pytest.raises(Invalid) as err:
        faults.set_faults(cluster["operator"], cluster["id"], {"error_ratio": 2, "boom": 1})
    assert set(err.value.errors) == {"error_ratio", "faults"}
    faults.set_faults(cluster["operator"], cluster["id"], {"api_down": True})
    assert faults.get_faults(cluster["operator"], cluster["id"])["api_down"] is True
    with session_scope() as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "metrics.faults_set")).all()
    assert [(e.target_id, e.org_id) for e in events] == [(cluster["id"], cluster["org"])]


def test_deleted_and_other_provider_clusters(cluster, two_orgs):
    from mkportal.models.cluster import Cluster

    with session_scope() as s:
        s.add(
            Cluster(
                org_id=two_orgs["globex_owner"].org_id,
                name="eks-one",
                provider="eks",
                region="eu-west-1",
                version="1.35",
            )
        )
        row = s.get(Cluster, cluster["id"])
        row.deleted_at = T0
        s.add(row)
    samples = _samples(T0)
    info = [dict(lbl) for n, lbl in samples if n == c.CLUSTER_INFO]
    assert [i["cluster_name"] for i in info] == ["eks-one"]
    assert {n for n, _ in samples} == {c.CLUSTER_INFO}
