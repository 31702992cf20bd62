"""Dashboards and explorer REST API: CRUD, roles, 404 across organisations, confinement."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from mkportal.services.metrics import prom
from tests.unit.test_log_ingest import make_cluster

PANEL = {"title": "CPU", "query": "avg(node_cpu_utilisation_ratio)", "chart": "area"}


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    queries: list[str] = []

    def fake_query(promql, at=None):
        queries.append(promql)
        return [prom.Sample({"cluster": "c"}, 2.0)]

    def fake_range(promql, start, end, step):
        queries.append(promql)
        return [prom.Series({"cluster": "c"}, [(end.timestamp(), 2.0)])]

    monkeypatch.setattr(prom, "query", fake_query)
    monkeypatch.setattr(prom, "query_range", fake_range)
    return queries


def test_dashboard_api_flow(api, two_orgs, sent):
    member, viewer = _auth(two_orgs["acme_member"]), _auth(two_orgs["acme_viewer"])
    r = api.post("/api/v1/dashboards", headers=member, json={"name": "Ops", "panels": [PANEL]})
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    assert api.post("/api/v1/dashboards", headers=viewer, json={"name": "x"}).status_code == 403
    r = api.post(
        f"/api/v1/dashboards/{did}/panels",
        headers=member,
        json={**PANEL, "title": "Two", "chart": "stat"},
    )
    assert r.status_code == 201 and [p["title"] for p in r.json()["panels"]] == ["CPU", "Two"]
    r = api.post(
        f"/api/v1/dashboards/{did}/panels/1/move", headers=member, json={"direction": "up"}
    )
    assert [p["title"] for p in r.json()["panels"]] == ["Two", "CPU"]
    r = api.put(
        f"/api/v1/dashboards/{did}/panels/0", headers=member, json={**PANEL, "query": "sum("}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "panel.query"
    r = api.get(f"/api/v1/dashboards/{did}/data", headers=viewer, params={"range": "7d"})
    assert (
        r.status_code == 200
        and len(r.json()) == 2
        and r.json()[0]["result"]["series"][0]["y"] == [2.0]
    )
    doc = api.get(f"/api/v1/dashboards/{did}/export", headers=viewer).json()
    r = api.post("/api/v1/dashboards/import", headers=member, json=doc)
    assert r.status_code == 201 and r.json()["panels"] == doc["panels"]
    r = api.post("/api/v1/dashboards/import", headers=member, json={**doc, "schema": "v9"})
    assert r.status_code == 422
    assert len(api.get("/api/v1/dashboards", headers=viewer).json()) == 2
    r = api.patch(f"/api/v1/dashboards/{did}", headers=member, json={"name": "Renamed"})
    assert r.json()["name"] == "Renamed"
    assert api.delete(f"/api/v1/dashboards/{did}/panels/0", headers=member).status_code == 200
    assert api.delete(f"/api/v1/dashboards/{did}", headers=viewer).status_code == 403
    assert api.delete(f"/api/v1/dashboards/{did}", headers=member).status_code == 204
    assert api.get(f"/api/v1/dashboards/{did}", headers=member).status_code == 404


def test_dashboards_of_another_org_are_404(api, two_orgs, sent):
    acme = _auth(two_orgs["acme_owner"])
    globex = _auth(two_orgs["globex_owner"])
    did = api.post(
        "/api/v1/dashboards", headers=acme, json={"name": "A", "panels": [PANEL]}
    ).json()["id"]
    base = f"/api/v1/dashboards/{did}"
    assert api.get("/api/v1/dashboards", headers=globex).json() == []
    for method, url, body in [
        ("get", base, None),
        ("get", f"{base}/data", None),
        ("get", f"{base}/export", None),
        ("patch", base, {"name": "x"}),
        ("delete", base, None),
        ("post", f"{base}/panels", PANEL),
        ("put", f"{base}/panels/0", PANEL),
        ("delete", f"{base}/panels/0", None),
        ("post", f"{base}/panels/0/move", {"direction": "down"}),
    ]:
        kwargs = {"json": body} if body is not None else {}
        r = getattr(api, method)(url, headers=globex, **kwargs)
        assert r.status_code == 404, (method, url, r.status_code)
    assert sent == []


def test_query_api_is_confined(api, two_orgs, sent):
    acme = two_orgs["acme_owner"]
    mine = make_cluster(acme.org_id, "mine")
    theirs = make_cluster(two_orgs["globex_owner"].org_id, "theirs")
    h = _auth(two_orgs["acme_viewer"])
    r = api.get("/api/v1/metrics/query", headers=h, params={"query": '{__name__=~".+"}'})
    assert r.status_code == 200 and r.json()["instant"][0]["value"] == 2.0
    assert sent[-1] == f'{{__name__=~".+",org="{acme.org_id}",cluster=~"{mine}"}}'
    r = api.get(
        "/api/v1/metrics/query_range",
        headers=h,
        params={"query": "up", "range": "15m", "cluster_id": mine},
    )
    assert r.status_code == 200 and r.json()["series"][0]["y"] == [2.0]
    r = api.get("/api/v1/metrics/query", headers=h, params={"query": "up", "cluster_id": theirs})
    assert r.status_code == 404
    r = api.get(
        "/api/v1/metrics/query",
        headers=h,
        params={"query": 'label_replace(up, "org", "x", "", "")'},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "query"
    r = api.get("/api/v1/metrics/query_range", headers=h, params={"query": "up", "range": "2d"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "range"
    assert api.get("/api/v1/metrics/query", params={"query": "up"}).status_code == 401
    assert len(sent) == 2


def test_query_api_without_backend_is_503(api, two_orgs, monkeypatch):
    monkeypatch.setattr(prom, "prometheus_url", lambda: "")
    h = _auth(two_orgs["acme_owner"])
    r = api.get("/api/v1/metrics/query", headers=h, params={"query": "up"})
    assert r.status_code == 503 and "install" in r.text.lower()
