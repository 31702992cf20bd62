"""Metrics tab and /admin/metrics handlers, and the metrics API: authz, not-installed state."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from mkportal.services.metrics import faults, fleet, prom
from mkportal.settings import get_settings
from mkportal.state.admin_metrics import AdminMetricsState
from mkportal.state.cluster_metrics import ClusterMetricsState
from tests.fakes.metrics_data import sandbox_cluster
from tests.unit.test_handlers_authz import _event_names, make_state, session_for


@pytest.fixture
def env(two_orgs, monkeypatch):
    monkeypatch.setenv("METRICS_EMBEDDED", "false")
    get_settings.cache_clear()
    acme = sandbox_cluster(two_orgs["acme_owner"].org_id, "shop")
    globex = sandbox_cluster(two_orgs["globex_owner"].org_id, "rival")
    return {"acme": acme, "globex": globex, **two_orgs}


@pytest.fixture
def fake_prom(monkeypatch):
    """Prometheus answers every query with one series of the queried cluster."""
    monkeypatch.setenv("PROMETHEUS_URL", "http://prom.invalid")
    monkeypatch.setenv("ALERTMANAGER_URL", "http://am.invalid")
    get_settings.cache_clear()
    seen: list[str] = []

    def query(promql, at=None):
        seen.append(promql)
        return [prom.Sample({"cluster": "x"}, 1.0)]

    def query_range(promql, start, end, step):
        seen.append(promql)
        return [prom.Series({"node": "n1", "pool": "p", "phase": "Running", "code": "200"},
                            [(start.timestamp(), 0.5), (end.timestamp(), 0.6)])]  # fmt: skip

    monkeypatch.setattr(prom, "query", query)
    monkeypatch.setattr(prom, "query_range", query_range)
    monkeypatch.setattr(fleet, "firing_alerts", dict)
    return seen


@pytest.mark.parametrize(
    ("cls", "handler", "args"),
    [
        (ClusterMetricsState, "load", ()),
        (ClusterMetricsState, "set_range", ("7d",)),
        (ClusterMetricsState, "refresh", ()),
        (AdminMetricsState, "load", ()),
        (AdminMetricsState, "apply_faults", ({"api_down": "on"},)),
        (AdminMetricsState, "clear_faults", ()),
    ],
    ids=["tab-load", "tab-range", "tab-refresh", "admin-load", "admin-apply", "admin-clear"],
)
def test_signed_out_is_redirected(env, cls, handler, args):
    state = make_state(cls, "mks_garbage")
    assert "/login" in _event_names(getattr(cls, handler).fn(state, *args))


def test_tab_shows_the_not_installed_state(env):
    state = make_state(ClusterMetricsState, session_for("owner@acme.test"))
    state.router.page.params["cluster_id"] = env["acme"]
    ClusterMetricsState.load.fn(state)
    assert state.ready and not state.missing
    assert "apt-get install prometheus" in state.unavailable
    assert state.backend_mode == "not installed"


def test_tab_of_another_orgs_cluster_is_not_found(env, fake_prom):
    state = make_state(ClusterMetricsState, session_for("owner@globex.test"))
    state.router.page.params["cluster_id"] = env["acme"]
    ClusterMetricsState.load.fn(state)
    assert state.missing and state.health == []
    assert not any(env["acme"] in q for q in fake_prom)


def test_tab_renders_tiles_and_charts_with_confined_queries(env, fake_prom):
    state = make_state(ClusterMetricsState, session_for("viewer@acme.test"))
    state.router.page.params["cluster_id"] = env["acme"]
    ClusterMetricsState.load.fn(state)
    assert [t["label"] for t in state.health][:2] == ["API", "Availability"]
    assert state.health[0]["value"] == "Up"
    assert len(state.cpu.data) == 1 and state.cpu.data[0].name == "n1"
    ClusterMetricsState.set_range.fn(state, "30d")
    assert state.range_ == "30d"
    ClusterMetricsState.set_group.fn(state, "pool")
    assert state.cpu.data[0].name == "p"
    org = env["acme_owner"].org_id
    for q in fake_prom:
        assert f'org="{org}",cluster="{env["acme"]}"' in q


def test_admin_page_is_operator_only(env, fake_prom):
    state = make_state(AdminMetricsState, session_for("owner@acme.test"))
    assert "Not found" in _event_names(AdminMetricsState.load.fn(state))
    assert state.rows == []
    state.fault_cluster = env["acme"]
    assert "Not found" in _event_names(AdminMetricsState.apply_faults.fn(state, {"api_down": "on"}))
    assert faults.get_faults(env["operator"], env["acme"])["api_down"] is False


def test_operator_sees_fleet_and_injects_faults(env, fake_prom):
    state = make_state(AdminMetricsState, session_for("ops@vshn.test"))
    AdminMetricsState.load.fn(state)
    assert {r["name"] for r in state.rows} == {"shop", "rival"}
    assert len(state.sandbox_options) == 2
    AdminMetricsState.choose_cluster.fn(state, env["acme"])
    AdminMetricsState.apply_faults.fn(state, {"api_down": "on", "error_ratio": "0.3"})
    assert state.fault_values["api_down"] == "yes"
    assert faults.get_faults(env["operator"], env["acme"])["error_ratio"] == 0.3
    AdminMetricsState.apply_faults.fn(state, {"error_ratio": "7"})
    assert "error_ratio" in state.field_errors
    AdminMetricsState.clear_faults.fn(state)
    assert faults.get_faults(env["operator"], env["acme"])["api_down"] is False


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


def test_api_authz_and_not_installed(env):
    api = TestClient(create_api(), raise_server_exceptions=False)
    owner = _auth(env["acme_owner"])
    assert api.get("/api/v1/metrics/scrape", headers=owner).status_code == 401
    assert api.get("/api/v1/metrics/status", headers=owner).json()["mode"] == "not installed"
    assert api.get(f"/api/v1/clusters/{env['acme']}/metrics", headers=owner).status_code == 503
    other = api.get(f"/api/v1/clusters/{env['globex']}/metrics", headers=owner)
    assert other.status_code == 404
    bad = api.get(f"/api/v1/clusters/{env['acme']}/metrics?range=2y", headers=owner)
    assert bad.status_code == 422
    assert api.get("/api/v1/admin/metrics/fleet", headers=owner).status_code == 404
    put = api.put(f"/api/v1/admin/sandbox/{env['acme']}/faults", headers=owner, json={})
    assert put.status_code == 404
    ops = _auth(env["operator"])
    fleet = api.get("/api/v1/admin/metrics/fleet", headers=ops).json()
    assert fleet["available"] is False and len(fleet["rows"]) == 2
    put = api.put(
        f"/api/v1/admin/sandbox/{env['acme']}/faults", headers=ops, json={"latency_seconds": 2}
    )
    assert put.status_code == 200 and put.json()["latency_seconds"] == 2
    bad = api.put(f"/api/v1/admin/sandbox/{env['acme']}/faults", headers=ops, json={"x": 1})
    assert bad.status_code == 422
    scrape = api.get(
        "/api/v1/metrics/scrape",
        headers={"Authorization": f"Bearer {get_settings().metrics_token}"},
    )
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")


def test_api_dashboard_json(env, fake_prom):
    api = TestClient(create_api(), raise_server_exceptions=False)
    r = api.get(
        f"/api/v1/clusters/{env['acme']}/metrics?range=7d", headers=_auth(env["acme_owner"])
    )
    assert r.status_code == 200
    body = r.json()
    assert body["range"] == "7d" and body["health"]["api_up"] is True
    assert {c["key"] for c in body["charts"]} >= {"cpu_node", "memory_pool", "latency"}
