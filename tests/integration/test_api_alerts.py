"""REST API of alerting: the Alertmanager webhook, incidents, runbooks and SLO reports."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from mkportal.services.metrics import catalog, prom, slo
from mkportal.settings import get_settings
from tests.unit.test_incidents_ingest import alert, payload
from tests.unit.test_slo_reports import PERIOD, cluster

HOOK = "/api/v1/webhooks/alertmanager"


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


def _secret() -> dict:
    return {"Authorization": f"Bearer {get_settings().alertmanager_secret}"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}],
    ids=["none", "wrong-secret", "not-bearer"],
)
def test_webhook_needs_the_secret(api, headers):
    r = api.post(HOOK, json=payload(alert()), headers=headers)
    assert r.status_code == 401


def test_webhook_rejects_a_user_token(api, two_orgs):
    r = api.post(HOOK, json=payload(alert()), headers=_auth(two_orgs["operator"]))
    assert r.status_code == 401


def test_webhook_creates_incident_and_ignores_replay(api, two_orgs):
    acme_cluster = cluster(two_orgs["acme_owner"].org_id, "web")
    body = payload(alert(cluster=acme_cluster))
    first = api.post(HOOK, json=body, headers=_secret())
    assert first.status_code == 200, first.text
    assert len(first.json()["created"]) == 1 and not first.json()["replay"]
    again = api.post(HOOK, json=body, headers=_secret())
    assert again.json()["replay"] and again.json()["created"] == []
    bad = api.post(HOOK, content=b"{nope", headers=_secret())
    assert bad.status_code == 422
    invalid = api.post(HOOK, json={"alerts": [{"status": "x"}]}, headers=_secret())
    assert invalid.status_code == 422 and "alerts[0].status" in invalid.text


def test_operator_incident_lifecycle_and_others_get_404(api, two_orgs):
    acme_cluster = cluster(two_orgs["acme_owner"].org_id, "web")
    created = api.post(HOOK, json=payload(alert(cluster=acme_cluster)), headers=_secret())
    iid = created.json()["created"][0]
    ops = _auth(two_orgs["operator"])
    listed = api.get("/api/v1/admin/incidents", headers=ops, params={"status": "open"}).json()
    assert [i["id"] for i in listed["items"]] == [iid]
    assert listed["items"][0]["runbook"] == "cluster-api-server-down"
    assert listed["items"][0]["cluster_name"] == "web" and listed["items"][0]["org_name"] == "Acme"
    for who in ("acme_owner", "globex_owner"):
        h = _auth(two_orgs[who])
        assert api.get("/api/v1/admin/incidents", headers=h).status_code == 404
        assert api.get(f"/api/v1/admin/incidents/{iid}", headers=h).status_code == 404
        assert api.post(f"/api/v1/admin/incidents/{iid}/acknowledge", headers=h).status_code == 404
    ack = api.post(f"/api/v1/admin/incidents/{iid}/acknowledge", headers=ops)
    assert ack.status_code == 200 and ack.json()["incident"]["status"] == "acknowledged"
    assert api.post(f"/api/v1/admin/incidents/{iid}/acknowledge", headers=ops).status_code == 409
    note = api.post(f"/api/v1/admin/incidents/{iid}/comments", headers=ops, json={"text": "On it"})
    assert note.status_code == 200
    empty = api.post(f"/api/v1/admin/incidents/{iid}/comments", headers=ops, json={"text": ""})
    assert empty.status_code == 422
    done = api.post(f"/api/v1/admin/incidents/{iid}/resolve", headers=ops, json={"note": "fixed"})
    assert done.json()["incident"]["status"] == "resolved"
    kinds = [e["kind"] for e in done.json()["events"]]
    assert kinds == ["fired", "acknowledged", "comment", "resolved"]
    assert (
        api.get("/api/v1/admin/incidents", headers=ops, params={"status": "bad"}).status_code == 422
    )
    mine = api.get(
        f"/api/v1/clusters/{acme_cluster}/incidents", headers=_auth(two_orgs["acme_viewer"])
    )
    assert [i["id"] for i in mine.json()] == [iid]
    theirs = api.get(
        f"/api/v1/clusters/{acme_cluster}/incidents", headers=_auth(two_orgs["globex_owner"])
    )
    assert theirs.status_code == 404
    audit = api.get("/api/v1/admin/audit", headers=ops, params={"action": "incident."}).json()
    assert {e["action"] for e in audit["items"]} == {
        "incident.acknowledged", "incident.commented", "incident.resolved"
    }  # fmt: skip


def test_runbooks_cover_every_alert_and_are_searchable(api, two_orgs):
    ops = _auth(two_orgs["operator"])
    books = api.get("/api/v1/admin/runbooks", headers=ops).json()
    assert {b["slug"] for b in books} == {a.runbook for a in catalog.ALERTS}
    hit = api.get("/api/v1/admin/runbooks", headers=ops, params={"q": "velero"}).json()
    assert [b["slug"] for b in hit] == ["cluster-backup-stale"]
    title = api.get("/api/v1/admin/runbooks", headers=ops, params={"q": "node ready"}).json()
    assert title[0]["slug"] == "cluster-node-not-ready"
    one = api.get("/api/v1/admin/runbooks/cluster-api-server-down", headers=ops).json()
    assert one["alertname"] == "ClusterApiServerDown" and "## Mitigation" in one["markdown"]
    for sections in ("## What it means", "## Impact", "## Diagnosis", "## Escalation", "kubectl"):
        assert all(
            sections
            in api.get(f"/api/v1/admin/runbooks/{b['slug']}", headers=ops).json()["markdown"]
            for b in books
        )
    assert api.get("/api/v1/admin/runbooks/../secret", headers=ops).status_code == 404
    assert api.get("/api/v1/admin/runbooks/nope", headers=ops).status_code == 404
    assert (
        api.get("/api/v1/admin/runbooks", headers=_auth(two_orgs["acme_owner"])).status_code == 404
    )


def test_slo_reports_api_isolation_and_csv(api, two_orgs, monkeypatch):
    def unavailable(*_a, **_k):
        raise prom.MetricsUnavailable("not installed")

    monkeypatch.setattr(slo.prom, "query", unavailable)
    acme, globex = two_orgs["acme_owner"].org_id, two_orgs["globex_owner"].org_id
    cluster(acme, "web")
    cluster(globex, "shop")
    ops = _auth(two_orgs["operator"])
    gen = api.post("/api/v1/admin/slo-reports/generate", headers=ops, json={"period": PERIOD})
    assert gen.status_code == 200 and gen.json()["written"] == 2
    bad = api.post("/api/v1/admin/slo-reports/generate", headers=ops, json={"period": "2026-13"})
    assert bad.status_code == 422
    owner = _auth(two_orgs["globex_owner"])
    mine = api.get("/api/v1/slo-reports", headers=owner, params={"period": PERIOD}).json()
    assert [r["cluster_name"] for r in mine["rows"]] == ["shop"]
    assert mine["rows"][0]["availability"] in ("100.0000", 100.0)
    text = api.get("/api/v1/slo-reports/export.csv", headers=owner, params={"period": PERIOD})
    assert text.headers["content-type"].startswith("text/csv") and "shop" in text.text
    assert "web" not in text.text
    assert api.get("/api/v1/admin/slo-reports", headers=owner).status_code == 404
    assert api.get("/api/v1/admin/slo-reports/export.csv", headers=owner).status_code == 404
    assert api.post("/api/v1/admin/slo-reports/generate", headers=owner,
                    json={"period": PERIOD}).status_code == 404  # fmt: skip
    fleet = api.get("/api/v1/admin/slo-reports", headers=ops, params={"period": PERIOD}).json()
    assert fleet["fleet"]["clusters"] == 2 and len(fleet["orgs"]) == 2
    one = api.get("/api/v1/admin/slo-reports", headers=ops, params={"period": PERIOD, "org": acme})
    assert [r["cluster_name"] for r in one.json()["rows"]] == ["web"]
    csv_all = api.get(
        "/api/v1/admin/slo-reports/export.csv", headers=ops, params={"period": PERIOD}
    )
    assert csv_all.text.count("\n") == 3
