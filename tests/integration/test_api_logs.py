"""The logs REST API: ingest (auth, sizes, 4xx shapes), search, tokens, settings, isolation."""

from __future__ import annotations

import gzip

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from tests.unit.test_log_ingest import batch, line, make_cluster


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def env(api, two_orgs) -> dict:
    owner = _auth(two_orgs["acme_owner"])
    a = make_cluster(two_orgs["acme_owner"].org_id, "a")
    b = make_cluster(two_orgs["acme_owner"].org_id, "b")
    r = api.post(f"/api/v1/clusters/{a}/log-tokens", headers=owner, json={"name": "agent"})
    assert r.status_code == 201, r.text
    ingest = {"Authorization": f"Bearer {r.json()['token']}"}
    return {"owner": owner, "a": a, "b": b, "ingest": ingest, "token_id": r.json()["info"]["id"]}


def test_ingest_then_search_page_histogram_context(api, env, two_orgs):
    body = gzip.compress(
        batch(*(line(i, level="error" if i % 5 == 0 else "info") for i in range(30)))
    )
    r = api.post(
        "/api/v1/ingest/logs",
        content=body,
        headers={
            **env["ingest"],
            "Content-Encoding": "gzip",
            "Content-Type": "application/x-ndjson",
        },
    )
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 30
    url = f"/api/v1/clusters/{env['a']}/logs"
    viewer = _auth(two_orgs["acme_viewer"])
    first = api.get(url, headers=viewer, params={"limit": 20}).json()
    assert len(first["items"]) == 20 and first["older"]
    second = api.get(url, headers=viewer, params={"limit": 20, "cursor": first["older"]}).json()
    assert len(second["items"]) == 10 and second["older"] is None
    hit = api.get(url, headers=viewer, params={"q": "items/7", "level": "info,error"}).json()
    assert [i["message"] for i in hit["items"]] == ["GET /api/items/7 200"]
    assert hit["items"][0]["highlights"] == [[9, 14], [15, 16]]
    errors = api.get(url, headers=viewer, params=[("level", "error")]).json()["items"]
    assert len(errors) == 6
    hostile = api.get(url, headers=viewer, params={"q": "'; DROP TABLE log_line; --"})
    assert hostile.status_code == 200 and hostile.json()["items"] == []
    items = first["items"]
    hist = api.get(
        f"{url}/histogram",
        headers=viewer,
        params={"from": items[-1]["ts"], "to": "2100-01-01T00:00:00Z", "buckets": 4},
    )
    assert hist.status_code == 200 and sum(b["count"] for b in hist.json()["buckets"]) == 20
    ctx = api.get(
        f"{url}/{items[5]['id']}/context", headers=viewer, params={"before": 2, "after": 2}
    )
    assert [i["id"] for i in ctx.json()["items"]] == [i["id"] for i in items[3:8]][::-1]
    tail = api.get(f"{url}/tail", headers=viewer, params={"limit": 3}).json()
    assert [i["id"] for i in tail["items"]] == [i["id"] for i in items[:3]][::-1]
    api.post("/api/v1/ingest/logs", content=batch(line(0, message="fresh")), headers=env["ingest"])
    more = api.get(f"{url}/tail", headers=viewer, params={"after": tail["cursor"]}).json()
    assert [i["message"] for i in more["items"]] == ["fresh"] and more["cursor"] != tail["cursor"]
    export = api.get(f"{url}/export", headers=viewer, params={"format": "jsonl"})
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert len(export.text.splitlines()) == 31
    text = api.get(f"{url}/export", headers=viewer, params={"format": "text", "q": "items/7"})
    assert text.text.endswith("GET /api/items/7 200\n") and len(text.text.splitlines()) == 1
    other = _auth(two_orgs["globex_owner"])
    assert api.get(f"{url}/export", headers=other).status_code == 404


def test_ingest_error_shapes(api, env):
    post = api.post
    r = post("/api/v1/ingest/logs", content=batch(line()))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = post(
        "/api/v1/ingest/logs", content=batch(line()), headers={"Authorization": "Bearer mkl_x"}
    )
    assert r.status_code == 401
    r = post("/api/v1/ingest/logs", content=b'{"ts": 1}\nnope\n', headers=env["ingest"])
    assert r.status_code == 422
    assert {e["loc"] for e in r.json()["errors"]} == {"line 1", "line 2"}
    r = post(
        "/api/v1/ingest/logs",
        content=batch(line(1), line(2, cluster_id=env["b"])),
        headers=env["ingest"],
    )
    assert r.status_code == 403 and "line 2" in r.json()["detail"]
    r = post("/api/v1/ingest/logs", content=b"x" * 1_100_000, headers=env["ingest"])
    assert r.status_code == 413
    r = post(
        "/api/v1/ingest/logs",
        content=batch(line()),
        headers={**env["ingest"], "Content-Encoding": "br"},
    )
    assert r.status_code == 415
    r = api.delete(
        f"/api/v1/clusters/{env['a']}/log-tokens/{env['token_id']}", headers=env["owner"]
    )
    assert r.status_code == 204
    r = post("/api/v1/ingest/logs", content=batch(line()), headers=env["ingest"])
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    listed = api.get(f"/api/v1/clusters/{env['a']}/log-tokens", headers=env["owner"]).json()
    assert listed[0]["revoked_at"] and "token_hash" not in listed[0]
    logs = api.get(f"/api/v1/clusters/{env['a']}/logs", headers=env["owner"]).json()
    assert logs["items"] == []


def test_isolation_between_orgs_and_control_plane(api, env, two_orgs):
    cp = line(0, stream="control-plane", component="audit", namespace="", pod="", container="")
    assert (
        api.post(
            "/api/v1/ingest/logs", content=batch(line(1), cp), headers=env["ingest"]
        ).status_code
        == 202
    )  # noqa: E501
    globex = _auth(two_orgs["globex_owner"])
    base = f"/api/v1/clusters/{env['a']}"
    for path in ("/logs", "/logs/histogram?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
                 "/log-tokens", "/logs/1/context"):  # fmt: skip
        r = api.get(base + path, headers=globex)
        assert r.status_code == 404, path
    assert api.post(f"{base}/log-tokens", headers=globex, json={}).status_code == 404
    r = api.get(f"{base}/logs", headers=env["owner"], params={"stream": "control-plane"})
    assert r.status_code == 403
    ops = _auth(two_orgs["operator"])
    r = api.get(f"{base}/logs", headers=ops, params={"stream": "control-plane"})
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    r = api.get(f"{base}/logs", headers=env["owner"], params={"limit": 5000, "level": "loud"})
    assert r.status_code == 422 and {e["loc"] for e in r.json()["errors"]} == {"limit", "level"}


def test_settings_endpoints(api, env, two_orgs):
    owner = env["owner"]
    r = api.get("/api/v1/logs/settings", headers=owner)
    assert r.status_code == 200 and r.json()["app_retention_days"] == 7
    r = api.put("/api/v1/logs/settings", headers=owner, json={"app_retention_days": 30})
    assert r.status_code == 200 and r.json()["app_retention_days"] == 30
    r = api.put("/api/v1/logs/settings", headers=owner, json={"app_retention_days": 91})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "body.app_retention_days"
    r = api.put(
        "/api/v1/logs/settings", headers=owner, json={"operator_grants_control_plane": True}
    )
    assert r.status_code == 403
    member = _auth(two_orgs["acme_member"])
    assert (
        api.put("/api/v1/logs/settings", headers=member, json={"app_retention_days": 3}).status_code
        == 403
    )  # noqa: E501
    admin_url = f"/api/v1/admin/clusters/{env['a']}/log-settings"
    r = api.put(admin_url, headers=owner, json={"control_plane_retention_days": 30})
    assert r.status_code == 404
    ops = _auth(two_orgs["operator"])
    r = api.put(admin_url, headers=ops, json={"control_plane_retention_days": 30})
    assert r.status_code == 200 and r.json()["control_plane_retention_days"] == 30
    org = two_orgs["acme_owner"].org_id
    r = api.put(
        "/api/v1/logs/settings",
        headers=ops,
        json={"org_id": org, "operator_grants_control_plane": True, "quota_bytes": 2**30},
    )
    assert r.status_code == 200 and r.json()["operator_grants_control_plane"] is True
    r = api.get(
        f"/api/v1/clusters/{env['a']}/logs", headers=owner, params={"stream": "control-plane"}
    )
    assert r.status_code == 200
    globex = _auth(two_orgs["globex_owner"])
    assert (
        api.get("/api/v1/logs/settings", headers=globex, params={"org_id": org}).status_code == 404
    )
