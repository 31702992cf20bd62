"""Explorer and custom dashboards: confinement per org/cluster, roles, validation, audit."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.cluster import Cluster
from mkportal.services.errors import Forbidden, Invalid, NotFound
from mkportal.services.metrics import dashboards, explorer, prom
from tests.unit.test_log_ingest import make_cluster

PANEL = {"title": "CPU", "query": "avg(node_cpu_utilisation_ratio)", "chart": "line"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Capture the PromQL sent to Prometheus; answer with one series/sample."""
    queries: list[str] = []

    def fake_query(promql, at=None):
        queries.append(promql)
        return [prom.Sample({"__name__": "x", "cluster": "c"}, 1.5)]

    def fake_range(promql, start, end, step):
        queries.append(promql)
        return [
            prom.Series(
                {"cluster": "c"}, [(start.timestamp(), 1.0), (end.timestamp(), float("nan"))]
            )
        ]

    monkeypatch.setattr(prom, "query", fake_query)
    monkeypatch.setattr(prom, "query_range", fake_range)
    return queries


@pytest.fixture
def clusters(two_orgs) -> dict[str, str]:
    acme = two_orgs["acme_owner"].org_id
    globex = two_orgs["globex_owner"].org_id
    ids = {
        "a1": make_cluster(acme, "a1"),
        "a2": make_cluster(acme, "a2"),
        "g1": make_cluster(globex, "g1"),
    }
    return ids


def test_explorer_confines_to_the_callers_org(two_orgs, clusters, sent):
    result = explorer.run(two_orgs["acme_viewer"], "sum(up)", range="6h")
    acme = two_orgs["acme_owner"].org_id
    expected = "|".join(sorted([clusters["a1"], clusters["a2"]]))
    assert all(f'org="{acme}",cluster=~"{expected}"' in q for q in sent) and len(sent) == 2
    assert clusters["g1"] not in "".join(sent)
    assert result.instant[0].value == 1.5 and result.instant[0].name == 'x{cluster="c"}'
    assert result.series[0].y == [1.0, None] and len(result.series[0].x) == 2
    assert result.range == "6h" and result.step_seconds == 90
    assert result.start < result.end


def test_explorer_one_cluster_and_deleted_clusters(two_orgs, clusters, sent):
    from mkportal.models.base import utcnow

    with session_scope() as s:
        row = s.get(Cluster, clusters["a2"])
        row.deleted_at = utcnow()
        s.add(row)
    explorer.instant(two_orgs["acme_member"], "up", cluster_id=clusters["a2"])
    assert sent[-1].endswith(f'cluster=~"{clusters["a2"]}"}}')
    explorer.instant(two_orgs["acme_member"], "up")
    assert clusters["a2"] in sent[-1]


def test_explorer_other_orgs_cluster_is_not_found(two_orgs, clusters, sent):
    with pytest.raises(NotFound):
        explorer.run(two_orgs["acme_owner"], "up", cluster_id=clusters["g1"])
    with pytest.raises(NotFound):
        explorer.instant(two_orgs["acme_owner"], "up", cluster_id="nope")
    assert sent == []


def test_explorer_operator_needs_a_cluster(two_orgs, clusters, sent):
    with pytest.raises(Invalid):
        explorer.instant(two_orgs["operator"], "up")
    explorer.instant(two_orgs["operator"], "up", cluster_id=clusters["g1"])
    assert two_orgs["globex_owner"].org_id in sent[-1]


@pytest.mark.parametrize(
    ("query", "range_", "field"),
    [
        ("", "1h", "query"),
        ("nope(x)", "1h", "query"),
        ('label_replace(up, "org", "x", "", "")', "1h", "query"),
        ("up", "2h", "range"),
    ],
    ids=["empty", "unknown-function", "relabel-org", "bad-range"],
)
def test_explorer_rejects(two_orgs, clusters, sent, query, range_, field):
    with pytest.raises(Invalid) as err:
        explorer.run(two_orgs["acme_owner"], query, range=range_)
    assert field in err.value.errors and sent == []


def test_dashboard_crud_roles_and_audit(two_orgs, clusters):
    member, viewer = two_orgs["acme_member"], two_orgs["acme_viewer"]
    d = dashboards.create(member, " Ops ", "desc", [PANEL])
    assert d.name == "Ops" and d.panels[0]["chart"] == "line" and d.panels[0]["thresholds"] == []
    assert [x.id for x in dashboards.list_dashboards(viewer)] == [d.id]
    with pytest.raises(Forbidden):
        dashboards.create(viewer, "Mine")
    with pytest.raises(Forbidden):
        dashboards.set_panel(viewer, d.id, PANEL)
    with pytest.raises(Forbidden):
        dashboards.delete(viewer, d.id)
    d = dashboards.set_panel(
        member,
        d.id,
        {
            **PANEL,
            "title": "Mem",
            "chart": "stat",
            "cluster_id": clusters["a1"],
            "thresholds": [{"value": 0.9, "color": "red"}, {"value": 0.5, "color": "#ffaa00"}],
        },
    )
    assert [p["title"] for p in d.panels] == ["CPU", "Mem"]
    assert [t["value"] for t in d.panels[1]["thresholds"]] == [0.5, 0.9]
    d = dashboards.move_panel(member, d.id, 1, "up")
    assert [p["title"] for p in d.panels] == ["Mem", "CPU"]
    with pytest.raises(Invalid):
        dashboards.move_panel(member, d.id, 0, "up")
    with pytest.raises(Invalid):
        dashboards.move_panel(member, d.id, 1, "down")
    d = dashboards.set_panel(member, d.id, {**PANEL, "title": "CPU2"}, 1)
    d = dashboards.remove_panel(member, d.id, 0)
    assert [p["title"] for p in d.panels] == ["CPU2"]
    with pytest.raises(NotFound):
        dashboards.remove_panel(member, d.id, 5)
    d = dashboards.update(two_orgs["acme_owner"], d.id, name="Renamed")
    assert d.name == "Renamed" and d.description == "desc"
    dashboards.delete(member, d.id)
    with pytest.raises(NotFound):
        dashboards.get(member, d.id)
    with session_scope() as s:
        actions = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.target_id == d.id))]
    assert sorted(actions) == sorted(
        [
            "dashboard.created",
            "dashboard.panel_added",
            "dashboard.panel_moved",
            "dashboard.panel_updated",
            "dashboard.panel_removed",
            "dashboard.updated",
            "dashboard.deleted",
        ]
    )


def test_other_org_cannot_reach_a_dashboard(two_orgs, clusters, sent):
    d = dashboards.create(two_orgs["acme_owner"], "Acme", panels=[PANEL])
    globex = two_orgs["globex_owner"]
    assert dashboards.list_dashboards(globex) == []
    for call in (
        lambda: dashboards.get(globex, d.id),
        lambda: dashboards.export(globex, d.id),
        lambda: dashboards.panel_data(globex, d.id),
        lambda: dashboards.update(globex, d.id, name="x"),
        lambda: dashboards.set_panel(globex, d.id, PANEL),
        lambda: dashboards.move_panel(globex, d.id, 0, "down"),
        lambda: dashboards.remove_panel(globex, d.id, 0),
        lambda: dashboards.delete(globex, d.id),
    ):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(Invalid) as err:
        dashboards.create(globex, "Steal", panels=[{**PANEL, "cluster_id": clusters["a1"]}])
    assert "panels.0.cluster_id" in err.value.errors
    assert sent == []


@pytest.mark.parametrize(
    ("panel", "field"),
    [
        ({**PANEL, "title": ""}, "panels.0.title"),
        ({**PANEL, "query": "sum("}, "panels.0.query"),
        ({**PANEL, "query": "x" * 2001}, "panels.0.query"),
        ({**PANEL, "chart": "pie"}, "panels.0.chart"),
        ({**PANEL, "unit": "u" * 21}, "panels.0.unit"),
        ({**PANEL, "thresholds": [{"value": "high"}]}, "panels.0.thresholds"),
        ({**PANEL, "thresholds": [{"value": 1, "color": "url(x)"}]}, "panels.0.thresholds"),
        ({**PANEL, "cluster_id": "nope"}, "panels.0.cluster_id"),
        ("text", "panels.0"),
    ],
    ids=[
        "title",
        "query",
        "long-query",
        "chart",
        "unit",
        "threshold-value",
        "threshold-color",
        "cluster",
        "not-object",
    ],
)
def test_panel_validation(two_orgs, clusters, panel, field):
    with pytest.raises(Invalid) as err:
        dashboards.create(two_orgs["acme_owner"], "D", panels=[panel])
    assert field in err.value.errors


def test_export_import_round_trip_and_schema(two_orgs, clusters):
    owner = two_orgs["acme_owner"]
    d = dashboards.create(
        owner, "Src", "d", [PANEL, {**PANEL, "cluster_id": clusters["a1"], "chart": "bar"}]
    )
    doc = dashboards.export(two_orgs["acme_viewer"], d.id)
    assert doc["schema"] == dashboards.SCHEMA
    copy = dashboards.import_dashboard(owner, doc)
    assert copy.id != d.id and copy.panels == d.panels and copy.name == "Src"
    for bad in ([], {"schema": "v0", "name": "x"}, {**doc, "extra": 1}, {**doc, "name": ""}):
        with pytest.raises(Invalid):
            dashboards.import_dashboard(owner, bad)
    with pytest.raises(Invalid) as err:
        dashboards.import_dashboard(two_orgs["globex_owner"], doc)
    assert "panels.1.cluster_id" in err.value.errors


def test_panel_data_confines_each_panel(two_orgs, clusters, sent):
    owner = two_orgs["acme_owner"]
    d = dashboards.create(owner, "D", panels=[PANEL, {**PANEL, "cluster_id": clusters["a1"]}])
    data = dashboards.panel_data(two_orgs["acme_viewer"], d.id, "24h")
    assert [p.index for p in data] == [0, 1] and all(p.result and p.result.series for p in data)
    assert f'cluster=~"{"|".join(sorted([clusters["a1"], clusters["a2"]]))}"' in sent[0]
    assert sent[1].endswith(f'cluster=~"{clusters["a1"]}"}})')
    with pytest.raises(Invalid):
        dashboards.panel_data(owner, d.id, "3h")
