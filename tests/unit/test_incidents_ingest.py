"""Alertmanager webhook ingest: incidents, replays, dedupe, resolve, on-call notice once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.metrics import Incident, IncidentEvent
from mkportal.services.errors import Invalid
from mkportal.services.metrics import incidents
from mkportal.services.metrics.incident_notify import SIGNATURE_HEADER
from mkportal.settings import get_settings
from tests.fakes.server import serving
from tests.unit.test_log_ingest import make_cluster

START = "2026-11-20T10:00:00.123456789Z"


def alert(status: str = "firing", fingerprint: str = "abc123", cluster: str = "", **kw) -> dict:
    """One alert of Alertmanager's webhook payload."""
    return {
        "status": status,
        "labels": {
            "alertname": "ClusterApiServerDown",
            "severity": "critical",
            "priority": "P1",
            "cluster": cluster,
            "org": "forged-org",
            "cluster_name": "web",
        },
        "annotations": {"summary": "API down", "description": "It does not answer."},
        "startsAt": START,
        "endsAt": "2026-11-20T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
        **kw,
    }


def payload(*alerts: dict, status: str = "firing") -> dict:
    """Alertmanager's webhook body (version 4)."""
    return {
        "version": "4",
        "receiver": "portal",
        "status": status,
        "groupKey": '{}:{alertname="ClusterApiServerDown"}',
        "alerts": list(alerts),
    }


def outbox() -> list[Path]:
    return sorted(get_settings().outbox_dir.glob("*.eml"))


@pytest.fixture
def oncall(two_orgs, monkeypatch):
    monkeypatch.setenv("ONCALL_EMAILS", '["oncall@vshn.test"]')
    get_settings.cache_clear()
    return two_orgs


def test_firing_creates_incident_owned_by_the_clusters_org_and_notifies(oncall):
    cid = make_cluster(oncall["acme_owner"].org_id)
    r = incidents.ingest(payload(alert(cluster=cid)))
    assert len(r.created) == 1 and r.notified == r.created and not r.replay
    with session_scope() as s:
        inc = s.get(Incident, r.created[0])
        kinds = [e.kind for e in s.exec(select(IncidentEvent).order_by(IncidentEvent.id))]
    assert inc.org_id == oncall["acme_owner"].org_id and inc.cluster_id == cid
    assert (inc.status, inc.priority, inc.severity) == ("open", "P1", "critical")
    assert inc.runbook == "cluster-api-server-down"
    assert inc.starts_at.replace(tzinfo=None).isoformat() == "2026-11-20T10:00:00.123456"
    assert kinds == ["fired", "notified"]
    mails = outbox()
    assert len(mails) == 1
    text = mails[0].read_text()
    assert "oncall@vshn.test" in text and "/admin/runbooks/cluster-api-server-down" in text


def test_unknown_cluster_label_does_not_assign_an_org(oncall):
    r = incidents.ingest(payload(alert(cluster="ffffffffffffffffffffffffffffffff")))
    with session_scope() as s:
        inc = s.get(Incident, r.created[0])
    assert (inc.org_id, inc.cluster_id) == ("", "")


def test_replay_is_ignored_and_notifies_once(oncall):
    body = payload(alert())
    incidents.ingest(body)
    again = incidents.ingest(json.loads(json.dumps(body)))
    assert again.replay and not again.created
    assert len(outbox()) == 1
    with session_scope() as s:
        assert len(s.exec(select(Incident)).all()) == 1


def test_same_alert_in_a_new_delivery_keeps_one_incident(oncall):
    first = incidents.ingest(payload(alert()))
    second = incidents.ingest({**payload(alert()), "groupKey": "other"})
    assert not second.replay and second.unchanged == first.created and not second.created
    assert len(outbox()) == 1


def test_new_start_is_a_new_incident(oncall):
    incidents.ingest(payload(alert()))
    r = incidents.ingest(payload(alert(startsAt="2026-11-21T00:00:00Z")))
    assert len(r.created) == 1
    assert len(outbox()) == 2


def test_resolved_resolves_with_timeline(oncall):
    created = incidents.ingest(payload(alert())).created[0]
    r = incidents.ingest(payload(alert("resolved"), status="resolved"))
    assert r.resolved == [created]
    with session_scope() as s:
        inc = s.get(Incident, created)
        kinds = [e.kind for e in s.exec(select(IncidentEvent).order_by(IncidentEvent.id))]
    assert inc.status == "resolved" and inc.resolved_by == "alertmanager"
    assert inc.ends_at.replace(tzinfo=None).isoformat() == "2026-11-20T10:30:00"
    assert kinds == ["fired", "notified", "resolved"]
    again = incidents.ingest({**payload(alert("resolved")), "groupKey": "x"})
    assert again.unchanged == [created] and not again.resolved


def test_resolved_first_creates_resolved_incident_without_notice(oncall):
    r = incidents.ingest(payload(alert("resolved"), status="resolved"))
    assert len(r.resolved) == 1 and not r.notified
    assert outbox() == []


def test_concurrent_deliveries_notify_once(oncall):
    body = payload(alert(), alert(fingerprint="def456"))
    results = []

    def post() -> None:
        results.append(incidents.ingest({**body, "groupKey": threading.current_thread().name}))

    threads = [threading.Thread(target=post, name=f"w{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = sorted(i for r in results for i in r.created)
    with session_scope() as s:
        ids = sorted(s.exec(select(Incident.id)).all())
    assert created == ids and len(ids) == 2
    assert len(outbox()) == 2


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"alerts": "x"},
        {"alerts": [1]},
        {"alerts": [{**alert(), "status": "weird"}]},
        {"alerts": [{**alert(), "startsAt": "yesterday"}]},
    ],
    ids=["not-object", "alerts-not-list", "alert-not-object", "bad-status", "bad-start"],
)
def test_invalid_payloads(two_orgs, bad):
    with pytest.raises(Invalid):
        incidents.ingest(bad)


def test_oncall_webhook_is_signed(two_orgs, monkeypatch):
    received: list[tuple[bytes, str]] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> dict:
        received.append((await request.body(), request.headers.get(SIGNATURE_HEADER, "")))
        return {}

    with serving(app) as base:
        monkeypatch.setenv("ONCALL_WEBHOOK_URL", f"{base}/hook")
        get_settings.cache_clear()
        r = incidents.ingest(payload(alert()))
        incidents.ingest({**payload(alert()), "groupKey": "again"})
    assert r.notified == r.created and len(received) == 1
    body, signature = received[0]
    secret = get_settings().alertmanager_secret.encode()
    assert signature == "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    doc = json.loads(body)
    assert doc["id"] == r.created[0] and doc["runbook_url"].endswith("cluster-api-server-down")


def test_oncall_webhook_failure_is_on_the_timeline(two_orgs, monkeypatch):
    monkeypatch.setenv("ONCALL_WEBHOOK_URL", "http://127.0.0.1:9/nothing")
    get_settings.cache_clear()
    r = incidents.ingest(payload(alert()))
    assert r.created and not r.notified
    with session_scope() as s:
        kinds = [e.kind for e in s.exec(select(IncidentEvent))]
    assert kinds == ["fired", "notify_failed"]


@pytest.mark.postgres
def test_concurrent_deliveries_notify_once_on_postgres(pg_db, monkeypatch):
    from tests.conftest import make_two_orgs

    orgs = make_two_orgs()
    monkeypatch.setenv("ONCALL_EMAILS", '["oncall@vshn.test"]')
    get_settings.cache_clear()
    cid = make_cluster(orgs["acme_owner"].org_id)
    body = payload(alert(cluster=cid), alert(fingerprint="def456", cluster=cid))
    barrier = threading.Barrier(4)
    results = []

    def post(i: int) -> None:
        barrier.wait()
        results.append(incidents.ingest(body if i % 2 else {**body, "groupKey": f"g{i}"}))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for r in results for i in r.created) == sorted(
        i for r in results for i in r.notified
    )
    with session_scope() as s:
        rows = s.exec(select(Incident)).all()
    assert len(rows) == 2 and {r.org_id for r in rows} == {orgs["acme_owner"].org_id}
    assert len(outbox()) == 2
    replay = incidents.ingest(body)
    assert replay.replay
