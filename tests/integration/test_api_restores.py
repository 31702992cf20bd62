"""The restores and restore-drills REST API on a sandbox cluster."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from mkportal.services.clusters import actions
from tests.integration.test_backup_roundtrip import STATE, _back_up, _kubeconfig
from tests.integration.test_sandbox_k8s import kubectl, portal_url  # noqa: F401
from tests.unit.test_clusters import _req, _run


@pytest.fixture
def setup(portal_url, two_orgs, tmp_path) -> dict:  # noqa: F811
    """An Acme cluster with objects and one backup, a Globex cluster, and an API client."""
    member = two_orgs["acme_member"]
    mine, op, _ = actions.create_cluster(member, _req(name="shop"))
    assert _run(op.id) == "succeeded"
    kubectl(_kubeconfig(member, mine.id, tmp_path), "apply", "-f", "-", stdin=STATE)
    theirs, op, _ = actions.create_cluster(two_orgs["globex_owner"], _req(name="theirs"))
    assert _run(op.id) == "succeeded"
    return {
        "api": TestClient(create_api(), raise_server_exceptions=False),
        "mine": mine.id,
        "theirs": theirs.id,
        "backup": _back_up(member, mine.id),
        "h": {k: _h(a) for k, a in two_orgs.items()},
    }


def _h(actor) -> dict:
    return {"Authorization": f"Bearer {tokens.create_token(actor, 't')[0]}"}


def test_plan_start_read_and_list_restores(setup):
    api, h, backup = setup["api"], setup["h"], setup["backup"]
    plan = api.post(
        f"/api/v1/backups/{backup}/restore-plan",
        json={"mode": "merge", "namespaces": ["shop"]},
        headers=h["acme_viewer"],
    )
    assert plan.status_code == 200, plan.text
    assert plan.json()["counts"]["unchanged"] > 0 and plan.json()["counts"]["create"] == 0
    url = f"/api/v1/backups/{backup}/restores"
    body = {"mode": "merge", "namespaces": ["shop"]}
    assert api.post(url, json=body, headers=h["acme_viewer"]).status_code == 403
    key = {"Idempotency-Key": "restore-1"}
    started = api.post(url, json=body, headers={**h["acme_member"], **key})
    assert started.status_code == 202, started.text
    restore, op = started.json()["restore"], started.json()["operation"]
    assert op["kind"] == "backup.restore" and restore["status"] == "pending"
    again = api.post(url, json=body, headers={**h["acme_member"], **key})
    assert again.json()["restore"]["id"] == restore["id"]
    busy = api.post(url, json=body, headers=h["acme_member"])
    assert busy.status_code == 409 and "in progress" in busy.json()["detail"]
    assert _run(op["id"]) == "succeeded"
    got = api.get(f"/api/v1/restores/{restore['id']}", headers=h["acme_viewer"]).json()
    assert got["status"] == "succeeded" and got["result"]["applied"]["created"] == 0
    listed = api.get(f"/api/v1/clusters/{setup['mine']}/restores", headers=h["acme_viewer"])
    assert [r["id"] for r in listed.json()["items"]] == [restore["id"]]


def test_bad_input_is_422(setup):
    api, h, backup = setup["api"], setup["h"], setup["backup"]
    url = f"/api/v1/backups/{backup}/restore-plan"
    for body, field in (
        ({"mode": "overwrite"}, "mode"),
        ({"mode": "clone"}, "clone_name"),
        ({"mode": "clone", "clone_name": "Bad Name"}, "clone_name"),
        ({"namespaces": ["Not_A_Namespace"]}, "namespaces.0"),
        ({"kinds": ["Deploy ment"]}, "kinds.0"),
    ):
        res = api.post(url, json=body, headers=h["acme_member"])
        assert res.status_code == 422, (body, res.text)
        assert field in res.text


def test_other_organisations_are_404(setup):
    api, h, backup = setup["api"], setup["h"], setup["backup"]
    for path in (
        f"/api/v1/backups/{backup}/restore-plan",
        f"/api/v1/backups/{backup}/restores",
    ):
        assert api.post(path, json={}, headers=h["globex_owner"]).status_code == 404
        into_theirs = {"target_cluster_id": setup["theirs"]}
        assert api.post(path, json=into_theirs, headers=h["acme_owner"]).status_code == 404
        assert api.post(path, json=into_theirs, headers=h["operator"]).status_code == 404
    for path in (
        f"/api/v1/clusters/{setup['mine']}/restores",
        f"/api/v1/clusters/{setup['mine']}/backup-drills",
    ):
        assert api.get(path, headers=h["globex_owner"]).status_code == 404
    drill = f"/api/v1/clusters/{setup['mine']}/backup-drills"
    assert api.post(drill, headers=h["globex_owner"]).status_code == 404
    assert api.post(drill, headers=h["acme_viewer"]).status_code == 403
    started = api.post(drill, headers=h["acme_member"])
    assert started.status_code == 202 and started.json()["status"] == "running"
    assert api.post(drill, headers=h["acme_member"]).status_code == 409
    listed = api.get(drill, headers=h["acme_viewer"]).json()["items"]
    assert [d["id"] for d in listed] == [started.json()["id"]]
