"""Alarms in Chromium: a member creates an alarm that fires; the bell shows the notice."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import mkportal_cli, shot, sign_in
from tests.e2e.test_clusters import _api_cluster

pytestmark = pytest.mark.e2e

MEMBER = "member@demo.mkportal.local"
FIRE_TIMEOUT = 60_000


def test_member_creates_an_alarm_that_fires_and_rings_the_bell(page: Page, portal):
    token = mkportal_cli(portal, "tokens", "create", "--email", MEMBER)
    _api_cluster(
        portal,
        token,
        {
            "name": f"alarm-{uuid.uuid4().hex[:6]}",
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
        },
    )
    sign_in(page, portal, MEMBER)
    page.get_by_role("link", name="Alarms").click()
    expect(page.get_by_role("heading", name="Alarms", exact=True)).to_be_visible()
    page.get_by_role("button", name="New alarm").click()
    page.get_by_label("Name").fill("Clusters exist")
    page.get_by_label("PromQL query").fill("count(mk_cluster_info)")
    page.get_by_label("Threshold").fill("0")
    page.get_by_label("For (seconds)").fill("0")
    page.get_by_role("button", name="Preview value").click()
    expect(page.get_by_test_id("alarm-preview")).to_contain_text("Current value", timeout=30_000)
    shot(page, "alarms-form")
    page.get_by_role("button", name="Create alarm").click()
    row = page.get_by_test_id("alarm-row").filter(has_text="Clusters exist")
    expect(row).to_be_visible()
    expect(row.get_by_test_id("alarm-state")).to_have_text("firing", timeout=FIRE_TIMEOUT)
    bell = page.get_by_test_id("bell")
    expect(bell).not_to_have_attribute("data-unread", "0", timeout=FIRE_TIMEOUT)
    shot(page, "alarms-firing")
    bell.click()
    notice = page.get_by_test_id("notification").filter(has_text="Clusters exist is firing")
    expect(notice.first).to_be_visible()
    shot(page, "alarms-bell")
    page.keyboard.press("Escape")
    row.get_by_role("button", name="History").click()
    expect(page.get_by_text("History of Clusters exist")).to_be_visible()
