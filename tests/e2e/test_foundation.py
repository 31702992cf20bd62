"""User stories of the foundation, in Chromium against `make run`'s portal."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import mkportal_cli, shot, sign_in

pytestmark = pytest.mark.e2e


def test_sign_in_with_a_wrong_password_then_the_right_one_and_sign_out(page: Page, portal):
    page.goto(f"{portal['url']}/login")
    page.get_by_label("Email").fill("member@demo.mkportal.local")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid email or password")
    shot(page, "login-error")
    sign_in(page, portal, "member@demo.mkportal.local")
    expect(page).to_have_url(re.compile(r"/(operations|clusters)"))
    shot(page, "signed-in")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(f"{portal['url']}/settings")
    expect(page).to_have_url(re.compile(r"/login"))


def test_the_admin_console_is_for_operators_only(page: Page, portal):
    page.goto(f"{portal['url']}/login")
    page.get_by_label("Email").fill("nobody@demo.mkportal.local")
    page.get_by_label("Password").fill("not-a-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    sign_in(page, portal, "owner@demo.mkportal.local")
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    page.goto(f"{portal['url']}/admin/audit")
    expect(page).not_to_have_url(re.compile(r"/admin"))
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, portal, "operator@vshn.mkportal.local")
    page.goto(f"{portal['url']}/admin")
    expect(page.get_by_text("Organisations")).to_be_visible()
    shot(page, "admin-overview")
    page.get_by_label("access_key_id").fill("AKIAEXAMPLE")
    page.get_by_label("secret_access_key").fill("do-not-show-me")
    page.get_by_role("button", name="Save credentials").click()
    expect(
        page.get_by_role("cell", name=re.compile("access_key_id, secret_access_key"))
    ).to_be_visible()
    expect(page.get_by_text("do-not-show-me")).to_have_count(0)
    page.get_by_role("link", name="Audit log").first.click()
    expect(page.get_by_text("login.succeeded").first).to_be_visible()
    page.get_by_label("Action").fill("login.failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("login.failed").first).to_be_visible()
    expect(page.locator("td", has_text="login.succeeded")).to_have_count(0)
    shot(page, "admin-audit")


def test_a_diagnostic_operation_shows_live_progress_and_log(page: Page, portal):
    sign_in(page, portal, "member@demo.mkportal.local")
    page.goto(f"{portal['url']}/operations")
    page.get_by_role("button", name="Run diagnostic").click()
    page.get_by_label("Steps").fill("3")
    page.get_by_label("Seconds per step").fill("2")
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/operations/[0-9a-f-]+$"))
    expect(page.get_by_test_id("operation-step")).to_contain_text("Step", timeout=20_000)
    shot(page, "operation-running")
    expect(page.locator("[data-status]").first).to_have_text("succeeded", timeout=60_000)
    expect(page.get_by_test_id("operation-log")).to_contain_text("diagnostic step 3")
    shot(page, "operation-succeeded")
    page.get_by_role("link", name="All operations").click()
    expect(page.get_by_role("link", name="Diagnostic").first).to_be_visible()


def test_an_api_token_is_shown_once_works_and_can_be_revoked(page: Page, portal):
    sign_in(page, portal, "member@demo.mkportal.local")
    page.goto(f"{portal['url']}/settings")
    page.get_by_label("Token name").fill("e2e-token")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_test_id("new-token").locator("code").inner_text().strip()
    assert token.startswith("mkp_")
    shot(page, "settings-token")
    me = httpx.get(f"{portal['url']}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == "member@demo.mkportal.local"

    page.get_by_role("button", name="Done").click()
    row = page.locator("tr", has_text="e2e-token")
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Revoke").click()
    expect(row.get_by_text("revoked")).to_be_visible()
    gone = httpx.get(f"{portal['url']}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401


def test_an_owner_invites_someone_who_joins_through_the_emailed_link(page: Page, portal, browser):
    sign_in(page, portal, "owner@demo.mkportal.local")
    page.goto(f"{portal['url']}/settings/members")
    page.get_by_label("Email", exact=True).fill("newcomer@demo.mkportal.local")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Pending invitations")).to_be_visible()
    shot(page, "members-invited")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, portal, "operator@vshn.mkportal.local")
    page.goto(f"{portal['url']}/admin/outbox")
    page.get_by_text("You are invited to").first.click()
    body = page.get_by_test_id("mail-body").inner_text()
    link = re.search(r"https?://\S+/invite/\S+", body).group(0)
    page.get_by_role("button", name="Sign out").click()

    page.goto(link)
    expect(page.get_by_text("You are invited to")).to_be_visible()
    page.get_by_label("Your name").fill("New Comer")
    page.get_by_label("Password").fill("a-long-new-password")
    page.get_by_role("button", name="Accept invitation").click()
    expect(page).to_have_url(re.compile(r"/login"))
    sign_in(page, portal, "newcomer@demo.mkportal.local", "a-long-new-password")
    page.goto(f"{portal['url']}/settings/members")
    expect(page.get_by_role("cell", name="newcomer@demo.mkportal.local")).to_be_visible()
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("invalid, expired or already used")


def test_another_organisations_operation_is_not_reachable(page: Page, portal):
    mkportal_cli(
        portal,
        "users",
        "create",
        "--email",
        "eve@rival.test",
        "--password",
        "rival-password-1",
        "--org",
        "Rival",
    )
    token = mkportal_cli(portal, "tokens", "create", "--email", "member@demo.mkportal.local")
    op = httpx.post(
        f"{portal['url']}/api/v1/operations",
        json={"kind": "noop", "params": {"steps": 1}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert op.status_code in (200, 201, 202), op.text
    op_id = op.json()["operation"]["id"]

    sign_in(page, portal, "eve@rival.test", "rival-password-1")
    page.goto(f"{portal['url']}/operations/{op_id}")
    expect(page.get_by_text("Operation not found")).to_be_visible()
    page.goto(f"{portal['url']}/operations")
    expect(page.get_by_text("No operations yet")).to_be_visible()
    shot(page, "isolation")


def test_a_user_in_two_organisations_switches_between_them(page: Page, portal):
    mkportal_cli(
        portal,
        "users",
        "create",
        "--email",
        "consultant@demo.mkportal.local",
        "--password",
        "consultant-pass-1",
        "--org",
        "Demo Org",
        "--role",
        "viewer",
    )
    mkportal_cli(
        portal,
        "users",
        "create",
        "--email",
        "consultant@demo.mkportal.local",
        "--password",
        "consultant-pass-1",
        "--org",
        "Second Org",
    )
    sign_in(page, portal, "consultant@demo.mkportal.local", "consultant-pass-1")
    switcher = page.get_by_label("Organisation")
    expect(switcher).to_be_visible()
    before = switcher.inner_text()
    other = "Second Org" if "Demo" in before else "Demo Org"
    switcher.click()
    page.get_by_role("option", name=other).click()
    expect(page.get_by_label("Organisation")).to_have_text(other)
    page.goto(f"{portal['url']}/settings/members")
    expect(page.get_by_role("cell", name="consultant@demo.mkportal.local")).to_be_visible()
    shot(page, "org-switched")
