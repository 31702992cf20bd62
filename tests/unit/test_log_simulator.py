"""The sandbox log simulator: realistic lines, bounded ticks, namespaces, audit attrs."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.models.log_collection import LogCollection
from mkportal.models.sandbox import SandboxObject
from mkportal.services.clusters import actions
from mkportal.services.logs import simulator
from mkportal.services.logs.store import LogQuery, get_store
from mkportal.settings import get_settings
from tests.unit.test_clusters import _req, _run

NOW = datetime.now(UTC).replace(microsecond=0)
ACCESS = re.compile(r'^[\d.]+ - - \[[^\]]+\] "(GET|POST|PUT|DELETE) \S+ HTTP/1\.1" \d{3} \d+ ')


def _pod(ref: str, ns: str, name: str, image: str) -> SandboxObject:
    body = {
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "nodeName": "node-a",
            "containers": [{"name": name.split("-")[0], "image": image}],
        },
        "status": {"phase": "Running"},
    }
    return SandboxObject(ref=ref, kind="Pod", namespace=ns, name=name, body=json.dumps(body))


@pytest.fixture
def sandbox(two_orgs, monkeypatch) -> dict:
    """Two running sandbox clusters; the first collects namespace `shop` only."""
    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")
    monkeypatch.setenv("PROVIDER_INLINE_WAIT", "5")
    monkeypatch.setenv("SANDBOX_LOG_RATE", "2")
    get_settings.cache_clear()
    ids = []
    for actor, name in ((two_orgs["acme_member"], "shop"), (two_orgs["globex_owner"], "other")):
        cluster, op, _ = actions.create_cluster(actor, _req(name=name))
        assert _run(op.id) == "succeeded"
        ids.append(cluster.id)
    with session_scope() as s:
        for cluster_id in ids:
            ref = s.get(Cluster, cluster_id).provider_ref
            s.add(_pod(ref, "shop", "web-5d9c-abcde", "nginx:1.27"))
            s.add(_pod(ref, "shop", "api-7f8b-fghij", "registry.example/shop/api:1.4"))
            s.add(_pod(ref, "batch", "job-1-xyz", "registry.example/batch:2"))
        first = s.get(Cluster, ids[0])
        s.add(
            LogCollection(
                cluster_id=ids[0],
                org_id=first.org_id,
                enabled=True,
                namespaces=["shop"],
                sim_at=NOW - timedelta(seconds=60),
            )
        )
        second = s.get(Cluster, ids[1])
        s.add(
            LogCollection(
                cluster_id=ids[1], org_id=second.org_id, sim_at=NOW - timedelta(seconds=60)
            )
        )
    return {"collecting": ids[0], "idle": ids[1], **two_orgs}


def _lines(cluster_id: str, stream: str) -> list:
    with session_scope() as s:
        org_id = s.get(Cluster, cluster_id).org_id
    return get_store().search(LogQuery(org_id, cluster_id, stream, limit=1000)).items


def test_tick_produces_app_lines_from_chosen_namespaces_only(sandbox):
    stored = simulator.simulate(now=NOW, seed=7)
    app = _lines(sandbox["collecting"], "app")
    assert 90 <= len(app) <= 150  # 2 lines/s for 60 s
    assert stored[sandbox["collecting"]] == len(app) + len(
        _lines(sandbox["collecting"], "control-plane")
    )
    assert {line.namespace for line in app} == {"shop"}
    assert {line.pod for line in app} <= {"web-5d9c-abcde", "api-7f8b-fghij"}
    access = [line for line in app if line.container == "web"]
    assert access and all(ACCESS.match(line.message) for line in access)
    assert all(line.attrs["status"] >= 500 for line in access if line.level == "error")
    json_lines = [line for line in app if line.container == "api"]
    assert json_lines
    for line in json_lines:
        record = json.loads(line.message.split("\n", 1)[0])
        assert record["level"] == line.level and record["msg"]
    assert {line.level for line in app} >= {"info", "warn"}
    assert all(NOW - timedelta(seconds=61) <= line.ts <= NOW for line in app)


def test_control_plane_lines_for_every_cluster_with_audit_attrs(sandbox):
    simulator.simulate(now=NOW, seed=7)
    assert _lines(sandbox["idle"], "app") == []
    cp = _lines(sandbox["idle"], "control-plane")
    assert 45 <= len(cp) <= 75  # half the application rate
    assert {line.component for line in cp} == {
        "kube-apiserver",
        "audit",
        "kube-scheduler",
        "kube-controller-manager",
    }
    for line in cp:
        if line.component == "audit":
            assert {"verb", "user", "resource", "namespace", "responseStatus"} <= set(line.attrs)
            assert line.attrs["verb"] in simulator.VERBS
        elif line.component != "audit":
            assert re.match(r"^[IWE]\d{4} \d\d:\d\d:\d\d\.\d{6} ", line.message)


def test_a_tick_is_bounded_and_advances_the_clock(sandbox, monkeypatch):
    monkeypatch.setenv("SANDBOX_LOG_RATE", "1000")
    with session_scope() as s:
        row = s.get(LogCollection, sandbox["collecting"])
        row.sim_at = NOW - timedelta(days=3)
        s.add(row)
    stored = simulator.simulate(now=NOW, seed=1)
    assert stored[sandbox["collecting"]] == simulator.MAX_LINES_PER_CLUSTER
    assert sum(stored.values()) <= simulator.MAX_LINES_PER_TICK
    again = simulator.simulate(now=NOW, seed=1)
    assert again[sandbox["collecting"]] == 0


def test_lines_are_deterministic_for_a_seed(sandbox):
    with session_scope() as s:
        cluster = s.get(Cluster, sandbox["collecting"])
        row = s.get(LogCollection, sandbox["collecting"])
        s.expunge_all()
    start = NOW - timedelta(seconds=30)
    first = simulator.simulate_cluster(cluster, row, start, NOW, random.Random(3))
    second = simulator.simulate_cluster(cluster, row, start, NOW, random.Random(3))
    other = simulator.simulate_cluster(cluster, row, start, NOW, random.Random(4))
    assert first == second and first != other
    traces = [
        line
        for seed in range(20)
        for line in simulator.simulate_cluster(cluster, row, start, NOW, random.Random(seed))
        if "Traceback" in line["message"]
    ]
    assert traces and all(line["level"] == "error" for line in traces)


@pytest.mark.postgres
def test_simulated_lines_are_stored_on_postgres(pg_db, monkeypatch):
    from tests.conftest import make_two_orgs

    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")
    get_settings.cache_clear()
    actor = make_two_orgs()["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _req(name="pg"))
    assert _run(op.id) == "succeeded"
    with session_scope() as s:
        ref = s.get(Cluster, cluster.id).provider_ref
        s.add(_pod(ref, "shop", "web-1", "nginx:1.27"))
        s.add(
            LogCollection(
                cluster_id=cluster.id,
                org_id=actor.org_id,
                enabled=True,
                sim_at=NOW - timedelta(seconds=20),
            )
        )
    stored = simulator.simulate(now=NOW, seed=2)
    assert stored[cluster.id] > 0
    assert (
        len(_lines(cluster.id, "app")) + len(_lines(cluster.id, "control-plane"))
        == stored[cluster.id]
    )


def test_the_tick_hooks_are_registered():
    from mkportal.worker import tick
    from mkportal.worker.registry import kind_names

    kind_names()
    assert tick._HOOKS["logs.sandbox_simulator"] is simulator.simulate
    assert "logs.cloud_control_plane" in tick._HOOKS


def test_the_budget_rotates_over_clusters(sandbox, monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(simulator, "MAX_LINES_PER_TICK", 1)
    monkeypatch.setattr(
        simulator, "simulate_cluster", lambda cluster, *_a: seen.append(cluster.id) or [{}]
    )
    monkeypatch.setattr(simulator, "ingest_lines", lambda *a: type("R", (), {"accepted": 1})())
    for i in range(2):
        simulator.simulate(now=NOW + timedelta(seconds=i))
    assert sorted(seen) == sorted([sandbox["collecting"], sandbox["idle"]])
