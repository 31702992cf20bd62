"""Billing in Chromium: the cost of a change before it is saved, a billing run by the
operator, the customer's invoice and usage chart, credits and a re-sent invoice."""

from __future__ import annotations

import re
import subprocess
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT, mkportal_cli, shot, sign_in
from tests.e2e.test_clusters import _api_cluster

pytestmark = pytest.mark.e2e

OWNER = "owner@demo.mkportal.local"
MEMBER = "member@demo.mkportal.local"
OPERATOR = "operator@vshn.mkportal.local"

# Records a cluster's hourly usage for every hour of a month, as metering would have.
SEED_USAGE = """
import sys
from datetime import timedelta
from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.services.billing import metering
from mkportal.services.billing.money import hours_in, parse_period

cluster_id, period = sys.argv[1], sys.argv[2]
with session_scope() as s:
    c = s.get(Cluster, cluster_id)
    org_id, level = c.org_id, c.service_level
start, _ = parse_period(period)
items = [("cluster", level, "", 1), ("node", "sandbox/s-2", "default", 2),
         ("feature", "cert-manager", "", 1), ("feature", "ingress-controller", "", 1)]
rows = [
    {"org_id": org_id, "cluster_id": cluster_id, "hour": start + timedelta(hours=h),
     "service_level": level, "component": comp, "sku": sku, "pool": pool, "quantity": qty}
    for h in range(hours_in(period)) for comp, sku, pool, qty in items
]
with session_scope() as s:
    metering.insert_ignore(s, rows)
"""


def _last_month() -> tuple[str, str]:
    now = datetime.now(UTC)
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return f"{year:04d}-{month:02d}", datetime(year, month, 1).strftime("%B %Y")


def _headers(portal: dict, email: str) -> dict:
    return {"Authorization": f"Bearer {mkportal_cli(portal, 'tokens', 'create', '--email', email)}"}


@pytest.fixture(scope="module")
def last_month(portal) -> dict:
    """A Demo Org cluster that ran all of last month (its usage is recorded)."""
    name = f"billed-{uuid.uuid4().hex[:6]}"
    body = {
        "name": name,
        "region": "ch-gva-2",
        "version": "1.35",
        "features": ["cert-manager", "ingress-controller"],
        "node_pools": [{"name": "default", "machine_type": "s-2", "count": 2}],
    }
    r = httpx.post(f"{portal['url']}/api/v1/clusters", json=body, headers=_headers(portal, MEMBER))
    assert r.status_code == 202, r.text
    cluster_id = r.json()["cluster"]["id"]
    period, month = _last_month()
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", SEED_USAGE, cluster_id, period],
        cwd=ROOT,
        env=portal["env"],
        check=True,
        capture_output=True,
    )
    return {"name": name, "cluster_id": cluster_id, "period": period, "month": month}


def _invoice_number(portal: dict, period: str) -> str:
    r = httpx.get(
        f"{portal['url']}/api/v1/billing/invoices",
        params={"period": period},
        headers=_headers(portal, OWNER),
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    return items[0]["number"]


def test_the_cost_of_a_change_is_shown_before_saving(page: Page, portal):
    token = mkportal_cli(portal, "tokens", "create", "--email", MEMBER)
    cluster_id = _api_cluster(
        portal,
        token,
        {
            "name": f"cost-{uuid.uuid4().hex[:6]}",
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 2}],
        },
    )
    sign_in(page, portal, MEMBER)
    page.goto(f"{portal['url']}/clusters/{cluster_id}")
    page.get_by_role("tab", name="Node pools").click()
    impact = page.get_by_test_id("pool-cost")
    expect(impact).to_contain_text("This cluster costs")
    now = impact.get_by_test_id("pool-cost-now").inner_text()
    assert re.fullmatch(r"[\d,]+\.\d\d CHF/month", now), now

    page.get_by_label("Node count").first.fill("3")
    expect(page.get_by_test_id("pool-cost-difference")).to_have_text(
        re.compile(r"^\+[\d,]+\.\d\d CHF/month$")
    )
    expect(page.get_by_test_id("pool-cost-now")).to_have_text(now)
    expect(impact.get_by_role("cell", name="s-2 nodes: 2 -> 3")).to_be_visible()
    shot(page, "billing-cost-impact-pools")

    page.get_by_label("Node count").first.fill("1")
    expect(page.get_by_test_id("pool-cost-difference")).to_have_text(re.compile(r"^-"))
    page.get_by_label("Node count").first.fill("3")
    expect(page.get_by_test_id("pool-cost-difference")).to_have_text(re.compile(r"^\+"))
    page.get_by_role("button", name="Save node pools").click()
    expect(page.get_by_text("Node pool change requested.")).to_be_visible()

    page.get_by_role("tab", name="Features").click()
    page.get_by_label("Log agent").click()
    expect(page.get_by_test_id("feature-cost-difference")).to_have_text(re.compile(r"^\+"))

    page.get_by_role("tab", name="Overview").click()
    page.get_by_label("Service level").click()
    page.get_by_role("option", name="Premium").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Change the service level to Premium?")
    expect(dialog.get_by_test_id("level-cost-difference")).to_have_text(re.compile(r"^\+"))
    shot(page, "billing-cost-impact-level")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    r = httpx.get(
        f"{portal['url']}/api/v1/clusters/{cluster_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.json()["service_level"] == "standard"


def test_operator_bills_the_month_and_the_customer_sees_the_invoice(
    page: Page, portal, last_month, tmp_path
):
    sign_in(page, portal, OPERATOR)
    page.goto(f"{portal['url']}/admin/billing")
    month_input = page.get_by_label("Month to bill (YYYY-MM)")
    expect(month_input).to_have_value(last_month["period"])
    month_input.fill(datetime.now(UTC).strftime("%Y-%m"))
    page.get_by_role("button", name="Run billing").click()
    expect(page.get_by_role("alert").filter(has_text="is not over yet")).to_be_visible()
    month_input.fill(last_month["period"])
    page.get_by_role("button", name="Run billing").click()
    expect(page).to_have_url(re.compile(r"/operations/[0-9a-f]{32}$"))
    expect(page.locator("[data-status]").first).to_have_text("succeeded", timeout=90_000)
    shot(page, "billing-run-operation")
    page.goto(f"{portal['url']}/admin/billing")
    number = _invoice_number(portal, last_month["period"])
    row = page.locator(f"tr[data-invoice='{number}']")
    expect(row).to_contain_text("Demo Org")
    expect(row.locator("[data-status]")).to_have_text("sent")
    shot(page, "billing-admin")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, portal, OWNER)
    page.goto(f"{portal['url']}/billing")
    expect(page.get_by_test_id("estimate-projected")).to_contain_text("CHF")
    invoice = page.get_by_test_id("invoice-list").locator("tr", has_text=number)
    expect(invoice.locator("[data-status]")).to_have_text("sent")
    with page.expect_download() as download:
        invoice.get_by_role("button", name=f"Download {number}").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    html = path.read_text()
    assert number in html and last_month["name"] in html

    invoice.get_by_role("button", name="View").click()
    detail = page.get_by_test_id("invoice-detail")
    expect(detail.get_by_role("cell", name="cert-manager").first).to_be_visible()
    expect(detail.get_by_test_id("invoice-total")).to_contain_text("CHF")
    page.get_by_role("button", name="Back to the invoices").click()

    page.get_by_label("Month", exact=True).click()
    page.get_by_role("option", name=last_month["month"]).click()
    chart = page.get_by_test_id("usage-chart")
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=30_000)
    expect(chart.locator(".bars path").first).to_be_visible()
    expect(chart.get_by_text(last_month["name"])).to_be_visible()
    history = page.get_by_test_id("history-chart")
    expect(history.locator(".xtick", has_text=last_month["period"])).to_be_visible()
    expect(history.locator(".legendtext", has_text="sent")).to_be_visible()
    shot(page, "billing-customer")
    # The running estimate refreshes by itself while the page is open.
    updated = page.get_by_test_id("estimate-updated")
    expect(updated).to_contain_text("UTC")
    expect(updated).not_to_have_text(updated.inner_text(), timeout=40_000)


def test_operator_adds_a_credit_and_resends_an_invoice(page: Page, portal, last_month):
    mkportal_cli(portal, "billing", "run", "--month", last_month["period"])
    number = _invoice_number(portal, last_month["period"])
    sign_in(page, portal, OPERATOR)
    page.goto(f"{portal['url']}/admin/billing")
    page.locator("#credit-org").click()
    page.get_by_role("option", name="Demo Org").click()
    page.get_by_label("Amount").fill("-3")
    page.get_by_label("Reason (shown on the invoice)").fill("Outage")
    page.get_by_role("button", name="Add credit").click()
    expect(page.get_by_text("A credit must be more than 0.", exact=True)).to_be_visible()
    reason = f"Outage of 3 hours ({uuid.uuid4().hex[:4]})"
    page.get_by_label("Amount").fill("15.00")
    page.get_by_label("Reason (shown on the invoice)").fill(reason)
    page.get_by_role("button", name="Add credit").click()
    credit = page.locator("tr", has_text=reason)
    expect(credit).to_contain_text("Demo Org")
    expect(credit).to_contain_text("15.00")
    expect(page.get_by_text("A credit must be more than 0.", exact=True)).to_be_hidden()
    expect(page.get_by_label("Amount")).to_have_value("")

    row = page.locator(f"tr[data-invoice='{number}']")
    row.get_by_role("button", name="Re-send").click()
    expect(page.get_by_text(f"Invoice sent to {OWNER}")).to_be_visible()
    shot(page, "billing-admin-credit")
    page.goto(f"{portal['url']}/admin/outbox")
    expect(page.get_by_text(f"Copy: mkportal invoice {number}").first).to_be_visible()
