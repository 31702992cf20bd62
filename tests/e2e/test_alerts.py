"""Alerting in Chromium: an alert posted to the Alertmanager webhook becomes an incident
the operator acknowledges and follows to its runbook; a member sees it on the cluster's
Alerts tab and reads the SLO report."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT, mkportal_cli, sandbox_cluster, shot, sign_in

pytestmark = pytest.mark.e2e

MEMBER = "member@demo.mkportal.local"
OPERATOR = "operator@vshn.mkportal.local"


def _alertmanager_secret(portal: dict) -> str:
    """Read the portal's webhook secret the way the portal derives it."""
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c",
         "from mkportal.settings import get_settings; print(get_settings().alertmanager_secret)"],
        cwd=ROOT, env=portal["env"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


@pytest.fixture(scope="module")
def cluster(portal) -> dict:
    """A running Demo Org sandbox cluster."""
    return sandbox_cluster(portal, MEMBER, "alerts")


def test_operator_acknowledges_an_incident_and_opens_its_runbook(page: Page, portal, cluster):
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    alert = {
        "status": "firing",
        "labels": {"alertname": "ClusterApiServerDown", "severity": "critical",
                   "priority": "P1", "cluster": cluster["id"], "cluster_name": cluster["name"]},
        "annotations": {"summary": "The Kubernetes API of a cluster does not answer.",
                        "description": f"{cluster['name']} has not answered for 1 minute."},
        "startsAt": now,
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": uuid.uuid4().hex[:16],
    }  # fmt: skip
    body = {"version": "4", "receiver": "portal", "status": "firing", "alerts": [alert]}
    headers = {"Authorization": f"Bearer {_alertmanager_secret(portal)}"}
    url = f"{portal['url']}/api/v1/webhooks/alertmanager"
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    first = httpx.post(url, json=body, headers=headers)
    assert first.status_code == 200 and len(first.json()["created"]) == 1, first.text
    assert httpx.post(url, json=body, headers=headers).json()["replay"] is True

    sign_in(page, portal, OPERATOR)
    page.goto(f"{portal['url']}/admin/alerts")
    row = page.get_by_role("row").filter(has_text=cluster["name"])
    expect(row).to_have_count(1)
    expect(row.get_by_text("open", exact=True)).to_be_visible()
    expect(row.get_by_role("link", name="Runbook")).to_be_visible()
    shot(page, "alerts-list")

    row.get_by_role("link", name="ClusterApiServerDown").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.get_by_text(f"{cluster['name']} has not answered for 1 minute.")).to_be_visible()
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged by operator@vshn.mkportal.local")).to_be_visible()
    page.get_by_label("Comment").fill("Looking at the control plane.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_text("Looking at the control plane.")).to_be_visible()
    shot(page, "alerts-incident")

    page.get_by_role("link", name="Open the runbook").click()
    expect(page.get_by_role("heading", name="Mitigation")).to_be_visible()
    expect(page).to_have_url(f"{portal['url']}/admin/runbooks/cluster-api-server-down")
    shot(page, "alerts-runbook")

    page.goto(f"{portal['url']}/admin/runbooks")
    page.get_by_label("Search runbooks").fill("velero")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="ClusterBackupStale")).to_be_visible()
    expect(page.get_by_role("link", name="ClusterNodeNotReady")).to_have_count(0)


def test_member_sees_the_incident_on_the_cluster_alerts_tab(page: Page, portal, cluster):
    # The incident comes from the operator test above (same module-scoped cluster).
    sign_in(page, portal, MEMBER)
    page.goto(f"{portal['url']}/clusters/{cluster['id']}")
    page.get_by_role("tab", name="Alerts").click()
    row = page.get_by_role("row").filter(has_text="ClusterApiServerDown")
    expect(row).to_have_count(1)
    expect(row.get_by_text("P1")).to_be_visible()
    expect(row.get_by_text(f"{cluster['name']} has not answered for 1 minute.")).to_be_visible()
    expect(page.get_by_role("link", name="alarms", exact=True)).to_have_attribute("href", "/alarms")
    shot(page, "cluster-alerts-tab")


def test_member_sees_the_slo_report(page: Page, portal, cluster):
    token = mkportal_cli(portal, "tokens", "create", "--email", OPERATOR)
    period = datetime.now(UTC).strftime("%Y-%m")
    r = httpx.post(f"{portal['url']}/api/v1/admin/slo-reports/generate", json={"period": period},
                   headers={"Authorization": f"Bearer {token}"}, timeout=60)  # fmt: skip
    assert r.status_code == 200 and r.json()["written"] >= 1, r.text

    sign_in(page, portal, MEMBER)
    page.get_by_role("link", name="SLO reports").click()
    expect(page.get_by_role("heading", name="SLO reports", exact=True)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=cluster["name"])
    expect(row).to_have_count(1)
    expect(row.get_by_text("running")).to_be_visible()
    shot(page, "slo-member")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename == f"slo-{period}.csv"


def test_operator_sees_fleet_slo_rollups(page: Page, portal, cluster):
    sign_in(page, portal, OPERATOR)
    page.get_by_role("link", name="Fleet SLO").click()
    page.get_by_role("button", name="Recompute").click()
    expect(page.get_by_role("heading", name="Fleet and organisations")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Demo Org").first).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=cluster["name"])).to_have_count(1)
    shot(page, "slo-fleet")
