"""The backup schedule, policy, freshness and config-version REST API: shapes, roles, isolation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from tests.fakes.metrics_data import sandbox_cluster


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def env(api, two_orgs) -> dict:
    cid = sandbox_cluster(two_orgs["acme_owner"].org_id)
    return {
        "cid": cid,
        "member": _auth(two_orgs["acme_member"]),
        "viewer": _auth(two_orgs["acme_viewer"]),
        "globex": _auth(two_orgs["globex_owner"]),
    }


def test_schedule_crud_policy_and_freshness(api, env):
    cid, member, viewer = env["cid"], env["member"], env["viewer"]
    url = f"/api/v1/clusters/{cid}/backup-schedules"
    body = {"name": "Nightly", "preset": "daily", "time": "02:30"}
    made = api.post(url, headers=member, json=body)
    assert made.status_code == 201, made.text
    sched = made.json()
    assert sched["cron"] == "30 2 * * *" and sched["description"] == "Daily at 02:30 (UTC)"
    listed = api.get(url, headers=viewer).json()
    assert [s["name"] for s in listed] == [
        "Daily",
        "Nightly",
    ]  # the default came with the first change
    bad = api.post(url, headers=member, json={"name": "x", "preset": "cron", "cron": "*/5 * * * *"})
    assert bad.status_code == 422 and "15 minutes" in bad.text
    assert api.post(url, headers=member, json={**body, "extra": 1}).status_code == 422
    assert api.post(url, headers=viewer, json=body).status_code == 403
    patched = api.patch(
        f"/api/v1/backup-schedules/{sched['id']}", headers=member, json={"time": "04:00"}
    )
    assert patched.status_code == 200 and patched.json()["cron"] == "0 4 * * *"
    policy_url = f"/api/v1/clusters/{cid}/backup-policy"
    assert api.get(policy_url, headers=viewer).json()["keep_last"] == 7
    put = api.put(policy_url, headers=member, json={"timezone": "Europe/Zurich", "keep_daily": 14})
    assert put.status_code == 200 and put.json()["timezone"] == "Europe/Zurich"
    zero = {"keep_last": 0, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0}
    refused = api.put(policy_url, headers=member, json=zero)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == "retention"
    fresh = api.get(f"/api/v1/clusters/{cid}/backup-freshness", headers=viewer).json()
    assert fresh["newest_good_at"] is None and fresh["allowed_seconds"] > 0
    assert api.delete(f"/api/v1/backup-schedules/{sched['id']}", headers=member).status_code == 204
    assert api.delete(f"/api/v1/backup-schedules/{sched['id']}", headers=member).status_code == 404


def test_other_organisations_get_404(api, env):
    cid, globex = env["cid"], env["globex"]
    made = api.post(
        f"/api/v1/clusters/{cid}/backup-schedules",
        headers=env["member"],
        json={"name": "n", "preset": "hourly", "minute": 7},
    ).json()
    for method, path, body in (
        ("get", f"/api/v1/clusters/{cid}/backup-schedules", None),
        ("post", f"/api/v1/clusters/{cid}/backup-schedules", {"name": "n", "preset": "hourly"}),
        ("patch", f"/api/v1/backup-schedules/{made['id']}", {"enabled": False}),
        ("delete", f"/api/v1/backup-schedules/{made['id']}", None),
        ("get", f"/api/v1/clusters/{cid}/backup-policy", None),
        ("put", f"/api/v1/clusters/{cid}/backup-policy", {"keep_last": 1}),
        ("get", f"/api/v1/clusters/{cid}/backup-freshness", None),
        ("get", f"/api/v1/clusters/{cid}/config-versions", None),
    ):
        r = api.request(method, path, headers=globex, json=body)
        assert r.status_code == 404, (method, path, r.text)


def test_config_versions_list_and_at(api, env):
    url = f"/api/v1/clusters/{env['cid']}/config-versions"
    versions = api.get(url, headers=env["viewer"]).json()
    assert [v["version"] for v in versions] == [1] and versions[0]["spec"]["name"] == "prod"
    now = api.get(url, headers=env["viewer"], params={"at": "2100-01-01T00:00:00Z"}).json()
    assert now["version"] == 1 and now["spec"]["version"] == "1.35"
    before = api.get(url, headers=env["viewer"], params={"at": "2000-01-01T00:00:00Z"})
    assert before.status_code == 404
    assert api.get(url, headers=env["viewer"], params={"at": "yesterday"}).status_code == 422
