"""Handlers of /dashboards, /dashboards/[id] and the explorer card: auth, roles, other orgs."""

from __future__ import annotations

import json

import pytest

from mkportal.services.metrics import dashboards, prom
from mkportal.state.dashboards import DashboardsState, DashboardState, parse_thresholds
from mkportal.state.metrics_explorer import MetricsExplorerState
from tests.unit.test_handlers_authz import _event_names, make_state, session_for
from tests.unit.test_log_ingest import make_cluster

PANEL = {"title": "CPU", "query": "avg(node_cpu_utilisation_ratio)", "chart": "line"}


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    queries: list[str] = []

    def fake_query(promql, at=None):
        queries.append(promql)
        return [prom.Sample({"node": "n1"}, 0.5)]

    def fake_range(promql, start, end, step):
        queries.append(promql)
        return [prom.Series({"node": "n1"}, [(start.timestamp(), 0.4), (end.timestamp(), 0.5)])]

    monkeypatch.setattr(prom, "query", fake_query)
    monkeypatch.setattr(prom, "query_range", fake_range)
    return queries


@pytest.mark.parametrize(
    ("cls", "name", "args"),
    [
        (DashboardsState, "load", ()),
        (DashboardsState, "create", ({"name": "x"},)),
        (DashboardsState, "import_json", ({"document": "{}"},)),
        (DashboardState, "load", ()),
        (DashboardState, "save_panel", ({"title": "x", "query": "up"},)),
        (DashboardState, "remove_panel", (0,)),
        (DashboardState, "move_panel", (0, "down")),
        (DashboardState, "delete", ()),
        (MetricsExplorerState, "run", ({"query": "up"},)),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_signed_out_handlers_redirect(two_orgs, cls, name, args):
    state = make_state(cls)
    result = getattr(cls, name).fn(state, *args)
    assert "/login" in _event_names(result)


def test_owner_creates_adds_panel_and_sees_chart(two_orgs, sent):
    make_cluster(two_orgs["acme_owner"].org_id, "web")
    lst = make_state(DashboardsState, session_for("owner@acme.test"))
    result = DashboardsState.create.fn(lst, {"name": "Ops", "description": ""})
    did = dashboards.list_dashboards(two_orgs["acme_owner"])[0].id
    assert f"/dashboards/{did}" in _event_names(result)
    state = make_state(DashboardState, session_for("owner@acme.test"))
    state.router.page.params["dashboard_id"] = did
    DashboardState.load.fn(state)
    assert state.writable and state.panels == [] and state.clusters[0]["label"] == "web"
    DashboardState.new_panel.fn(state)
    DashboardState.save_panel.fn(
        state, {**PANEL, "unit": "%", "thresholds": "0.9 red, 0.7 orange", "cluster_id": "all"}
    )
    assert not state.form_open and len(state.panels) == 1 and state.panels[0]["value"] == "0.5"
    assert len(state.figures) == 1 and len(state.figures[0].data) == 1
    DashboardState.save_panel.fn(state, {**PANEL, "query": "sum(", "thresholds": ""})
    assert "panel.query" in state.field_errors
    DashboardState.save_panel.fn(state, {**PANEL, "thresholds": "high red"})
    assert "panel.thresholds" in state.field_errors
    DashboardState.export.fn(state)
    doc = json.loads(state.export_text)
    assert doc["schema"] == dashboards.SCHEMA and doc["panels"][0]["thresholds"][0]["value"] == 0.7
    result = DashboardsState.import_json.fn(lst, {"document": state.export_text})
    assert len(dashboards.list_dashboards(two_orgs["acme_owner"])) == 2
    DashboardsState.import_json.fn(lst, {"document": "not json"})
    assert "document" in lst.field_errors


def test_viewer_reads_but_cannot_change(two_orgs, sent):
    d = dashboards.create(two_orgs["acme_owner"], "Ops", panels=[PANEL, PANEL])
    state = make_state(DashboardState, session_for("viewer@acme.test"))
    state.router.page.params["dashboard_id"] = d.id
    DashboardState.load.fn(state)
    assert not state.writable and len(state.panels) == 2
    result = DashboardState.remove_panel.fn(state, 0)
    assert "member role" in _event_names(result)
    DashboardState.move_panel.fn(state, 0, "down")
    DashboardState.delete.fn(state)
    assert len(dashboards.get(two_orgs["acme_owner"], d.id).panels) == 2


def test_other_org_sees_nothing(two_orgs, sent):
    d = dashboards.create(two_orgs["acme_owner"], "Ops", panels=[PANEL])
    state = make_state(DashboardState, session_for("owner@globex.test"))
    state.router.page.params["dashboard_id"] = d.id
    DashboardState.load.fn(state)
    assert state.missing and state.panels == [] and state.name == ""
    for result in (
        DashboardState.remove_panel.fn(state, 0),
        DashboardState.save_panel.fn(state, {**PANEL, "thresholds": ""}),
        DashboardState.delete.fn(state),
        DashboardState.export.fn(state),
    ):
        assert "Not found" in _event_names(result)
    assert state.export_text == ""
    lst = make_state(DashboardsState, session_for("owner@globex.test"))
    DashboardsState.load.fn(lst)
    assert lst.items == [] and sent == []


def test_explorer_card_runs_confined_and_rejects_other_cluster(two_orgs, sent):
    mine = make_cluster(two_orgs["acme_owner"].org_id, "mine")
    theirs = make_cluster(two_orgs["globex_owner"].org_id, "theirs")
    state = make_state(MetricsExplorerState, session_for("viewer@acme.test"))
    state.router.page.params["cluster_id"] = mine
    MetricsExplorerState.run.fn(state, {"query": "sum by (node) (x)"})
    assert state.ran and state.rows == [{"name": '{node="n1"}', "value": "0.5"}]
    assert all(f'cluster=~"{mine}"' in q for q in sent)
    MetricsExplorerState.run.fn(state, {"query": 'label_replace(x, "org", "a", "", "")'})
    assert "query" in state.field_errors
    state.router.page.params["cluster_id"] = theirs
    result = MetricsExplorerState.run.fn(state, {"query": "up"})
    assert "Not found" in _event_names(result)
    assert not any(theirs in q for q in sent)


def test_explorer_card_shows_missing_backend(two_orgs, monkeypatch):
    mine = make_cluster(two_orgs["acme_owner"].org_id, "mine")
    monkeypatch.setattr(prom, "prometheus_url", lambda: "")
    state = make_state(MetricsExplorerState, session_for("viewer@acme.test"))
    state.router.page.params["cluster_id"] = mine
    MetricsExplorerState.run.fn(state, {"query": "up"})
    assert "install" in state.unavailable.lower() and not state.ran


def test_parse_thresholds():
    assert parse_thresholds("0.8 orange, 0.95, ") == [
        {"value": 0.8, "color": "orange"},
        {"value": 0.95, "color": "red"},
    ]
