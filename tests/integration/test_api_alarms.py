"""The alarms, notifications and metrics-collection REST API: shapes, roles, isolation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import notifications, tokens
from mkportal.services.metrics import prom
from tests.unit.test_alarms import _cluster


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


BODY = {"name": "Errors", "query": "sum(rate(http_requests_total[5m]))", "threshold": 1}


def test_alarm_crud_roles_and_isolation(api, two_orgs, monkeypatch):
    member, viewer = _auth(two_orgs["acme_member"]), _auth(two_orgs["acme_viewer"])
    globex = _auth(two_orgs["globex_owner"])
    web = _cluster(two_orgs["acme_member"].org_id, "web")
    r = api.post("/api/v1/alarms", headers=member, json={**BODY, "cluster_id": web})
    assert r.status_code == 201, r.text
    alarm = r.json()
    assert alarm["channels"] == ["in_app"] and alarm["state"] == "ok"
    assert api.post("/api/v1/alarms", headers=viewer, json=BODY).status_code == 403
    bad = api.post("/api/v1/alarms", headers=member, json={**BODY, "comparator": "=~"})
    assert bad.status_code == 422 and "comparator" in bad.text
    url = f"/api/v1/alarms/{alarm['id']}"
    assert api.get(url, headers=viewer).json()["name"] == "Errors"
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {"threshold": 2}} if method == "patch" else {}
        assert getattr(api, method)(url, headers=globex, **kwargs).status_code == 404
    assert api.get(f"{url}/history", headers=globex).status_code == 404
    assert api.get("/api/v1/alarms", headers=globex).json()["total"] == 0
    r = api.patch(url, headers=member, json={"threshold": 2, "enabled": False})
    assert r.status_code == 200 and r.json()["threshold"] == 2 and not r.json()["enabled"]
    assert api.get(f"{url}/history", headers=viewer).json()["items"] == []
    seen: list[str] = []
    monkeypatch.setattr(prom, "query", lambda q, at=None: seen.append(q) or [prom.Sample({}, 3.0)])
    r = api.post("/api/v1/alarms/preview", headers=viewer, json={"query": "up"})
    assert r.status_code == 200 and r.json()["samples"][0]["value"] == 3.0
    assert f'org="{two_orgs["acme_viewer"].org_id}"' in seen[0]
    assert api.delete(url, headers=viewer).status_code == 403
    assert api.delete(url, headers=member).status_code == 204
    assert api.get(url, headers=member).status_code == 404


def test_notifications_api_is_per_user(api, two_orgs):
    owner = two_orgs["acme_owner"]
    notifications.notify(
        [owner.user_id], org_id=owner.org_id, kind="alarm.firing", title="Fired", dedupe_key="x"
    )
    mine = api.get("/api/v1/me/notifications", headers=_auth(owner)).json()
    assert mine["unread"] == 1 and mine["items"][0]["title"] == "Fired"
    globex = _auth(two_orgs["globex_owner"])
    assert api.get("/api/v1/me/notifications", headers=globex).json()["total"] == 0
    nid = mine["items"][0]["id"]
    r = api.post("/api/v1/me/notifications/read", headers=globex, json={"ids": [nid]})
    assert r.json() == {"changed": 0, "unread": 0}
    r = api.post("/api/v1/me/notifications/read", headers=_auth(owner), json={"all": True})
    assert r.json() == {"changed": 1, "unread": 0}
    assert api.get("/api/v1/me/notifications").status_code == 401


def test_metrics_collection_api_isolation(api, two_orgs):
    web = _cluster(two_orgs["acme_owner"].org_id, "web")
    url = f"/api/v1/clusters/{web}/metrics/collection"
    globex = _auth(two_orgs["globex_owner"])
    assert api.get(url, headers=globex).status_code == 404
    assert api.put(url, headers=globex, json={}).status_code == 404
    assert api.delete(url, headers=globex).status_code == 404
    r = api.get(url, headers=_auth(two_orgs["acme_viewer"]))
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert api.put(url, headers=_auth(two_orgs["acme_viewer"]), json={}).status_code == 403
    r = api.put(url, headers=_auth(two_orgs["acme_member"]), json={"namespaces": ["shop"]})
    assert r.status_code == 409  # the cluster is not running
