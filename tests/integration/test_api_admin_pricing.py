"""REST API of service levels and price models: operators only (404 for customers), 422
shapes with field paths, money as strings, and the price list for every signed-in user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from mkportal.services.billing import prices

LEVELS = "/api/v1/admin/service-levels"
PRICES = "/api/v1/admin/prices"


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


def _tomorrow() -> str:
    day = datetime.now(UTC).date() + timedelta(days=1)
    return day.isoformat()


def _version_body(**over) -> dict:
    body = {
        "effective_from": _tomorrow(),
        "components": prices.version_at(datetime.now(UTC)).components.as_json(),
        "note": "New year",
    }
    body.update(over)
    return body


GOLD = {
    "slug": "gold",
    "name": "Gold",
    "availability_target": 99.95,
    "maintenance_mode": "attended",
    "monitoring_during_maintenance": True,
    "support_hours": "24x7",
    "credit_policy": [{"missed_by_up_to": 0.5, "credit_percent": 10}],
    "description": "Top",
}


def test_customers_get_404_on_every_admin_path(api, two_orgs):
    calls = [
        ("get", LEVELS, None),
        ("post", LEVELS, GOLD),
        ("post", LEVELS, {"bogus": 1}),
        ("get", f"{LEVELS}/standard", None),
        ("patch", f"{LEVELS}/standard", {"name": "Cheap"}),
        ("patch", f"{LEVELS}/standard", {"name": 12, "x": 1}),
        ("delete", f"{LEVELS}/zero", None),
        ("post", f"{LEVELS}/standard/retire", None),
        ("post", f"{LEVELS}/standard/unretire", None),
        ("get", PRICES, None),
        ("post", PRICES, _version_body()),
        ("post", PRICES, {"garbage": True}),
        ("delete", f"{PRICES}/seedpricemodel000000000000000001", None),
    ]
    for who in ("acme_owner", "acme_viewer", "globex_owner"):
        headers = _auth(two_orgs[who])
        for method, path, body in calls:
            kwargs = {"json": body} if body is not None else {}
            r = api.request(method.upper(), path, headers=headers, **kwargs)
            assert r.status_code == 404, (who, method, path, r.text)
            assert r.json() == {"detail": "Not found."}
    for method, path, body in calls:
        kwargs = {"json": body} if body is not None else {}
        assert api.request(method.upper(), path, **kwargs).status_code == 401
    op = _auth(two_orgs["operator"])
    assert [lv["slug"] for lv in api.get(LEVELS, headers=op).json()] == [
        "zero",
        "standard",
        "professional",
        "premium",
    ]
    assert [v["version"] for v in api.get(PRICES, headers=op).json()["items"]] == [1]


def test_operator_manages_service_levels(api, two_orgs):
    op = _auth(two_orgs["operator"])
    r = api.post(LEVELS, headers=op, json=GOLD)
    assert r.status_code == 201, r.text
    assert r.json()["slug"] == "gold" and r.json()["clusters"] == 0
    assert api.post(LEVELS, headers=op, json=GOLD).status_code == 409
    r = api.patch(f"{LEVELS}/gold", headers=op, json={"support_hours": "always"})
    assert r.status_code == 200 and r.json()["support_hours"] == "always"
    assert r.json()["name"] == "Gold"
    r = api.post(f"{LEVELS}/gold/retire", headers=op)
    assert r.status_code == 200 and r.json()["retired"] is True
    catalog = api.get("/api/v1/catalog", headers=_auth(two_orgs["acme_owner"])).json()
    assert "gold" not in [lv["slug"] for lv in catalog["service_levels"]]
    r = api.post(f"{LEVELS}/gold/unretire", headers=op)
    assert r.status_code == 200 and r.json()["retired"] is False
    assert api.get(f"{LEVELS}/gold", headers=op).json()["retired_at"] is None
    assert api.delete(f"{LEVELS}/gold", headers=op).status_code == 204
    assert api.get(f"{LEVELS}/gold", headers=op).status_code == 404
    assert api.delete(f"{LEVELS}/gold", headers=op).status_code == 404


def test_level_in_use_is_409_with_advice(api, two_orgs):
    owner = _auth(two_orgs["acme_owner"])
    r = api.post(
        "/api/v1/clusters",
        headers=owner,
        json={
            "name": "web",
            "region": "ch-gva-2",
            "version": "1.35",
            "service_level": "premium",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
        },
    )
    assert r.status_code == 202, r.text
    op = _auth(two_orgs["operator"])
    r = api.delete(f"{LEVELS}/premium", headers=op)
    assert r.status_code == 409
    assert "used by 1 cluster" in r.json()["detail"] and "retire it" in r.json()["detail"]
    premium = next(lv for lv in api.get(LEVELS, headers=op).json() if lv["slug"] == "premium")
    assert premium["clusters"] == 1


def test_service_level_422_shapes(api, two_orgs):
    op = _auth(two_orgs["operator"])
    bad = {
        **GOLD,
        "slug": "Gold!",
        "availability_target": 100,
        "credit_policy": [
            {"missed_by_up_to": 2, "credit_percent": 50},
            {"missed_by_up_to": 1, "credit_percent": 10},
        ],
    }
    r = api.post(LEVELS, headers=op, json=bad)
    assert r.status_code == 422
    locs = {e["loc"]: e["msg"] for e in r.json()["errors"]}
    assert {
        "slug",
        "availability_target",
        "credit_policy.1.missed_by_up_to",
        "credit_policy.1.credit_percent",
    } <= set(locs)
    r = api.post(LEVELS, headers=op, json={**GOLD, "surprise": 1})
    assert r.status_code == 422
    assert "body.surprise" in [e["loc"] for e in r.json()["errors"]]
    r = api.patch(f"{LEVELS}/standard", headers=op, json={"maintenance_mode": "never"})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"loc": "maintenance_mode", "msg": "Choose unattended or attended."}
    ]


def test_operator_schedules_and_deletes_a_price_version(api, two_orgs):
    op = _auth(two_orgs["operator"])
    body = _version_body()
    body["components"]["node_hour"]["sandbox/s-2"] = "0.055"
    r = api.post(PRICES, headers=op, json=body)
    assert r.status_code == 201, r.text
    v = r.json()
    assert (v["version"], v["status"], v["currency"], v["created_by"]) == (
        2,
        "scheduled",
        "CHF",
        "ops@vshn.test",
    )
    assert v["effective_from"] == f"{_tomorrow()}T00:00:00+00:00"
    assert v["components"]["node_hour"]["sandbox/s-2"] == "0.055"
    assert isinstance(v["components"]["vcpu_hour"], str)
    listed = api.get(PRICES, headers=op).json()["items"]
    assert [(x["version"], x["status"]) for x in listed] == [(2, "scheduled"), (1, "in force")]
    assert listed[1]["effective_until"] == v["effective_from"]
    r = api.post(PRICES, headers=op, json=_version_body())
    assert r.status_code == 422
    assert "Overlaps version 2" in r.json()["errors"][0]["msg"]
    seed = listed[1]["id"]
    r = api.delete(f"{PRICES}/{seed}", headers=op)
    assert r.status_code == 409 and "never retroactive" in r.json()["detail"]
    assert api.delete(f"{PRICES}/{v['id']}", headers=op).status_code == 204
    assert api.delete(f"{PRICES}/{v['id']}", headers=op).status_code == 404
    assert [x["version"] for x in api.get(PRICES, headers=op).json()["items"]] == [1]


def test_price_version_422_shapes(api, two_orgs):
    op = _auth(two_orgs["operator"])
    body = _version_body(effective_from="2020-01-01")
    body["components"]["node_hour"]["sandbox/x-1"] = "0.1"
    body["components"]["node_hour"]["sandbox/s-2"] = "0"
    r = api.post(PRICES, headers=op, json=body)
    assert r.status_code == 422
    locs = {e["loc"]: e["msg"] for e in r.json()["errors"]}
    assert "never retroactively" in locs["effective_from"]
    assert "Unknown machine type" in locs["components.node_hour.sandbox/x-1"]
    assert "more than 0" in locs["components.node_hour.sandbox/s-2"]
    r = api.post(PRICES, headers=op, json=_version_body(currency="eur"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == "body.currency"
    assert "ISO 4217" in r.json()["errors"][0]["msg"]
    bad = _version_body()
    bad["components"]["vcpu_hour"] = "-1"
    r = api.post(PRICES, headers=op, json=bad)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == "body.components.vcpu_hour"
    assert api.post(PRICES, headers=op, json={"effective_from": "soon"}).status_code == 422
    assert [x["version"] for x in api.get(PRICES, headers=op).json()["items"]] == [1]


def test_price_list_for_every_signed_in_user(api, two_orgs):
    assert api.get("/api/v1/prices").status_code == 401
    op = _auth(two_orgs["operator"])
    assert api.post(PRICES, headers=op, json=_version_body()).status_code == 201
    for who in ("acme_viewer", "globex_owner", "operator"):
        r = api.get("/api/v1/prices", headers=_auth(two_orgs[who]))
        assert r.status_code == 200
        body = r.json()
        assert body["currency"] == "CHF"
        assert body["current"]["version"] == 1 and body["next"]["version"] == 2
        node = next(i for i in body["current"]["items"] if i["key"] == "sandbox/s-2")
        assert node == {
            "group": "node",
            "key": "sandbox/s-2",
            "label": "Sandbox (simulated cloud): s-2 (2 vCPU, 4 GiB)",
            "unit": "node-hour",
            "price": "0.045",
        }
