"""Historic logs in Chromium: a member turns collection on, watches the live tail, searches
and opens a line's context; the operator reads a cluster's control-plane audit events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sandbox_cluster, shot, sign_in

pytestmark = pytest.mark.e2e

MEMBER = "member@demo.mkportal.local"
OPERATOR = "operator@vshn.mkportal.local"
TAIL_TIMEOUT = 20_000


def _ingest(portal: dict, ingest_token: str, *lines: dict) -> None:
    """Send lines through the ingest API, as the cluster's log agent would."""
    now = datetime.now(UTC).isoformat()
    body = "\n".join(json.dumps({"ts": now, **line}) for line in lines)
    r = httpx.post(
        f"{portal['url']}/api/v1/ingest/logs",
        content=body.encode(),
        headers={"Authorization": f"Bearer {ingest_token}"},
    )
    assert r.status_code == 202, r.text


@pytest.fixture(scope="module")
def cluster(portal) -> dict:
    """A running Demo Org sandbox cluster and an ingest token for it."""
    made = sandbox_cluster(portal, MEMBER, "logs")
    cluster_id, name, token = made["id"], made["name"], made["token"]
    r = httpx.post(
        f"{portal['url']}/api/v1/clusters/{cluster_id}/log-tokens",
        json={"name": "e2e-agent"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    return {"id": cluster_id, "name": name, "ingest": r.json()["token"]}


def test_member_enables_collection_tails_and_searches(page: Page, portal, cluster):
    sign_in(page, portal, MEMBER)
    page.goto(f"{portal['url']}/clusters/{cluster['id']}")
    page.get_by_role("tab", name="Logs").click()
    expect(page.get_by_test_id("log-retention")).to_have_text("7 days")
    expect(page.get_by_test_id("collection-status")).to_have_text("off")
    off = "Collection is off: enable it to ship this cluster's logs."
    expect(page.get_by_text(off, exact=True)).to_be_visible()
    shot(page, "logs-collection-off")

    page.get_by_role("button", name="Enable collection").click()
    expect(page.get_by_test_id("collection-status")).to_have_text("on")
    expect(page.get_by_text("Shipping the logs of")).to_be_visible()

    page.get_by_role("button", name="Live tail").click()
    expect(page.get_by_role("button", name="Stop live tail")).to_be_visible()
    marker = f"m{uuid.uuid4().hex[:10]}"
    line = {"namespace": "shop", "pod": "checkout-7d9f", "container": "app"}
    _ingest(
        portal,
        cluster["ingest"],
        {**line, "level": "info", "message": "warming the product cache"},
        {**line, "level": "error", "message": f"checkout {marker} failed: card declined"},
        {**line, "level": "info", "message": "order queue drained"},
    )
    tail = page.get_by_test_id("log-tail")
    expect(tail.get_by_text(f"checkout {marker} failed: card declined")).to_be_visible(
        timeout=TAIL_TIMEOUT
    )
    shot(page, "logs-live-tail")
    tail.get_by_text(f"checkout {marker} failed: card declined").click()
    expect(page.get_by_test_id("log-context").get_by_text("order queue drained")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Stop live tail").click()

    page.get_by_label("Search text").fill(f"{marker} declined")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_test_id("log-lines")
    expect(results.get_by_test_id("log-line")).to_have_count(1)
    expect(results.locator("mark")).to_have_text([marker, "declined"])
    expect(page.get_by_test_id("log-histogram")).to_be_visible()
    shot(page, "logs-search")

    results.get_by_test_id("log-line").click()
    context = page.get_by_test_id("log-context")
    expect(context.get_by_text("warming the product cache")).to_be_visible()
    expect(context.get_by_text("order queue drained")).to_be_visible()
    shot(page, "logs-context")
    page.get_by_role("button", name="Close").click()

    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON lines").click()
    text = download.value.path().read_text()
    assert json.loads(text.splitlines()[0])["message"] == f"checkout {marker} failed: card declined"

    page.get_by_role("tab", name="Overview").click()
    expect(page.get_by_text("Cluster id")).to_be_visible()
    expect(page.get_by_test_id("collection-status")).to_have_count(0)
    page.get_by_role("tab", name="Logs").click()
    expect(page.get_by_test_id("collection-status")).to_have_text("on")


def test_operator_reads_control_plane_audit_events(page: Page, portal, cluster):
    user = f"e2e-admin-{uuid.uuid4().hex[:8]}"
    _ingest(
        portal,
        cluster["ingest"],
        {
            "stream": "control-plane",
            "component": "audit",
            "level": "info",
            "message": f"audit: {user} delete deployments/web in namespace shop: 200",
            "attrs": {
                "verb": "delete",
                "user": user,
                "resource": "deployments",
                "name": "web",
                "namespace": "shop",
                "responseStatus": 200,
            },
        },
        {
            "stream": "control-plane",
            "component": "kube-scheduler",
            "level": "info",
            "message": f"Successfully assigned shop/{user} to node-1",
        },
    )
    sign_in(page, portal, OPERATOR)
    page.goto(f"{portal['url']}/admin/logs")
    expect(page.get_by_text("Choose a cluster")).to_be_visible()
    page.get_by_label("Organisation").click()
    page.get_by_role("option", name="Demo Org").click()
    page.get_by_label("Cluster").click()
    page.get_by_role("option", name=cluster["name"]).click()
    expect(page.get_by_text(f"Successfully assigned shop/{user} to node-1")).to_be_visible()
    expect(page.get_by_label("Control-plane retention (days, 1-90)")).to_have_value("14")

    page.get_by_label("Component").click()
    page.get_by_role("option", name="audit", exact=True).click()
    page.get_by_role("button", name="Search").click()
    events = page.get_by_test_id("audit-events")
    row = events.get_by_role("row").filter(has_text=user)
    expect(row).to_contain_text("delete")
    expect(row).to_contain_text("deployments/web")
    expect(row).to_contain_text("shop")
    expect(row).to_contain_text("200")
    shot(page, "admin-logs-audit")

    page.get_by_label("Control-plane retention (days, 1-90)").fill("30")
    page.get_by_role("button", name="Save retention").click()
    expect(page.get_by_text("Control-plane logs are kept for 30 days.")).to_be_visible()


def test_scrolling_down_loads_older_lines(page: Page, portal, cluster):
    ns = f"scroll-{uuid.uuid4().hex[:6]}"
    lines = [{"namespace": ns, "pod": "web-1", "container": "web", "level": "info",
              "message": f"request {i:03d} served"} for i in range(250)]  # fmt: skip
    _ingest(portal, cluster["ingest"], *lines)
    sign_in(page, portal, MEMBER)
    page.goto(f"{portal['url']}/clusters/{cluster['id']}")
    page.get_by_role("tab", name="Logs").click()
    page.get_by_label("Namespace", exact=True).fill(ns)
    page.get_by_role("button", name="Search").click()
    shown = page.get_by_test_id("log-lines").get_by_test_id("log-line")
    expect(shown).to_have_count(100)
    for expected in (200, 250):
        page.get_by_role("button", name="Load older").scroll_into_view_if_needed()
        expect(shown).to_have_count(expected)
    expect(page.get_by_role("button", name="Load older")).to_have_count(0)
