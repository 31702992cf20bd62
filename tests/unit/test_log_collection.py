"""Log collection per cluster through the sandbox Kubernetes API: agent, config, token."""

from __future__ import annotations

import base64
import gzip
import json
import socket
from datetime import UTC, datetime

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from sqlmodel import select

from mkportal.api.sandbox_k8s import server as sandbox_server
from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.logs import LogIngestToken
from mkportal.services.clusters import actions
from mkportal.services.clusters.kubeconfig import kubeconfig
from mkportal.services.errors import Forbidden, Invalid, NotFound, Unauthenticated
from mkportal.services.kube.client import api_client
from mkportal.services.logs import collection
from mkportal.services.logs.ingest import ingest_batch
from mkportal.services.logs.tokens import authenticate_ingest
from mkportal.settings import get_settings
from tests.unit.test_clusters import _req, _run

NS = "mk-log-agent"


@pytest.fixture
def sandbox_api(db, monkeypatch) -> str:
    """The sandbox clusters' HTTPS Kubernetes API on a free port."""
    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")
    monkeypatch.setenv("PROVIDER_INLINE_WAIT", "5")
    monkeypatch.setenv("BASE_URL", "https://portal.example.test")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("SANDBOX_API_PORT", str(port))
    monkeypatch.setenv("SANDBOX_API_URL", f"https://127.0.0.1:{port}")
    get_settings.cache_clear()
    server = sandbox_server.start()
    assert server is not None and server.started
    yield get_settings().sandbox_api_url
    server.should_exit = True


@pytest.fixture
def cluster(sandbox_api, two_orgs) -> dict:
    """A running sandbox cluster of Acme and a client for its Kubernetes API."""
    actor = two_orgs["acme_member"]
    made, op, _ = actions.create_cluster(actor, _req(name="logs"))
    assert _run(op.id) == "succeeded"
    _name, text = kubeconfig(actor, made.id)
    return {"id": made.id, "api": api_client(text), **two_orgs}


def _read(api: client.ApiClient) -> tuple:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    ds = apps.read_namespaced_daemon_set("log-agent", NS)
    cm = core.read_namespaced_config_map("fluent-bit-config", NS)
    secret = core.read_namespaced_secret("log-agent-token", NS)
    return ds, cm, base64.b64decode(secret.data["token"]).decode()


def test_enable_installs_agent_config_and_token(cluster):
    member = cluster["acme_member"]
    result = collection.enable(member, cluster["id"], ["shop", "web", "shop"])
    assert result.enabled and result.namespaces == ["shop", "web"]
    ds, cm, token = _read(cluster["api"])
    pod = ds.spec.template.spec
    container = pod.containers[0]
    assert container.image.startswith("cr.fluentbit.io/fluent/fluent-bit")
    env = {e.name: e.value_from.secret_key_ref for e in container.env}
    assert env["MKPORTAL_LOG_TOKEN"].name == "log-agent-token"
    assert {v.name: v for v in pod.volumes}["config"].config_map.name == "fluent-bit-config"
    assert {m.mount_path for m in container.volume_mounts} >= {"/var/log", "/fluent-bit/etc/"}
    conf = cm.data["fluent-bit.conf"]
    for expected in (
        "Name              tail",
        "Path              /var/log/containers/*_shop_*.log, /var/log/containers/*_web_*.log",
        "Name                kubernetes",
        "Regex   $kubernetes['namespace_name'] ^(shop|web)$",
        "Name              http",
        "Host              portal.example.test",
        "Port              443",
        "URI               /api/v1/ingest/logs",
        "Format            json_lines",
        "Compress          gzip",
        "Header            Authorization Bearer ${MKPORTAL_LOG_TOKEN}",
        "tls               On",
    ):
        assert expected in conf, expected
    assert "to_portal" in cm.data["portal.lua"] and "cri" in cm.data["parsers.conf"]
    identity = authenticate_ingest(token)
    assert identity.cluster_id == cluster["id"]
    view = collection.status(cluster["acme_viewer"], cluster["id"])
    assert view.enabled and view.namespaces == ["shop", "web"] and view.agent == "ready"
    with session_scope() as s:
        actions_seen = {e.action for e in s.exec(select(AuditEvent))}
    assert "logs.collection_enabled" in actions_seen


def test_enable_again_replaces_token_and_all_namespaces(cluster):
    member = cluster["acme_member"]
    collection.enable(member, cluster["id"], ["shop"])
    _ds, _cm, first = _read(cluster["api"])
    collection.enable(member, cluster["id"], None)
    _ds, cm, second = _read(cluster["api"])
    assert first != second
    with pytest.raises(Unauthenticated):
        authenticate_ingest(first)
    assert authenticate_ingest(second).cluster_id == cluster["id"]
    conf = cm.data["fluent-bit.conf"]
    assert "Path              /var/log/containers/*.log" in conf and "grep" not in conf
    apps = client.AppsV1Api(cluster["api"])
    assert len(apps.list_namespaced_daemon_set(NS).items) == 1


def test_disable_revokes_token_and_removes_agent(cluster):
    member = cluster["acme_member"]
    collection.enable(member, cluster["id"], ["shop"])
    _ds, _cm, token = _read(cluster["api"])
    off = collection.disable(member, cluster["id"])
    assert not off.enabled and off.status == "off"
    with pytest.raises(Unauthenticated):
        authenticate_ingest(token)
    with pytest.raises(ApiException) as err:
        client.AppsV1Api(cluster["api"]).read_namespaced_daemon_set("log-agent", NS)
    assert err.value.status == 404
    with session_scope() as s:
        tokens = s.exec(select(LogIngestToken)).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)
    assert not collection.status(member, cluster["id"]).enabled


def test_other_org_gets_not_found_and_viewer_forbidden(cluster):
    with pytest.raises(NotFound):
        collection.enable(cluster["globex_owner"], cluster["id"], None)
    with pytest.raises(NotFound):
        collection.disable(cluster["globex_owner"], cluster["id"])
    with pytest.raises(NotFound):
        collection.status(cluster["globex_owner"], cluster["id"])
    with pytest.raises(Forbidden):
        collection.enable(cluster["acme_viewer"], cluster["id"], None)
    with pytest.raises(Forbidden):
        collection.disable(cluster["acme_viewer"], cluster["id"])
    with pytest.raises(Invalid):
        collection.enable(cluster["acme_member"], cluster["id"], ["Bad_NS"])
    with session_scope() as s:
        assert s.exec(select(LogIngestToken)).all() == []


def test_fluent_bit_config_for_plain_http_portal():
    conf = collection.fluent_bit_config("http://127.0.0.1:3000/portal", [])
    assert "Port              3000" in conf and "tls               Off" in conf
    assert "URI               /portal/api/v1/ingest/logs" in conf


def test_the_agents_token_and_line_format_pass_the_ingest_endpoint(cluster):
    collection.enable(cluster["acme_member"], cluster["id"], ["shop"])
    _ds, _cm, token = _read(cluster["api"])
    # What the Lua filter makes of a kubernetes-filtered record, as fluent-bit's
    # http output sends it (json_lines, gzip, Json_Date_Key ts in iso8601).
    line = {
        "ts": "2026-11-24T10:00:00.123456Z",
        "message": '{"level":"warn","msg":"slow query"}',
        "stream": "app",
        "level": "warn",
        "namespace": "shop",
        "pod": "web-1",
        "container": "web",
        "attrs": {"level": "warn", "msg": "slow query", "stream": "stdout"},
    }
    body = gzip.compress((json.dumps(line) + "\n").encode())
    result = ingest_batch(token, body, "gzip", now=datetime(2026, 11, 24, 11, tzinfo=UTC))
    assert result.accepted == 1


def test_disable_keeps_a_log_agent_chosen_as_catalog_feature(sandbox_api, two_orgs):
    actor = two_orgs["acme_member"]
    made, op, _ = actions.create_cluster(actor, _req(name="agent", features=["log-agent"]))
    assert _run(op.id) == "succeeded"
    api = api_client(kubeconfig(actor, made.id)[1])
    collection.enable(actor, made.id, None)
    _read(api)
    collection.disable(actor, made.id)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    assert apps.read_namespaced_daemon_set("log-agent", NS).metadata.name == "log-agent"
    for read, name in (
        (core.read_namespaced_config_map, "fluent-bit-config"),
        (core.read_namespaced_secret, "log-agent-token"),
    ):
        with pytest.raises(ApiException) as err:
            read(name, NS)
        assert err.value.status == 404


def test_collection_over_the_api(cluster):
    from fastapi.testclient import TestClient

    from mkportal.api.app import create_api
    from mkportal.services import tokens

    api = TestClient(create_api(), raise_server_exceptions=False)
    url = f"/api/v1/clusters/{cluster['id']}/logs/collection"

    def auth(actor) -> dict:
        return {"Authorization": f"Bearer {tokens.create_token(actor, 't')[0]}"}

    member, viewer, other = (
        auth(cluster["acme_member"]),
        auth(cluster["acme_viewer"]),
        auth(cluster["globex_owner"]),
    )
    assert api.get(url, headers=member).json()["enabled"] is False
    assert api.put(url, json={"namespaces": ["shop"]}, headers=viewer).status_code == 403
    assert api.put(url, json={"namespaces": ["shop"]}, headers=other).status_code == 404
    assert api.get(url, headers=other).status_code == 404
    bad = api.put(url, json={"namespaces": ["Not_A_Namespace"]}, headers=member)
    assert bad.status_code == 422
    on = api.put(url, json={"namespaces": ["shop"]}, headers=member)
    assert on.status_code == 200 and on.json()["namespaces"] == ["shop"]
    assert api.get(url, headers=viewer).json()["enabled"] is True
    off = api.delete(url, headers=member)
    assert off.status_code == 200 and off.json()["enabled"] is False
