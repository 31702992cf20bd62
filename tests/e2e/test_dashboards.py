"""Custom dashboards in Chromium: a member saves a dashboard whose panel renders a chart."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import mkportal_cli, shot, sign_in
from tests.e2e.test_clusters import _api_cluster

pytestmark = pytest.mark.e2e

MEMBER = "member@demo.mkportal.local"
QUERY = "count(mk_cluster_info)"


def _wait_for_series(portal: dict, token: str, timeout: float = 90.0) -> None:
    """Wait until the explorer API returns data (the embedded Prometheus has scraped)."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(
            f"{portal['url']}/api/v1/metrics/query", params={"query": QUERY}, headers=headers
        )
        if r.status_code == 200 and r.json()["instant"]:
            return
        assert time.monotonic() < deadline, f"no series: {r.status_code} {r.text[:300]}"
        time.sleep(1)


def test_member_saves_a_dashboard_that_renders_a_chart(page: Page, portal):
    token = mkportal_cli(portal, "tokens", "create", "--email", MEMBER)
    _api_cluster(
        portal,
        token,
        {
            "name": f"dash-{uuid.uuid4().hex[:6]}",
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
        },
    )
    _wait_for_series(portal, token)
    sign_in(page, portal, MEMBER)
    page.get_by_role("link", name="Dashboards").click()
    expect(page.get_by_role("heading", name="Dashboards", exact=True)).to_be_visible()
    name = f"Fleet {uuid.uuid4().hex[:4]}"
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create dashboard").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    page.get_by_role("button", name="Add panel").click()
    page.get_by_label("Title").fill("Clusters")
    page.get_by_label("PromQL query").fill(QUERY)
    page.get_by_label("Thresholds").fill("5 red")
    page.get_by_role("button", name="Save panel").click()
    panel = page.get_by_test_id("dashboard-panel").filter(has_text="Clusters")
    expect(panel).to_be_visible()
    chart = panel.get_by_test_id("dashboard-panel-chart")
    expect(chart).to_be_visible(timeout=30_000)
    expect(chart.locator(".main-svg").first).to_be_visible()
    url = page.url
    page.goto(url)
    expect(page.get_by_test_id("dashboard-panel-chart").first).to_be_visible(timeout=30_000)
    shot(page, "dashboards-panel")
    page.get_by_role("button", name="Export").click()
    expect(page.get_by_text('"schema": "mkportal.dashboard/v1"')).to_be_visible()
    page.get_by_role("button", name="Add panel").click()
    page.get_by_label("Title").fill("Broken")
    page.get_by_label("PromQL query").fill('label_replace(up, "org", "x", "", "")')
    page.get_by_role("button", name="Save panel").click()
    expect(page.get_by_text("cannot write the org label").first).to_be_visible()
    shot(page, "dashboards-validation")
