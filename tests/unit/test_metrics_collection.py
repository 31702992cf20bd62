"""App metrics collection per cluster through the sandbox Kubernetes API: agent and config."""

from __future__ import annotations

import base64

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.metrics import MetricsCollection
from mkportal.services.errors import Forbidden, Invalid, NotFound, Unauthenticated
from mkportal.services.kube import features
from mkportal.services.logs.tokens import authenticate_ingest
from mkportal.services.metrics import collection
from tests.unit.test_log_collection import cluster, sandbox_api  # noqa: F401  (fixtures)

NS = "mk-metrics-agent"


def _read(api: client.ApiClient) -> tuple:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    ds = apps.read_namespaced_daemon_set("metrics-agent", NS)
    cm = core.read_namespaced_config_map("metrics-agent-config", NS)
    return ds, yaml.safe_load(cm.data["prometheus.yml"])


def _token(api: client.ApiClient) -> str:
    secret = client.CoreV1Api(api).read_namespaced_secret("metrics-agent-token", NS)
    return base64.b64decode(secret.data["token"]).decode()


def test_enable_installs_agent_and_scrape_config(cluster):  # noqa: F811
    member = cluster["acme_member"]
    result = collection.enable(member, cluster["id"], ["shop", "web", "shop"])
    assert result.enabled and result.namespaces == ["shop", "web"]
    ds, config = _read(cluster["api"])
    pod = ds.spec.template.spec
    assert pod.containers[0].image.startswith("quay.io/prometheus/prometheus")
    assert "--agent" in pod.containers[0].args[0]
    volumes = {v.name: v for v in pod.volumes}
    assert volumes["config"].config_map.name == features.METRICS_AGENT_CONFIG
    org = member.org_id
    assert config["global"]["external_labels"] == {"org": org, "cluster": cluster["id"]}
    job = config["scrape_configs"][0]
    sd = job["kubernetes_sd_configs"][0]
    assert sd["role"] == "pod" and sd["namespaces"] == {"names": ["shop", "web"]}
    sources = {tuple(r.get("source_labels", [])): r for r in job["relabel_configs"]}
    assert sources[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)]["action"] == "keep"
    assert sources[("__meta_kubernetes_pod_annotation_prometheus_io_path",)]["target_label"] == (
        "__metrics_path__"
    )
    forced = {r["target_label"]: r["replacement"] for r in job["metric_relabel_configs"]}
    assert forced == {"org": org, "cluster": cluster["id"]}
    write = config["remote_write"][0]
    assert write["url"] == "https://portal.example.test/api/v1/ingest/metrics"
    assert write["authorization"]["credentials_file"] == "/etc/mkportal/token"
    assert volumes["token"].secret.secret_name == "metrics-agent-token"
    identity = authenticate_ingest(_token(cluster["api"]))
    assert (identity.cluster_id, identity.org_id) == (cluster["id"], org)
    assert {r["target_label"]: r["replacement"] for r in write["write_relabel_configs"]} == forced
    with session_scope() as s:
        row = s.get(MetricsCollection, cluster["id"])
        assert row.enabled and row.org_id == org and row.enabled_by == "member@acme.test"
        actions = s.exec(select(AuditEvent.action).where(AuditEvent.target_id == cluster["id"]))
        assert "metrics.collection_enabled" in list(actions)
    view = collection.status(cluster["acme_viewer"], cluster["id"])
    assert view.enabled and view.agent in ("installing", "ready")


def test_enable_again_replaces_config_and_token(cluster):  # noqa: F811
    collection.enable(cluster["acme_member"], cluster["id"], ["shop"])
    first = _token(cluster["api"])
    collection.enable(cluster["acme_owner"], cluster["id"], None)
    _ds, config = _read(cluster["api"])
    assert "namespaces" not in config["scrape_configs"][0]["kubernetes_sd_configs"][0]
    with pytest.raises(Unauthenticated):
        authenticate_ingest(first)
    assert authenticate_ingest(_token(cluster["api"])).cluster_id == cluster["id"]


def test_disable_removes_agent_and_revokes_token(cluster):  # noqa: F811
    collection.enable(cluster["acme_member"], cluster["id"], None)
    token = _token(cluster["api"])
    off = collection.disable(cluster["acme_member"], cluster["id"])
    assert not off.enabled and off.status == "off"
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(cluster["api"]).read_namespaced_config_map("metrics-agent-config", NS)
    assert err.value.status == 404
    with session_scope() as s:
        assert not s.get(MetricsCollection, cluster["id"]).enabled
    with pytest.raises(Unauthenticated):
        authenticate_ingest(token)


def test_other_org_gets_not_found_and_viewer_forbidden(cluster):  # noqa: F811
    for call in (collection.enable, collection.disable):
        with pytest.raises(NotFound):
            call(
                cluster["globex_owner"],
                cluster["id"],
                *([None] if call is collection.enable else []),
            )
    with pytest.raises(NotFound):
        collection.status(cluster["globex_owner"], cluster["id"])
    with pytest.raises(Forbidden):
        collection.enable(cluster["acme_viewer"], cluster["id"], None)
    with pytest.raises(Forbidden):
        collection.disable(cluster["acme_viewer"], cluster["id"])
    with pytest.raises(Invalid):
        collection.enable(cluster["acme_member"], cluster["id"], ["Not_A_Namespace"])


def test_agent_config_is_valid_prometheus_agent_config(tmp_path):
    import shutil
    import subprocess

    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    text = collection.agent_config("org1", "c1", ["shop"], "http://portal.test:9090/api/v1/write")
    config = yaml.safe_load(text.replace("__NODE_NAME__", "node-1"))
    job = config["scrape_configs"][0]
    sd = job.pop("kubernetes_sd_configs")
    assert sd[0]["selectors"] == [{"role": "pod", "field": "spec.nodeName=node-1"}]
    # Debian's Prometheus is built without Kubernetes discovery: check the rest of it.
    job["static_configs"] = [{"targets": ["127.0.0.1:8080"]}]
    path = tmp_path / "agent.yml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        ["promtool", "check", "config", "--agent", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
