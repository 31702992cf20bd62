"""Real Alertmanager and Prometheus: alerts reach the webhook as incidents; SLO from the SLI.

Alertmanager runs with the portal's generated alertmanager.yml (tests/fakes/prometheus_stack),
so this proves the receiver's URL and bearer secret match what the webhook expects, and
that Alertmanager's real payloads (firing, then resolved) drive the incident life cycle.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlmodel import select

from mkportal.api.app import create_api
from mkportal.db import session_scope
from mkportal.models.metrics import Incident, IncidentEvent
from mkportal.services.metrics import slo
from mkportal.settings import get_settings
from tests.fakes.metrics_data import sandbox_cluster
from tests.fakes.prometheus_stack import running_stack
from tests.fakes.server import serving

pytestmark = pytest.mark.slow


def _wait(predicate, timeout: float = 60.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.5)


def _incident() -> Incident | None:
    with session_scope() as s:
        return s.exec(select(Incident)).first()


def _post_alert(am: str, cluster_id: str, starts: datetime, ends: datetime | None) -> None:
    alert = {
        "labels": {"alertname": "ClusterApiServerDown", "severity": "critical",
                   "priority": "P1", "cluster": cluster_id, "org": "x", "cluster_name": "web"},
        "annotations": {"summary": "The Kubernetes API of a cluster does not answer.",
                        "runbook_url": "http://portal.test/admin/runbooks/cluster-api-server-down"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
    }  # fmt: skip
    if ends is not None:
        alert["endsAt"] = ends.isoformat().replace("+00:00", "Z")
    r = requests.post(f"{am}/api/v2/alerts", json=[alert], timeout=5)
    assert r.status_code == 200, r.text


def test_alertmanager_delivers_firing_and_resolved(two_orgs, tmp_path, monkeypatch):
    monkeypatch.setenv("ONCALL_EMAILS", '["oncall@vshn.test"]')
    get_settings.cache_clear()
    settings = get_settings()
    cluster_id = sandbox_cluster(two_orgs["acme_owner"].org_id, "web", service_level="premium")
    with (
        serving(create_api()) as api,
        running_stack(
            tmp_path,
            scrape_url=f"{api}/api/v1/metrics/scrape",
            scrape_token=settings.metrics_token,
            webhook_url=f"{api}/api/v1/webhooks/alertmanager",
            webhook_secret=settings.alertmanager_secret,
        ) as stack,
    ):
        starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
        _post_alert(stack.alertmanager, cluster_id, starts, None)
        inc = _wait(_incident)
        assert inc.cluster_id == cluster_id and inc.org_id == two_orgs["acme_owner"].org_id
        assert (inc.priority, inc.runbook, inc.status) == ("P1", "cluster-api-server-down", "open")
        _post_alert(
            stack.alertmanager, cluster_id, starts, datetime.now(UTC) - timedelta(seconds=1)
        )
        _wait(lambda: (_incident() or inc).status == "resolved")
        # SLO from the real SLI series of the sandbox exporter (premium: target 99.9 %).
        stack.wait_for(f'cluster:apiserver_available:bool{{cluster="{cluster_id}"}}')
        monkeypatch.setenv("PROMETHEUS_URL", stack.prometheus)
        get_settings.cache_clear()
        # The SLI is sampled on whole minutes: wait for the first minute with data.
        measured = _wait(
            lambda: slo.from_prometheus(datetime.now(UTC), 600, two_orgs["acme_owner"].org_id),
            timeout=90,
        )
    assert measured[cluster_id].source == "prometheus"
    assert measured[cluster_id].availability == 100  # no fault injected: the API is up
    assert measured[cluster_id].observed_minutes >= 1
    with session_scope() as s:
        kinds = [e.kind for e in s.exec(select(IncidentEvent).order_by(IncidentEvent.id))]
        assert len(s.exec(select(Incident)).all()) == 1
    assert kinds == ["fired", "notified", "resolved"]
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1
