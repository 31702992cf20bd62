"""UI handlers of alerts, runbooks and SLO reports: operators only where it says admin."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from mkportal.services.metrics import incident_admin, incidents, prom, slo
from mkportal.state.alerts import AlertsState, AlertState
from mkportal.state.runbooks import RunbooksState, RunbookState
from mkportal.state.slo import AdminSloState, SloState, recent_periods
from tests.unit.test_handlers_authz import _event_names, make_state, session_for
from tests.unit.test_incidents_ingest import alert, payload
from tests.unit.test_slo_reports import cluster


@pytest.fixture
def incident(two_orgs) -> str:
    cid = cluster(two_orgs["acme_owner"].org_id, "web")
    return incidents.ingest(payload(alert(cluster=cid))).created[0]


@pytest.fixture(autouse=True)
def no_prometheus(monkeypatch):
    def unavailable(*_a, **_k):
        raise prom.MetricsUnavailable("not installed")

    monkeypatch.setattr(slo.prom, "query", unavailable)


def test_operator_lists_acknowledges_comments_and_resolves(incident):
    token = session_for("ops@vshn.test")
    listing = make_state(AlertsState, token)
    AlertsState.load.fn(listing)
    assert [i["id"] for i in listing.items] == [incident]
    AlertsState.set_status_filter.fn(listing, "resolved")
    AlertsState.load.fn(listing)
    assert listing.items == []
    page = make_state(AlertState, token)
    page.router.page.params["incident_id"] = incident
    AlertState.load.fn(page)
    assert page.runbook_href == "/admin/runbooks/cluster-api-server-down"
    AlertState.acknowledge.fn(page)
    assert page.incident["status"] == "acknowledged"
    result = AlertState.add_comment.fn(page, {"text": ""})
    assert "Write a comment" in _event_names(result) and page.field_errors == {
        "text": "Write a comment."
    }
    AlertState.add_comment.fn(page, {"text": "Restarted the API server"})
    AlertState.resolve.fn(page)
    assert [e["kind"] for e in page.events][-3:] == ["acknowledged", "comment", "resolved"]


@pytest.mark.parametrize("email", ["owner@acme.test", "owner@globex.test"], ids=["own", "other"])
def test_members_cannot_see_or_change_incidents(two_orgs, incident, email):
    token = session_for(email)
    listing = make_state(AlertsState, token)
    assert "Not found" in _event_names(AlertsState.load.fn(listing)) and listing.items == []
    page = make_state(AlertState, token)
    page.router.page.params["incident_id"] = incident
    AlertState.load.fn(page)
    assert page.missing and page.incident == {}
    page.incident = {"id": incident}
    assert "Not found" in _event_names(AlertState.acknowledge.fn(page))
    assert incident_admin.get(two_orgs["operator"], incident).incident.status == "open"


def test_runbook_pages(two_orgs):
    token = session_for("ops@vshn.test")
    books = make_state(RunbooksState, token)
    RunbooksState.load.fn(books)
    assert len(books.items) == 6
    books.query = "certificate"
    RunbooksState.load.fn(books)
    assert books.items[0]["slug"] == "cluster-certificate-expiring"
    one = make_state(RunbookState, token)
    one.router.page.params["slug"] = "cluster-node-not-ready"
    RunbookState.load.fn(one)
    assert one.book["title"] == "ClusterNodeNotReady" and "kubectl drain" in one.markdown
    member = make_state(RunbookState, session_for("owner@acme.test"))
    member.router.page.params["slug"] = "cluster-node-not-ready"
    RunbookState.load.fn(member)
    assert member.missing and member.markdown == ""


def test_slo_pages_show_only_the_own_org(two_orgs):
    cluster(two_orgs["acme_owner"].org_id, "web")
    cluster(two_orgs["globex_owner"].org_id, "shop")
    period = recent_periods()[1]
    ops = make_state(AdminSloState, session_for("ops@vshn.test"))
    ops.period = period
    AdminSloState.load.fn(ops)
    AdminSloState.regenerate.fn(ops)
    assert sorted(r["cluster_name"] for r in ops.reports) == ["shop", "web"]
    assert ops.fleet["clusters"] == 2 and len(ops.org_rollups) == 2
    user = make_state(SloState, session_for("viewer@acme.test"))
    user.period = period
    SloState.load.fn(user)
    assert [r["cluster_name"] for r in user.reports] == ["web"]
    url = SloState.download_csv.fn(user).args[0][1]._var_value
    text = base64.b64decode(url.split("base64,", 1)[1]).decode()
    assert "web" in text and "shop" not in text
    sneaky = make_state(AdminSloState, session_for("owner@acme.test"))
    assert "Not found" in _event_names(AdminSloState.load.fn(sneaky))
    sneaky.org_filter = two_orgs["globex_owner"].org_id
    assert "Not found" in _event_names(AdminSloState.choose_period.fn(sneaky, period))
    assert "Not found" in _event_names(AdminSloState.regenerate.fn(sneaky))
    assert sneaky.reports == []


def test_recent_periods():
    assert recent_periods(datetime(2026, 2, 10, tzinfo=UTC), 3) == ["2026-02", "2026-01", "2025-12"]


@pytest.mark.parametrize(
    ("email", "seen"),
    [("viewer@acme.test", 1), ("owner@globex.test", 0)],
    ids=["own-org-viewer", "other-org"],
)
def test_cluster_alerts_tab_shows_only_own_clusters_incidents(two_orgs, incident, email, seen):
    from mkportal.db import session_scope
    from mkportal.models.metrics import Incident
    from mkportal.state.cluster_alerts import ClusterAlertsState

    with session_scope() as s:
        cluster_id = s.get(Incident, incident).cluster_id
    state = make_state(ClusterAlertsState, session_for(email))
    state.router.page.params["cluster_id"] = cluster_id
    ClusterAlertsState.load.fn(state)
    assert len(state.incidents) == seen and state.open_count == seen
    if seen:
        assert state.incidents[0]["alert"] == "ClusterApiServerDown"
