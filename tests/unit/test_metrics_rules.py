"""Prometheus rules, Alertmanager and Prometheus configs (checked by promtool/amtool), backend."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import yaml

from mkportal.services.metrics import backend, catalog, prom, rules
from mkportal.settings import get_settings

BASE = "https://portal.example.test"


def _cfg(**kw) -> backend.StackConfig:
    return backend.StackConfig(
        scrape_url=f"{BASE}/api/v1/metrics/scrape",
        scrape_token="scrape-token",
        webhook_url=f"{BASE}/api/v1/webhooks/alertmanager",
        webhook_secret="hook-secret",
        alertmanager_addr="127.0.0.1:9093",
        base_url=BASE,
        **kw,
    )


def test_every_catalog_alert_has_a_rule_with_labels_and_runbook():
    doc = yaml.safe_load(rules.rule_file(BASE))
    alerts = {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}
    assert set(alerts) == {a.name for a in catalog.ALERTS}
    for spec in catalog.ALERTS:
        rule = alerts[spec.name]
        assert rule["labels"]["severity"] == spec.severity
        assert "group_left (cluster_name, service_level, priority)" in rule["expr"]
        assert rule["annotations"]["summary"] == spec.summary
        assert rule["annotations"]["runbook_url"] == f"{BASE}/admin/runbooks/{spec.runbook}"
    records = [r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r]
    assert records == [
        catalog.SLI_AVAILABLE,
        catalog.SLI_ERROR_RATIO,
        catalog.SLI_LATENCY_P99,
        catalog.SLI_NODES_NOT_READY,
    ]


def test_alertmanager_routes_by_priority_to_the_portal_webhook():
    doc = yaml.safe_load(rules.alertmanager_config(f"{BASE}/hook", "s3cret"))
    routes = doc["route"]["routes"]
    assert [r["matchers"] for r in routes] == [[f'priority="{p}"'] for p in catalog.PRIORITIES]
    waits = [r["group_wait"] for r in routes]
    assert waits == ["10s", "30s", "1m"]
    hook = doc["receivers"][0]["webhook_configs"][0]
    assert hook["url"] == f"{BASE}/hook" and hook["send_resolved"] is True
    assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials": "s3cret"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_and_amtool_accept_the_written_configs(tmp_path):
    paths = backend.write_configs(tmp_path, _cfg())
    assert oct(paths["prometheus"].stat().st_mode)[-3:] == "600"
    for cmd in (
        ["promtool", "check", "rules", str(paths["rules"])],
        ["promtool", "check", "config", str(paths["prometheus"])],
    ):
        out = subprocess.run(cmd, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
    if shutil.which("amtool"):
        out = subprocess.run(
            ["amtool", "check-config", str(paths["alertmanager"])], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stdout + out.stderr
    scrape = yaml.safe_load(paths["prometheus"].read_text())["scrape_configs"][0]
    assert scrape["scheme"] == "https"
    assert scrape["metrics_path"] == "/api/v1/metrics/scrape"
    assert scrape["static_configs"] == [{"targets": ["portal.example.test"]}]
    assert scrape["authorization"]["credentials"] == "scrape-token"


def test_status_modes(var_dir, monkeypatch):
    monkeypatch.setenv("METRICS_EMBEDDED", "false")
    get_settings.cache_clear()
    st = backend.status()
    assert st["mode"] == "not installed" and "apt-get install" in st["message"]
    assert backend.start_embedded() is None
    monkeypatch.setenv("PROMETHEUS_URL", "http://prom.example.test:9090/")
    get_settings.cache_clear()
    st = backend.status()
    assert st["mode"] == "configured" and st["prometheus_url"] == "http://prom.example.test:9090"
    assert backend.start_embedded() is None


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which(prom.PROMETHEUS_BIN), reason="prometheus not installed")
def test_embedded_stack_starts_restarts_and_stops(var_dir, monkeypatch):
    from tests.fakes.prometheus_stack import _free_port

    monkeypatch.setenv("PROMETHEUS_PORT", str(_free_port()))
    monkeypatch.setenv("ALERTMANAGER_PORT", str(_free_port()))
    get_settings.cache_clear()
    sup = backend.start_embedded()
    try:
        assert sup is not None
        assert backend.start_embedded() is None  # the lock allows one stack per var dir
        backend.wait_ready(prom.prometheus_url())
        backend.wait_ready(prom.alertmanager_url())
        assert backend.status()["mode"] == "embedded" and backend.status()["running"]
        old = sup.pids()["prometheus"]
        sup._procs["prometheus"].kill()
        deadline = time.monotonic() + 30
        while sup.pids()["prometheus"] == old:
            assert time.monotonic() < deadline, "prometheus was not restarted"
            time.sleep(0.2)
        backend.wait_ready(prom.prometheus_url())
        assert sup.restarts == 1
    finally:
        backend.stop_embedded()
    assert all(p.poll() is not None for p in sup._procs.values())
