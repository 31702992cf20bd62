"""The billing API: shapes (money as strings), isolation, operator-only endpoints."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.models.base import utcnow
from mkportal.services import tokens
from mkportal.services.billing import invoices
from mkportal.services.billing.metering import meter
from mkportal.services.billing.money import parse_period, previous_period
from mkportal.worker.engine import execute
from tests.unit.test_metering import make_cluster

H = timedelta(hours=1)
LAST = previous_period(utcnow())


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def billed(two_orgs) -> dict:
    start, end = parse_period(LAST)
    make_cluster(two_orgs["acme_owner"].org_id, "web", created=start - H)
    make_cluster(two_orgs["globex_owner"].org_id, "shop", created=start - H)
    meter(end, start=start)
    invoices.run_billing(LAST)
    return {key: _auth(actor) for key, actor in two_orgs.items()} | {"actors": two_orgs}


def test_invoices_and_their_shapes(api, billed):
    r = api.get("/api/v1/billing/invoices", headers=billed["acme_owner"])
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1 and body["pages"] == 1
    (inv,) = body["items"]
    assert inv["org_name"] == "Acme" and inv["number"] == f"MKP-{LAST}-0001"
    assert inv["status"] == "sent" and inv["currency"] == "CHF"
    for key in ("subtotal", "credit_total", "total"):
        assert isinstance(inv[key], str)
    assert Decimal(inv["total"]) == Decimal(inv["subtotal"]) - Decimal(inv["credit_total"]) > 0
    r = api.get(f"/api/v1/billing/invoices/{inv['id']}", headers=billed["acme_viewer"])
    assert r.status_code == 200
    detail = r.json()
    assert detail["invoice"]["id"] == inv["id"] and detail["credits"] == []
    line = detail["lines"][0]
    assert set(line) == {
        "cluster_name",
        "component",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "amount",
        "price_version",
    }
    assert isinstance(line["amount"], str) and isinstance(line["price_version"], int)
    assert sum(Decimal(x["amount"]) for x in detail["lines"]) == Decimal(inv["subtotal"])
    bad = api.get("/api/v1/billing/invoices?status=bogus", headers=billed["acme_owner"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "status"


def test_customers_cannot_read_another_organisations_billing(api, billed):
    acme_id = api.get("/api/v1/billing/invoices", headers=billed["acme_owner"]).json()["items"][0][
        "id"
    ]
    r = api.get(f"/api/v1/billing/invoices/{acme_id}", headers=billed["globex_owner"])
    assert r.status_code == 404
    globex = api.get("/api/v1/billing/invoices?all_orgs=true", headers=billed["globex_owner"])
    assert [i["org_name"] for i in globex.json()["items"]] == ["Globex"]
    usage = api.get(f"/api/v1/billing/usage?period={LAST}", headers=billed["globex_owner"])
    assert usage.status_code == 200
    assert {row["cluster_name"] for row in usage.json()["items"]} == {"shop"}
    assert api.get("/api/v1/billing/invoices").status_code == 401
    assert api.get("/api/v1/billing/estimate").status_code == 401


def test_usage_months_and_estimate(api, billed):
    r = api.get(f"/api/v1/billing/usage?period={LAST}", headers=billed["acme_owner"])
    body = r.json()
    assert body["period"] == LAST
    row = next(x for x in body["items"] if x["component"] == "node")
    assert row["cluster_name"] == "web" and row["unit"] == "node-hour"
    assert isinstance(row["quantity"], str) and isinstance(row["amount"], str)
    r = api.get("/api/v1/billing/usage?period=11-2026", headers=billed["acme_owner"])
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "period"
    est = api.get("/api/v1/billing/estimate", headers=billed["acme_owner"]).json()
    assert set(est) == {"period", "currency", "to_date", "projected", "lines"}
    assert isinstance(est["projected"], str)
    months = api.get("/api/v1/billing/months", headers=billed["acme_owner"]).json()
    assert any(m["period"] == LAST and m["status"] == "sent" for m in months)
    assert months[-1]["status"] == "running"


ADMIN_CALLS = [
    ("get", "/api/v1/admin/billing/revenue", None),
    ("get", f"/api/v1/admin/billing/revenue/orgs?period={LAST}", None),
    ("get", "/api/v1/admin/billing/credits", None),
    ("post", "/api/v1/admin/billing/run", {"period": LAST}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_admin_endpoints_are_404_for_customers(api, billed, method, path, body):
    for who in ("acme_owner", "globex_owner", "acme_viewer"):
        r = api.request(method, path, headers=billed[who], json=body)
        assert r.status_code == 404, (who, r.text)
    r = api.request(method, path, headers=billed["operator"], json=body)
    assert r.status_code in (200, 202), r.text


def test_operator_credits_settlement_and_run(api, billed):
    ops, actors = billed["operator"], billed["actors"]
    acme, globex = actors["acme_owner"].org_id, actors["globex_owner"].org_id
    credit = {"org_id": acme, "period": LAST, "amount": "12.50", "reason": "outage"}
    # The month's invoice is issued already: credits go to a later month.
    assert api.post("/api/v1/admin/billing/credits", headers=ops, json=credit).status_code == 409
    current = utcnow().strftime("%Y-%m")
    r = api.post("/api/v1/admin/billing/credits", headers=ops, json=credit | {"period": current})
    assert r.status_code == 201 and r.json()["amount"] == "12.50"
    r = api.post("/api/v1/admin/billing/credits", headers=ops, json=credit | {"amount": 12.5})
    assert r.status_code == 422
    r = api.post(
        "/api/v1/admin/billing/credits",
        headers=ops,
        json=credit | {"amount": "-1", "reason": ""},
    )
    assert r.status_code == 422
    assert {e["loc"] for e in r.json()["errors"]} == {"amount", "reason"}
    listed = api.get("/api/v1/admin/billing/credits", headers=ops).json()
    assert listed["total"] == 1 and listed["items"][0]["org_name"] == "Acme"

    items = api.get("/api/v1/billing/invoices?all_orgs=true", headers=ops).json()["items"]
    by_org = {i["org_id"]: i["id"] for i in items}
    customer = api.post(
        f"/api/v1/admin/billing/invoices/{by_org[acme]}/mark-paid", headers=billed["acme_owner"]
    )
    assert customer.status_code == 404
    paid = api.post(f"/api/v1/admin/billing/invoices/{by_org[acme]}/mark-paid", headers=ops)
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    r = api.post(
        f"/api/v1/admin/billing/invoices/{by_org[acme]}/void", headers=ops, json={"reason": "x y z"}
    )
    assert r.status_code == 409
    r = api.post(f"/api/v1/admin/billing/invoices/{by_org[globex]}/void", headers=ops, json={})
    assert r.status_code == 422
    r = api.post(
        f"/api/v1/admin/billing/invoices/{by_org[globex]}/void",
        headers=ops,
        json={"reason": "duplicate"},
    )
    assert r.status_code == 200 and r.json()["status"] == "void"

    revenue = api.get("/api/v1/admin/billing/revenue?months=2", headers=ops).json()
    assert len(revenue) == 2
    last = next(x for x in revenue if x["period"] == LAST)
    assert last["paid"] == last["invoiced"] and isinstance(last["paid"], str)
    orgs = api.get(f"/api/v1/admin/billing/revenue/orgs?period={LAST}", headers=ops).json()
    assert [o["org_name"] for o in orgs["items"]] == ["Acme"]  # the void one does not count

    r = api.post("/api/v1/admin/billing/run", headers=ops, json={"period": current})
    assert r.status_code == 422 and "not over" in r.json()["errors"][0]["msg"]
    r = api.post("/api/v1/admin/billing/run", headers=ops, json={"period": "2026-1"})
    assert r.status_code == 422
    r = api.post(
        "/api/v1/admin/billing/run",
        headers=ops | {"Idempotency-Key": "rerun-1"},
        json={"period": LAST},
    )
    assert r.status_code == 202
    op = r.json()["operation"]
    assert op["kind"] == "billing.run" and op["params"] == {"period": LAST}
    same = api.post(
        "/api/v1/admin/billing/run",
        headers=ops | {"Idempotency-Key": "rerun-1"},
        json={"period": LAST},
    )
    assert same.json()["operation"]["id"] == op["id"]
    assert execute(op["id"], "test") == "succeeded"
    done = api.get(f"/api/v1/operations/{op['id']}", headers=ops).json()
    assert done["result"]["unchanged"] == 2
