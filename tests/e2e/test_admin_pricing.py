"""Operator stories in Chromium: schedule a price version for tomorrow (it is listed as
scheduled, the prices in force stay), and retire a service level (it is no longer offered
in /clusters/new)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e
OPERATOR = "operator@vshn.mkportal.local"


def _toasts_gone(page: Page) -> None:
    """Wait until the toasts (which pause while hovered) no longer cover the buttons."""
    page.mouse.move(5, 5)
    expect(page.locator("[data-sonner-toast]")).to_have_count(0, timeout=20_000)


def test_operator_schedules_a_price_version_for_tomorrow(page: Page, portal):
    sign_in(page, portal, OPERATOR)
    page.get_by_role("link", name="Prices").click()
    expect(page).to_have_url(re.compile(r"/admin/prices$"))
    shown = page.get_by_test_id("shown-version")
    expect(shown.get_by_text("Prices of version 1")).to_be_visible()
    expect(shown.get_by_text("in force")).to_be_visible()
    expect(shown.get_by_role("row", name=re.compile(r"^sandbox s-2 .* 0\.045"))).to_be_visible()
    shot(page, "admin-prices")

    page.get_by_role("button", name="New price version").click()
    s2 = page.get_by_label("sandbox/s-2 (2 vCPU, 4 GiB) per node-hour")
    expect(s2).to_have_value("0.045")
    expect(page.get_by_label("Premium: base fee per cluster-month")).to_have_value("400")
    expect(page.get_by_label("Currency")).to_have_value("CHF")
    effective = page.get_by_label("Takes effect (UTC)").input_value()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00", effective), effective

    s2.fill("0")
    page.get_by_label("Takes effect (UTC)").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Schedule price version").click()
    inline = page.locator("p[role=alert]")
    expect(
        inline.filter(has_text="The node-hour price of sandbox/s-2 must be more than 0.")
    ).to_be_visible()
    expect(inline.filter(has_text="never retroactively")).to_be_visible()
    shot(page, "admin-prices-errors")

    s2.fill("0.05")
    page.get_by_label("Takes effect (UTC)").fill(effective)
    page.get_by_label("Note").fill("Sandbox nodes cost more")
    page.get_by_role("button", name="Schedule price version").click()
    scheduled = page.get_by_test_id("scheduled-2")
    expect(scheduled).to_contain_text(f"Version 2 from {effective.replace('T', ' ')}:00 UTC")
    expect(shown.get_by_text("Prices of version 2")).to_be_visible()
    expect(shown.get_by_text("scheduled", exact=True)).to_be_visible()
    expect(shown.get_by_role("row", name=re.compile(r"^sandbox s-2 .* 0\.05 "))).to_be_visible()
    history = page.get_by_role("row", name=re.compile(r"^2 scheduled"))
    expect(history).to_contain_text("Sandbox nodes cost more")
    expect(page.get_by_role("row", name=re.compile(r"^1 in force"))).to_be_visible()
    shot(page, "admin-prices-scheduled")

    # the version in force is unchanged, and it has no Delete button
    page.get_by_role("row", name=re.compile(r"^1 in force")).get_by_role(
        "button", name="Show prices"
    ).click()
    expect(shown.get_by_text("Prices of version 1")).to_be_visible()
    expect(shown.get_by_role("row", name=re.compile(r"^sandbox s-2 .* 0\.045"))).to_be_visible()
    expect(
        page.get_by_role("row", name=re.compile(r"^1 in force")).get_by_role(
            "button", name="Delete"
        )
    ).to_have_count(0)

    scheduled.get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("scheduled-2")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile(r"^2 scheduled"))).to_have_count(0)


def _level_options(browser: Browser, portal: dict) -> list[str]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    customer = context.new_page()
    try:
        sign_in(customer, portal, "owner@demo.mkportal.local")
        customer.goto(f"{portal['url']}/clusters/new")
        customer.get_by_label("Service level").click()
        options = customer.get_by_role("option")
        expect(options.first).to_be_visible()
        names = options.all_inner_texts()
        shot(customer, "cluster-new-levels")
        customer.keyboard.press("Escape")
        return names
    finally:
        context.close()


def test_operator_retires_a_level_and_it_is_no_longer_offered(page: Page, portal, browser):
    assert "Premium" in _level_options(browser, portal)
    sign_in(page, portal, OPERATOR)
    page.get_by_role("link", name="Service levels").click()
    expect(page).to_have_url(re.compile(r"/admin/service-levels$"))
    premium = page.get_by_test_id("premium")
    expect(premium).to_contain_text("99.9 %")
    expect(premium).to_contain_text("0.5:10, 2:25, 100:100")
    expect(premium.get_by_text("offered", exact=True)).to_be_visible()
    shot(page, "admin-service-levels")

    premium.get_by_role("button", name="Retire").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Clusters on it keep it")
    dialog.get_by_role("button", name="Retire").click()
    expect(premium.get_by_text("retired", exact=True)).to_be_visible()
    expect(premium.get_by_role("button", name="Unretire")).to_be_visible()
    shot(page, "admin-service-levels-retired")
    assert "Premium" not in _level_options(browser, portal)

    premium.get_by_role("button", name="Unretire").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Unretire").click()
    expect(premium.get_by_text("offered", exact=True)).to_be_visible()


def test_operator_creates_and_edits_a_level_with_inline_errors(page: Page, portal):
    sign_in(page, portal, OPERATOR)
    page.goto(f"{portal['url']}/admin/service-levels")
    page.get_by_role("button", name="New service level").click()
    page.get_by_label("Slug").fill("gold")
    page.get_by_label("Name", exact=True).fill("Gold")
    page.get_by_label("Monthly availability target (%)").fill("100")
    page.get_by_label("Credit policy").fill("2:10, 1:25")
    page.get_by_role("button", name="Create service level").click()
    inline = page.locator("p[role=alert]")
    expect(inline.filter(has_text="Enter a percentage above 0 and below 100")).to_be_visible()
    expect(inline.filter(has_text="Must be larger than the step before (2)")).to_be_visible()
    page.get_by_label("Credit policy").fill("0.5 10")
    page.get_by_role("button", name="Create service level").click()
    expect(inline.filter(has_text="is not 'points:percent'")).to_be_visible()
    shot(page, "admin-service-levels-errors")
    page.get_by_label("Monthly availability target (%)").fill("99.95")
    page.get_by_label("Credit policy").fill("0.05:10, 0.5:50, 100:100")
    page.get_by_label("Monitoring during maintenance").click()
    page.get_by_role("button", name="Create service level").click()
    gold = page.get_by_test_id("gold")
    expect(gold).to_contain_text("99.95 %")
    expect(gold).to_contain_text("0.05:10, 0.5:50, 100:100")
    _toasts_gone(page)
    gold.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Gold")
    page.get_by_label("Support hours").fill("24x7 with a named engineer")
    page.get_by_role("button", name="Save changes").click()
    expect(gold).to_contain_text("24x7 with a named engineer")
    shot(page, "admin-service-levels-gold")
    _toasts_gone(page)
    gold.get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("gold")).to_have_count(0)
