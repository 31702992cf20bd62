"""Against a real Prometheus: alarms fire and resolve on the org's own series only, and a
real Prometheus agent remote-writes app metrics through the portal with forced labels.

A tiny exporter serves `http_requests_in_flight`; Prometheus runs with the portal's
production config (tests/fakes/prometheus_stack.py).
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import yaml
from sqlmodel import select

from mkportal.api.app import create_api
from mkportal.db import session_scope
from mkportal.models.metrics import Alarm, Notification
from mkportal.services import notifications
from mkportal.services.logs.tokens import create_ingest_token
from mkportal.services.metrics import alarm_eval, alarms, collection
from mkportal.settings import get_settings
from tests.fakes.prometheus_stack import running_stack
from tests.fakes.server import serving
from tests.unit.test_alarms import _cluster

pytestmark = pytest.mark.slow


class Exporter:
    """An ASGI app serving one gauge per (org, cluster) with values the test sets."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], float] = {}

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            return
        lines = ["# TYPE http_requests_in_flight gauge"]
        for (org, cluster), value in sorted(self.values.items()):
            lines.append(f'http_requests_in_flight{{org="{org}",cluster="{cluster}"}} {value}')
        body = ("\n".join(lines) + "\n").encode()
        headers = [(b"content-type", b"text/plain; version=0.0.4")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _wait_state(alarm_id: str, want: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        alarm_eval.evaluate_all()
        with session_scope() as s:
            state = s.get(Alarm, alarm_id).state
        if state == want:
            return state
        time.sleep(0.5)
    return state


def test_alarm_fires_and_resolves_on_real_prometheus(two_orgs, tmp_path, monkeypatch):
    acme, globex = two_orgs["acme_member"], two_orgs["globex_owner"]
    acme_web = _cluster(acme.org_id, "web")
    globex_web = _cluster(globex.org_id, "web")
    exporter = Exporter()
    exporter.values = {(acme.org_id, acme_web): 3.0, (globex.org_id, globex_web): 500.0}
    settings = get_settings()
    with (
        serving(exporter) as url,
        running_stack(
            tmp_path / "stack",
            scrape_url=f"{url}/api/v1/metrics/scrape",
            scrape_token=settings.metrics_token,
            webhook_url=f"{url}/hook",
            webhook_secret=settings.alertmanager_secret,
        ) as stack,
    ):
        monkeypatch.setenv("PROMETHEUS_URL", stack.prometheus)
        get_settings.cache_clear()
        stack.wait_for("http_requests_in_flight")
        made = alarms.create(
            acme,
            {
                "name": "In flight",
                "query": "max(http_requests_in_flight)",
                "comparator": ">",
                "threshold": 10,
                "for_seconds": 0,
                "channels": ["in_app"],
            },
        )
        # Globex's 500 is invisible to Acme's alarm: it stays ok.
        alarm_eval.evaluate_all()
        assert alarms.get(acme, made.id).state == "ok"
        assert alarms.get(acme, made.id).last_value == 3.0
        assert alarms.preview(acme, "max(http_requests_in_flight)")[0].value == 3.0
        exporter.values[(acme.org_id, acme_web)] = 42.0
        assert _wait_state(made.id, "firing") == "firing"
        assert alarms.get(acme, made.id).last_value == 42.0
        exporter.values[(acme.org_id, acme_web)] = 1.0
        assert _wait_state(made.id, "ok") == "ok"
    kinds = [e.kind for e in reversed(alarms.history(acme, made.id).items)]
    assert kinds == ["firing", "resolved"]
    with session_scope() as s:
        notes = s.exec(select(Notification)).all()
    members = set(notifications.org_members(acme.org_id))
    assert {n.user_id for n in notes} == members
    assert sorted({n.kind for n in notes}) == ["alarm.firing", "alarm.resolved"]
    assert len(notes) == 2 * len(members)


def test_a_real_agent_writes_through_the_portal_with_forced_labels(two_orgs, tmp_path, monkeypatch):
    """A Prometheus agent (what enabling collection installs) remote-writes via the portal.

    The app it scrapes claims to be Globex; the series land under Acme's cluster.
    """
    acme, globex = two_orgs["acme_member"], two_orgs["globex_owner"]
    acme_web = _cluster(acme.org_id, "web")
    plain, _ = create_ingest_token(acme, acme_web, "metrics-agent")
    app = Exporter()
    app.values = {(globex.org_id, "not-mine"): 7.0}
    empty = Exporter()
    settings = get_settings()
    with (
        serving(app) as app_url,
        serving(empty) as empty_url,
        running_stack(
            tmp_path / "stack",
            scrape_url=f"{empty_url}/metrics",
            scrape_token=settings.metrics_token,
            webhook_url=f"{empty_url}/hook",
            webhook_secret=settings.alertmanager_secret,
        ) as stack,
    ):
        monkeypatch.setenv("PROMETHEUS_URL", stack.prometheus)
        get_settings.cache_clear()
        with serving(create_api()) as portal:
            monkeypatch.setenv("BASE_URL", portal)
            get_settings.cache_clear()
            config = yaml.safe_load(
                collection.agent_config(acme.org_id, acme_web, [], collection.remote_write_url())
            )
            job = config["scrape_configs"][0]
            job.pop("kubernetes_sd_configs")
            job["relabel_configs"] = [r for r in job["relabel_configs"] if "replacement" in r]
            job["static_configs"] = [{"targets": [app_url.removeprefix("http://")]}]
            job["scrape_interval"] = "1s"
            (tmp_path / "token").write_text(plain)
            config["remote_write"][0]["authorization"]["credentials_file"] = str(tmp_path / "token")
            config["remote_write"][0]["queue_config"] = {"batch_send_deadline": "1s"}
            (tmp_path / "agent.yml").write_text(yaml.safe_dump(config))
            agent = subprocess.Popen(
                [
                    shutil.which("prometheus") or "prometheus",
                    "--enable-feature=agent",
                    f"--config.file={tmp_path / 'agent.yml'}",
                    f"--storage.agent.path={tmp_path / 'wal'}",
                    "--web.listen-address=127.0.0.1:0",
                ],
                stdout=(tmp_path / "agent.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            try:
                result = stack.wait_for("http_requests_in_flight", timeout=60)
            finally:
                agent.terminate()
                agent.wait(10)
    labels = result[0]["metric"]
    assert (labels["org"], labels["cluster"]) == (acme.org_id, acme_web)
    assert float(result[0]["value"][1]) == 7.0
