"""Cluster provisioning stories in Chromium: create with estimate, connect, scale, features,
rotate credentials, delete; another organisation cannot reach the cluster."""

from __future__ import annotations

import re
import subprocess
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT, mkportal_cli, shot, sign_in

pytestmark = pytest.mark.e2e


def _status(page: Page):
    return page.locator("h1 [data-status]").first


def test_create_a_cluster_connect_with_kubectl_scale_and_delete(page: Page, portal, tmp_path):
    name = f"web-{uuid.uuid4().hex[:6]}"
    sign_in(page, portal, "member@demo.mkportal.local")
    expect(page).to_have_url(re.compile(r"/clusters"))
    page.get_by_role("link", name="New cluster").first.click()
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    before = page.get_by_test_id("estimate-total").inner_text()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Node count").first.fill("3")
    expect(page.get_by_test_id("estimate-total")).not_to_have_text(before)
    page.get_by_label("cert-manager").click()
    expect(page.get_by_label("cert-manager")).to_be_checked()
    expect(page.get_by_label("Ingress controller")).to_be_checked()
    shot(page, "cluster-new")

    page.get_by_label("Node count").first.fill("-1")
    page.get_by_role("button", name="Create cluster").click()
    expect(page.get_by_text("Choose 0 to").first).to_be_visible()
    page.get_by_label("Node count").first.fill("2")
    page.get_by_role("button", name="Create cluster").click()
    expect(page).to_have_url(re.compile(r"/clusters/[0-9a-f]{32}$"), timeout=15_000)
    expect(page.get_by_test_id("operation-step")).to_be_visible()
    shot(page, "cluster-provisioning")
    expect(_status(page)).to_have_text("running", timeout=120_000)
    shot(page, "cluster-running")

    page.get_by_role("tab", name="Access").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download kubeconfig").click()
    path = tmp_path / "kubeconfig"
    download.value.save_as(path)
    nodes = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "kubectl"), "--kubeconfig", str(path), "get", "nodes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert nodes.returncode == 0, nodes.stderr
    assert len([line for line in nodes.stdout.splitlines()[1:] if " Ready" in line]) == 2
    shot(page, "cluster-access")

    page.get_by_role("tab", name="Node pools").click()
    page.get_by_label("Node count").first.fill("3")
    page.get_by_role("button", name="Save node pools").click()
    page.get_by_role("tab", name="Overview").click()
    expect(page.get_by_text("3/3")).to_be_visible(timeout=120_000)

    page.get_by_role("tab", name="Features").click()
    expect(page.get_by_role("cell", name="cert-manager")).to_be_visible()
    page.get_by_label("Log agent").click()
    expect(page.get_by_label("Log agent")).to_be_checked()
    page.get_by_role("button", name="Apply features").click()
    log_agent = page.locator("tr", has_text="Log agent")
    expect(log_agent.locator("[data-status]")).to_have_text("ready", timeout=120_000)
    shot(page, "cluster-features")
    namespaces = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "kubectl"), "--kubeconfig", str(path), "get", "ds", "-A"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "log-agent" in namespaces.stdout, namespaces.stderr

    page.get_by_role("button", name="Delete cluster").click()
    expect(page.get_by_role("button", name="Delete permanently")).to_be_disabled()
    page.get_by_label("Type the cluster name to confirm").fill(name)
    page.get_by_role("button", name="Delete permanently").click()
    expect(_status(page)).to_have_text("deleted", timeout=120_000)
    shot(page, "cluster-deleted")


def test_another_organisation_cannot_reach_a_cluster(page: Page, portal):
    token = mkportal_cli(portal, "tokens", "create", "--email", "member@demo.mkportal.local")
    body = {
        "name": f"private-{uuid.uuid4().hex[:6]}",
        "region": "ch-gva-2",
        "version": "1.35",
        "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
    }
    created = httpx.post(
        f"{portal['url']}/api/v1/clusters",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    mkportal_cli(
        portal,
        "users",
        "create",
        "--email",
        "mallory@rival.test",
        "--password",
        "rival-password-2",
        "--org",
        "Rival Two",
    )
    sign_in(page, portal, "mallory@rival.test", "rival-password-2")
    page.goto(f"{portal['url']}/clusters/{cluster_id}")
    expect(page.get_by_text("Cluster not found")).to_be_visible()
    page.goto(f"{portal['url']}/clusters")
    expect(page.get_by_text("No clusters yet")).to_be_visible()
    rival = mkportal_cli(portal, "tokens", "create", "--email", "mallory@rival.test")
    for method, path in (
        ("GET", f"/api/v1/clusters/{cluster_id}"),
        ("GET", f"/api/v1/clusters/{cluster_id}/kubeconfig"),
        ("PATCH", f"/api/v1/clusters/{cluster_id}"),
        ("DELETE", f"/api/v1/clusters/{cluster_id}"),
    ):
        r = httpx.request(
            method,
            f"{portal['url']}{path}",
            json={} if method == "PATCH" else None,
            headers={"Authorization": f"Bearer {rival}"},
        )
        assert r.status_code == 404, (method, path, r.status_code)


def _api_cluster(portal: dict, token: str, body: dict) -> str:
    """Create a cluster through the API and wait until it runs; return its id."""
    headers = {"Authorization": f"Bearer {token}"}
    created = httpx.post(f"{portal['url']}/api/v1/clusters", json=body, headers=headers)
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    deadline = time.monotonic() + 120
    while (
        httpx.get(f"{portal['url']}/api/v1/clusters/{cluster_id}", headers=headers).json()["status"]
        != "running"
    ):
        assert time.monotonic() < deadline, "the cluster did not start"
        time.sleep(0.5)
    return cluster_id


def test_autoscaling_service_level_and_the_operator_view(page: Page, portal):
    token = mkportal_cli(portal, "tokens", "create", "--email", "member@demo.mkportal.local")
    name = f"auto-{uuid.uuid4().hex[:6]}"
    cluster_id = _api_cluster(
        portal,
        token,
        {
            "name": name,
            "region": "ch-gva-2",
            "version": "1.35",
            "node_pools": [
                {
                    "name": "workers",
                    "machine_type": "s-4",
                    "count": 1,
                    "autoscaling": {"enabled": True, "min": 1, "max": 4},
                }
            ],
        },
    )
    sign_in(page, portal, "member@demo.mkportal.local")
    page.goto(f"{portal['url']}/clusters/{cluster_id}")
    page.get_by_role("tab", name="Node pools").click()
    expect(page.get_by_text(re.compile(r"Scaled up 1 -> \d nodes"))).to_be_visible(timeout=60_000)
    expect(page.get_by_role("cell", name="1-4", exact=True)).to_be_visible()
    shot(page, "cluster-autoscaled")
    page.get_by_role("tab", name="Features").click()
    expect(page.get_by_role("cell", name="Cluster autoscaler")).to_be_visible()

    page.get_by_role("tab", name="Overview").click()
    page.get_by_label("Service level").click()
    page.get_by_role("option", name="Premium").click()
    page.get_by_role("button", name="Change service level").click()
    expect(page.get_by_text("Service level: premium")).to_be_visible()
    expect(_status(page)).to_have_text("running", timeout=60_000)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, portal, "operator@vshn.mkportal.local")
    page.goto(f"{portal['url']}/admin/clusters")
    page.get_by_label("Service level").fill("premium")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tr", has_text=name)
    expect(row).to_be_visible()
    expect(row.get_by_role("cell", name="premium")).to_be_visible()
    expect(row.get_by_role("cell", name="Demo Org")).to_be_visible()
    shot(page, "admin-clusters")
    row.get_by_role("link", name=name).click()
    page.get_by_role("tab", name="Operations").click()
    update = page.locator("tr", has_text="Update cluster").first
    expect(update).to_contain_text("member@demo.mkportal.local")
    update.get_by_role("link", name="Update cluster").click()
    expect(page.get_by_test_id("operation-log")).to_contain_text("Requested by member@")
