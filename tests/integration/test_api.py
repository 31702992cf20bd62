"""The REST API contract: auth, errors, isolation, idempotency, sizes (DESIGN.md section 5)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from mkportal.worker.engine import execute
from tests.conftest import PASSWORD


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


def test_me_requires_a_valid_token(api, two_orgs):
    assert api.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", headers={"Authorization": "Bearer garbage"}).status_code == 401
    assert api.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    r = api.get("/api/v1/me", headers=_auth(two_orgs["acme_owner"]))
    assert r.status_code == 200
    body = r.json()
    assert body["email"] == "owner@acme.test" and body["role"] == "owner"
    assert [o["name"] for o in body["orgs"]] == ["Acme"]


def test_revoked_and_expired_tokens_are_401(api, two_orgs):
    plain, info = tokens.create_token(two_orgs["acme_owner"], "short")
    headers = {"Authorization": f"Bearer {plain}"}
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    assert api.delete(f"/api/v1/tokens/{info.id}", headers=headers).status_code == 204
    r = api.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "revoked" in r.json()["detail"]


def test_login_rate_limit_gives_429(api, two_orgs):
    for _ in range(5):
        r = api.post("/api/v1/auth/login", json={"email": "owner@acme.test", "password": "wrong"})
        assert r.status_code == 401 and r.json()["detail"] == "Invalid email or password."
    r = api.post("/api/v1/auth/login", json={"email": "owner@acme.test", "password": PASSWORD})
    assert r.status_code == 429 and "Try again" in r.json()["detail"]


def test_login_messages_do_not_enumerate_users(api, two_orgs):
    unknown = api.post("/api/v1/auth/login", json={"email": "nobody@acme.test", "password": "x"})
    wrong = api.post("/api/v1/auth/login", json={"email": "member@acme.test", "password": "x"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


def test_session_token_from_login_works_as_bearer(api, two_orgs):
    r = api.post("/api/v1/auth/login", json={"email": "member@acme.test", "password": PASSWORD})
    token = r.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=headers).json()["role"] == "member"
    assert api.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert api.get("/api/v1/me", headers=headers).status_code == 401


def test_validation_errors_have_field_paths(api, two_orgs):
    headers = _auth(two_orgs["acme_owner"])
    r = api.post("/api/v1/tokens", headers=headers, json={"name": 5, "expires_days": 0})
    assert r.status_code == 422
    locs = {e["loc"] for e in r.json()["errors"]}
    assert {"body.name", "body.expires_days"} <= locs
    r = api.post(
        "/api/v1/operations",
        headers={**headers, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 422 and r.json()["errors"]
    r = api.post(
        "/api/v1/operations", headers=headers, json={"kind": "noop", "params": {"steps": 0}}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "params.steps"
    r = api.post("/api/v1/orgs/x/invitations", headers=headers, json={"email": "a@b.c", "bogus": 1})
    assert r.status_code == 422


def test_oversized_body_is_413(api, two_orgs):
    headers = _auth(two_orgs["acme_owner"])
    big = {"kind": "noop", "params": {"pad": "x" * 2_000_000}}
    assert api.post("/api/v1/operations", headers=headers, json=big).status_code == 413


def test_unknown_endpoint_is_json_404(api, two_orgs):
    r = api.get("/api/v1/nope", headers=_auth(two_orgs["acme_owner"]))
    assert r.status_code == 404 and "detail" in r.json()


def test_operations_idempotency_and_isolation(api, two_orgs):
    acme = _auth(two_orgs["acme_member"])
    globex = _auth(two_orgs["globex_owner"])
    body = {"kind": "noop", "params": {"steps": 1}}
    a = api.post("/api/v1/operations", headers={**acme, "Idempotency-Key": "abc"}, json=body)
    b = api.post("/api/v1/operations", headers={**acme, "Idempotency-Key": "abc"}, json=body)
    assert a.status_code == b.status_code == 202
    assert a.json()["operation"]["id"] == b.json()["operation"]["id"]
    assert b.headers["idempotent-replayed"] == "true"
    op_id = a.json()["operation"]["id"]
    execute(op_id, "test-worker")
    assert api.get(f"/api/v1/operations/{op_id}", headers=acme).json()["status"] == "succeeded"
    for path in (f"/api/v1/operations/{op_id}", f"/api/v1/operations/{op_id}/logs"):
        assert api.get(path, headers=globex).status_code == 404
    assert api.post(f"/api/v1/operations/{op_id}/cancel", headers=globex).status_code == 404
    assert api.get("/api/v1/operations", headers=globex).json()["total"] == 0
    listed = api.get("/api/v1/operations?per_page=1", headers=acme).json()
    assert listed["total"] == 1 and listed["pages"] == 1


def test_conflicting_operation_on_a_cluster_is_409(api, two_orgs):
    acme = _auth(two_orgs["acme_member"])
    body = {"kind": "noop", "cluster_id": "c-1", "params": {"steps": 1}}
    first = api.post("/api/v1/operations", headers=acme, json=body).json()["operation"]
    r = api.post("/api/v1/operations", headers=acme, json=body)
    assert r.status_code == 409 and first["id"] in r.json()["detail"]


def test_viewer_cannot_request_operations(api, two_orgs):
    r = api.post(
        "/api/v1/operations", headers=_auth(two_orgs["acme_viewer"]), json={"kind": "noop"}
    )
    assert r.status_code == 403


def test_org_endpoints_isolation(api, two_orgs):
    acme_owner = two_orgs["acme_owner"]
    globex = _auth(two_orgs["globex_owner"])
    acme = _auth(acme_owner)
    org_id = acme_owner.org_id
    assert api.get(f"/api/v1/orgs/{org_id}", headers=acme).status_code == 200
    for path in (
        f"/api/v1/orgs/{org_id}",
        f"/api/v1/orgs/{org_id}/members",
        f"/api/v1/orgs/{org_id}/invitations",
    ):
        assert api.get(path, headers=globex).status_code == 404, path
    r = api.post(f"/api/v1/orgs/{org_id}/invitations", headers=globex, json={"email": "x@y.zz"})
    assert r.status_code == 404
    member_id = two_orgs["acme_member"].user_id
    r = api.patch(
        f"/api/v1/orgs/{org_id}/members/{member_id}", headers=globex, json={"role": "owner"}
    )
    assert r.status_code == 404


def test_members_roles_and_last_owner(api, two_orgs):
    owner = two_orgs["acme_owner"]
    acme = _auth(owner)
    member_headers = _auth(two_orgs["acme_member"])
    org_id = owner.org_id
    viewer_id = two_orgs["acme_viewer"].user_id
    r = api.patch(
        f"/api/v1/orgs/{org_id}/members/{viewer_id}", headers=member_headers, json={"role": "owner"}
    )
    assert r.status_code == 403
    r = api.patch(f"/api/v1/orgs/{org_id}/members/{viewer_id}", headers=acme, json={"role": "boss"})
    assert r.status_code == 422
    r = api.patch(
        f"/api/v1/orgs/{org_id}/members/{owner.user_id}", headers=acme, json={"role": "member"}
    )
    assert r.status_code == 409
    r = api.patch(
        f"/api/v1/orgs/{org_id}/members/{viewer_id}", headers=acme, json={"role": "member"}
    )
    assert r.status_code == 200 and r.json()["role"] == "member"


def test_admin_endpoints_are_404_for_customers(api, two_orgs):
    acme = _auth(two_orgs["acme_owner"])
    ops = _auth(two_orgs["operator"])
    assert api.get("/api/v1/admin/audit", headers=acme).status_code == 404
    r = api.get("/api/v1/admin/audit?action=token.created", headers=ops)
    assert r.status_code == 200
    assert r.json()["total"] >= 2
    assert all(e["action"] == "token.created" for e in r.json()["items"])
    for path in ("/api/v1/admin/overview", "/api/v1/admin/outbox", "/api/v1/admin/providers"):
        assert api.get(path, headers=acme).status_code == 404
        assert api.get(path, headers=ops).status_code == 200
    assert api.get("/api/v1/admin/overview", headers=ops).json()["organizations"] == 2


def test_healthz_metrics_and_openapi(api, two_orgs):
    assert api.get("/healthz").json()["status"] == "ok"
    api.get("/api/v1/me")
    text = api.get("/metrics").text
    assert "mkportal_http_requests_total" in text and "mkportal_operations" in text
    assert "mkportal_queue_depth" in text
    spec = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/operations" in spec["paths"] and "/api/v1/me" in spec["paths"]
