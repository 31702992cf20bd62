"""Metrics in Chromium: the embedded Prometheus scrapes a sandbox cluster, the Metrics tab
shows its health and charts, and the operator's fleet view and fault injection work."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sandbox_cluster, shot, sign_in

pytestmark = pytest.mark.e2e

MEMBER = "member@demo.mkportal.local"
OPERATOR = "operator@vshn.mkportal.local"


@pytest.fixture(scope="module")
def cluster(portal) -> dict:
    """A running Demo Org sandbox cluster whose series Prometheus has scraped."""
    made = sandbox_cluster(portal, MEMBER, "metrics", nodes=2)
    cluster_id, name, token = made["id"], made["name"], made["token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{portal['url']}/api/v1/clusters/{cluster_id}/metrics?range=15m"
    deadline = time.monotonic() + 120
    while True:
        r = httpx.get(url, headers=headers, timeout=30)
        if r.status_code == 200 and r.json()["health"]["nodes_total"] == 2:
            break
        assert time.monotonic() < deadline, f"no metrics for the cluster: {r.status_code} {r.text}"
        time.sleep(1)
    return {"id": cluster_id, "name": name, "token": token}


def test_metrics_tab_shows_health_and_charts(page: Page, portal, cluster):
    sign_in(page, portal, MEMBER)
    page.goto(f"{portal['url']}/clusters/{cluster['id']}")
    page.get_by_role("tab", name="Metrics").click()
    tiles = page.get_by_test_id("metrics-tile")
    expect(tiles).to_have_count(6)
    expect(tiles.first).to_contain_text("Up")
    expect(page.get_by_test_id("metrics-health")).to_contain_text("2 / 2")
    for chart in ("chart-cpu", "chart-memory", "chart-requests", "chart-latency", "chart-pods"):
        expect(page.get_by_test_id(chart).locator(".main-svg").first).to_be_visible()
    expect(page.get_by_test_id("chart-cpu")).to_contain_text("default")
    page.get_by_role("button", name="15 min").click()
    expect(page.get_by_role("button", name="15 min")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Per pool").click()
    expect(page.get_by_role("button", name="Per pool")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(500)
    shot(page, "metrics-tab")


def test_operator_fleet_view_and_fault_injection(page: Page, portal, cluster):
    sign_in(page, portal, OPERATOR)
    page.goto(f"{portal['url']}/admin/metrics")
    expect(page.get_by_test_id("metrics-backend-mode")).to_have_text("embedded")
    row = page.get_by_test_id("fleet-row").filter(has_text=cluster["name"])
    expect(row).to_contain_text("healthy", timeout=60_000)
    page.get_by_label("Sandbox cluster").click()
    page.get_by_role("option", name=cluster["name"]).click()
    page.get_by_text("API server down").click()
    page.get_by_role("button", name="Apply faults").click()
    expect(page.get_by_text("Faults applied")).to_be_visible()
    deadline = time.monotonic() + 60
    while "down" not in row.inner_text():
        assert time.monotonic() < deadline, "the fleet view did not show the cluster down"
        page.reload()
        row = page.get_by_test_id("fleet-row").filter(has_text=cluster["name"])
        expect(row).to_be_visible()
        page.wait_for_timeout(1000)
    shot(page, "metrics-fleet")
    page.get_by_label("Sandbox cluster").click()
    page.get_by_role("option", name=cluster["name"]).click()
    page.get_by_role("button", name="Clear faults").click()
    expect(page.get_by_text("Faults cleared.")).to_be_visible()
