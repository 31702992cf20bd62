"""The real Prometheus and Alertmanager against the portal: scrape, SLI rules, alert -> incident."""

from __future__ import annotations

import time

import pytest
import requests
from sqlmodel import select

from mkportal.api.app import create_api
from mkportal.db import session_scope
from mkportal.models.metrics import Incident
from mkportal.services.errors import NotFound
from mkportal.services.metrics import catalog as c
from mkportal.services.metrics import dashboard, faults, fleet
from mkportal.settings import get_settings
from tests.fakes.metrics_data import sandbox_cluster
from tests.fakes.prometheus_stack import running_stack
from tests.fakes.server import serving

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(two_orgs, tmp_path, monkeypatch):
    acme = two_orgs["acme_owner"].org_id
    globex = two_orgs["globex_owner"].org_id
    ids = {
        "acme": sandbox_cluster(acme, "shop", service_level="premium"),
        "globex": sandbox_cluster(globex, "rival"),
    }
    settings = get_settings()
    with (
        serving(create_api()) as api,
        running_stack(
            tmp_path / "stack",
            scrape_url=f"{api}/api/v1/metrics/scrape",
            scrape_token=settings.metrics_token,
            webhook_url=f"{api}/api/v1/webhooks/alertmanager",
            webhook_secret=settings.alertmanager_secret,
        ) as st,
    ):
        monkeypatch.setenv("PROMETHEUS_URL", st.prometheus)
        monkeypatch.setenv("ALERTMANAGER_URL", st.alertmanager)
        get_settings.cache_clear()
        st.targets_up()
        yield {"stack": st, "api": api, "ids": ids, **two_orgs}


def _incidents(cluster_id: str) -> list[Incident]:
    with session_scope() as s:
        return list(s.exec(select(Incident).where(Incident.cluster_id == cluster_id)).all())


def test_scrape_rules_dashboard_and_alert_to_incident(stack):
    st, ids = stack["stack"], stack["ids"]
    acme = ids["acme"]
    up = st.wait_for(f'{c.SLI_AVAILABLE}{{cluster="{acme}"}} == 1')
    assert up[0]["metric"]["org"] == stack["acme_owner"].org_id
    st.wait_for(f'{c.SLI_ERROR_RATIO}{{cluster="{acme}"}}')
    st.wait_for(f'{c.SLI_NODES_NOT_READY}{{cluster="{acme}"}} == 0')
    info = st.wait_for(f'{c.CLUSTER_INFO}{{cluster="{acme}"}}')
    assert info[0]["metric"]["priority"] == "P1"

    board = dashboard.cluster_dashboard(stack["acme_owner"], acme, "15m")
    assert board.health.api_up is True
    assert (board.health.nodes_ready, board.health.nodes_total) == (2, 2)
    assert board.health.pods and board.health.pods > 0
    charts = {ch.key: ch for ch in board.charts}
    assert [s.name for s in charts["cpu_node"].series] == ["shop-default-0", "shop-default-1"]
    with pytest.raises(NotFound):
        dashboard.cluster_dashboard(stack["globex_owner"], acme, "15m")

    faults.set_faults(stack["operator"], acme, {"api_down": True})
    deadline = time.monotonic() + 90
    while not any(i.alertname == "ClusterApiServerDown" for i in _incidents(acme)):
        assert time.monotonic() < deadline, "no incident within 90 s"
        time.sleep(1)
    incident = next(i for i in _incidents(acme) if i.alertname == "ClusterApiServerDown")
    assert incident.org_id == stack["acme_owner"].org_id
    assert incident.priority == "P1"
    assert _incidents(ids["globex"]) == []

    view = fleet.fleet(stack["operator"])
    rows = {r.cluster_id: r for r in view.rows}
    assert view.available
    assert rows[acme].health == "down" and rows[acme].firing_alerts >= 1
    assert rows[ids["globex"]].health == "healthy"


def test_scrape_endpoint_needs_the_metrics_token(stack):
    url = f"{stack['api']}/api/v1/metrics/scrape"
    assert requests.get(url, timeout=10).status_code == 401
    wrong = requests.get(url, headers={"Authorization": "Bearer mkp_nope"}, timeout=10)
    assert wrong.status_code == 401
    ok = requests.get(
        url, headers={"Authorization": f"Bearer {get_settings().metrics_token}"}, timeout=10
    )
    assert ok.status_code == 200 and c.CLUSTER_INFO in ok.text
