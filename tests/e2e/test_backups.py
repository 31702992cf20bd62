"""Backups in Chromium: a member schedules backups, backs up now, sees the catalog, previews
a restore's dry-run diff and restores deleted and changed objects; a viewer only reads;
the owner sees the organisation's backup storage and a bad bucket is refused."""

from __future__ import annotations

import httpx
import pytest
from kubernetes import client
from playwright.sync_api import Page, expect

from mkportal.services.kube.client import api_client
from tests.e2e.conftest import sandbox_cluster, shot, sign_in

pytestmark = pytest.mark.e2e

MEMBER = "member@demo.mkportal.local"
OWNER = "owner@demo.mkportal.local"
VIEWER = "viewer@demo.mkportal.local"
BACKUP_TIMEOUT = 90_000


def _core(kubeconfig: str) -> client.CoreV1Api:
    return client.CoreV1Api(api_client(kubeconfig))


def _configmap(name: str, **data: str) -> dict:
    return {"metadata": {"name": name, "namespace": "shop"}, "data": data}


def _choose(page: Page, label: str, option: str) -> None:
    """Pick an option of a select (again when the first click landed before it was ready)."""
    for _ in range(3):
        page.get_by_label(label).click()
        page.get_by_role("option", name=option).click()
        try:
            expect(page.get_by_label(label)).to_have_text(option, timeout=5_000)
            return
        except AssertionError:
            page.keyboard.press("Escape")
    expect(page.get_by_label(label)).to_have_text(option)


@pytest.fixture(scope="module")
def cluster(portal) -> dict:
    """A running Demo Org sandbox cluster with a namespace "shop" holding two ConfigMaps."""
    made = sandbox_cluster(portal, MEMBER, "bk")
    cluster_id, name, token = made["id"], made["name"], made["token"]
    r = httpx.get(
        f"{portal['url']}/api/v1/clusters/{cluster_id}/kubeconfig",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    core = _core(r.text)
    core.create_namespace({"metadata": {"name": "shop"}})
    core.create_namespaced_config_map("shop", _configmap("prices", coffee="4.20"))
    core.create_namespaced_config_map("shop", _configmap("menu", today="soup"))
    return {"id": cluster_id, "name": name, "kubeconfig": r.text}


def test_member_schedules_backs_up_and_restores(page: Page, portal, cluster):
    sign_in(page, portal, MEMBER)
    page.goto(f"{portal['url']}/clusters/{cluster['id']}")
    page.get_by_role("tab", name="Backups").click()
    schedules = page.get_by_test_id("schedule-row")
    expect(schedules).to_have_count(1)
    expect(schedules.first).to_contain_text("default")
    expect(page.get_by_text("No backups yet")).to_be_visible()

    _choose(page, "Repeat", "Cron expression")
    page.get_by_label("Name (optional)").fill("every six hours")
    page.get_by_label("Cron expression").fill("*/5 * * * *")
    page.get_by_role("button", name="Add schedule").click()
    expect(
        page.get_by_role("alert").filter(has_text="more often than every 15 minutes")
    ).to_be_visible()
    page.get_by_label("Cron expression").fill("0 */6 * * *")
    page.get_by_role("button", name="Add schedule").click()
    expect(schedules).to_have_count(2)
    expect(page.get_by_text("every six hours")).to_be_visible()
    shot(page, "backups-schedules")

    page.get_by_role("button", name="Back up now").click()
    rows = page.get_by_test_id("backup-row")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("[data-status]")).to_have_text("succeeded", timeout=BACKUP_TIMEOUT)
    expect(rows.first).to_contain_text("ConfigMap")
    expect(page.get_by_test_id("backup-freshness")).to_contain_text("newest good backup")
    shot(page, "backups-catalog")

    rows.first.get_by_role("link").click()
    details = page.get_by_test_id("backup-details")
    expect(details.get_by_role("cell", name="ConfigMap", exact=True)).to_be_visible()
    shot(page, "backups-details")
    details.get_by_role("button", name="Close").click()

    core = _core(cluster["kubeconfig"])
    core.delete_namespaced_config_map("prices", "shop")
    menu = core.read_namespaced_config_map("menu", "shop")
    menu.data = {"today": "stew"}
    core.replace_namespaced_config_map("menu", "shop", menu)

    rows.first.get_by_role("button", name="Restore…").click()
    wizard = page.get_by_test_id("restore-wizard")
    expect(wizard).to_be_visible()
    wizard.get_by_label("Namespaces (comma-separated, empty: all)").fill("shop")
    wizard.get_by_role("button", name="Preview changes").click()
    expect(wizard.get_by_test_id("diff-create")).to_have_text("1")
    expect(wizard.get_by_test_id("diff-update")).to_have_text("1")
    expect(wizard.get_by_test_id("diff-delete")).to_have_text("0")
    diff = wizard.get_by_test_id("restore-diff")
    expect(diff.get_by_role("row", name="create ConfigMap shop prices")).to_be_visible()
    shot(page, "backups-restore-preview")

    wizard.get_by_role("button", name="Restore", exact=True).click()
    expect(wizard.get_by_text("Restore status:")).to_be_visible()
    expect(wizard.locator("[data-status]").first).to_have_text("succeeded", timeout=BACKUP_TIMEOUT)
    shot(page, "backups-restore-done")
    wizard.get_by_role("button", name="Close").first.click()
    expect(page.get_by_test_id("restore-row").first.locator("[data-status]")).to_have_text(
        "succeeded"
    )

    assert core.read_namespaced_config_map("prices", "shop").data == {"coffee": "4.20"}
    assert core.read_namespaced_config_map("menu", "shop").data == {"today": "soup"}


def test_viewer_reads_but_cannot_back_up_or_restore(page: Page, portal, cluster):
    sign_in(page, portal, VIEWER)
    page.goto(f"{portal['url']}/clusters/{cluster['id']}")
    page.get_by_role("tab", name="Backups").click()
    expect(page.get_by_test_id("backup-row").first.locator("[data-status]")).to_have_text(
        "succeeded"
    )
    expect(page.get_by_test_id("schedule-row")).to_have_count(2)
    expect(page.get_by_role("button", name="Back up now")).to_have_count(0)
    expect(page.get_by_role("button", name="Restore…")).to_have_count(0)
    expect(page.get_by_role("button", name="Add schedule")).to_have_count(0)
    expect(page.get_by_role("button", name="Save retention")).to_be_disabled()
    shot(page, "backups-viewer")


def test_owner_sees_and_checks_the_storage(page: Page, portal, cluster):
    sign_in(page, portal, OWNER)
    page.get_by_role("link", name="Backup storage").click()
    expect(page.get_by_test_id("storage-kind")).to_have_text("local")
    _choose(page, "Storage", "S3-compatible object storage")
    page.get_by_label("Bucket").fill("Not A Bucket")
    page.get_by_role("button", name="Save storage").click()
    expect(page.get_by_role("alert").filter(has_text="Use 3-63 lowercase letters")).to_be_visible()
    expect(page.get_by_test_id("storage-kind")).to_have_text("local")
    shot(page, "backups-storage")
