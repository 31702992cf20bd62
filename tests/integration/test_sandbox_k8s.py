"""The sandbox clusters' Kubernetes API with real kubectl and the official Python client."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from mkportal.api.sandbox_k8s import server as sandbox_server
from mkportal.services.clusters import actions
from mkportal.services.clusters.kubeconfig import kubeconfig
from mkportal.services.kube import features
from mkportal.services.kube.client import api_client
from mkportal.settings import get_settings
from tests.unit.test_clusters import _req, _run

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = str(ROOT / ".venv" / "bin" / "kubectl")

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: %d
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
          ports: [{containerPort: 80}]
"""

SERVICE_AND_PVC = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 5Gi}}
"""


@pytest.fixture
def portal_url(db, monkeypatch) -> str:
    """The sandbox API's HTTPS listener on a free port (kubeconfigs point at it)."""
    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")
    monkeypatch.setenv("PROVIDER_INLINE_WAIT", "5")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("SANDBOX_API_PORT", str(port))
    get_settings.cache_clear()
    server = sandbox_server.start()
    assert server is not None and server.started
    yield get_settings().sandbox_api_url
    server.should_exit = True


@pytest.fixture
def running(portal_url, two_orgs, tmp_path) -> dict:
    """A running two-node sandbox cluster and its kubeconfig file."""
    actor = two_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _req(name="k8s"))
    assert _run(op.id) == "succeeded"
    _name, text = kubeconfig(actor, cluster.id)
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    return {"actor": actor, "id": cluster.id, "kubeconfig": path, "text": text}


def kubectl(cfg: Path, *args: str, stdin: str | None = None, check: bool = True) -> str:
    out = subprocess.run(
        [KUBECTL, "--kubeconfig", str(cfg), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert out.returncode == 0, out.stderr
    return out.stdout if check else out.stdout + out.stderr


def test_kubectl_get_nodes_lists_one_ready_node_per_pool_member(running):
    out = kubectl(running["kubeconfig"], "get", "nodes")
    lines = out.strip().splitlines()
    assert lines[0].split()[:2] == ["NAME", "STATUS"]
    assert len(lines) == 3 and all(" Ready " in line for line in lines[1:])
    nodes = json.loads(kubectl(running["kubeconfig"], "get", "nodes", "-o", "json"))
    assert {n["metadata"]["labels"]["mkportal.io/pool"] for n in nodes["items"]} == {"default"}
    assert "v1.35" in kubectl(running["kubeconfig"], "version")


def test_kubectl_apply_scale_and_delete_a_deployment(running):
    cfg = running["kubeconfig"]
    assert "created" in kubectl(cfg, "apply", "-f", "-", stdin=DEPLOYMENT % 2)
    deploy = json.loads(kubectl(cfg, "get", "deploy", "web", "-o", "json"))
    assert deploy["status"]["readyReplicas"] == 2
    assert "2/2" in kubectl(cfg, "get", "deploy")
    pods = kubectl(cfg, "get", "pods", "-l", "app=web").strip().splitlines()[1:]
    assert len(pods) == 2 and all("Running" in p for p in pods)
    assert "configured" in kubectl(cfg, "apply", "-f", "-", stdin=DEPLOYMENT % 3)
    assert len(kubectl(cfg, "get", "pods", "-o", "name").split()) == 3
    assert "unchanged" in kubectl(cfg, "apply", "-f", "-", stdin=DEPLOYMENT % 3)
    pod = kubectl(cfg, "get", "pods", "-o", "name").split()[0]
    assert "nginx started" in kubectl(cfg, "logs", pod)
    kubectl(cfg, "delete", "deploy", "web")
    assert kubectl(cfg, "get", "pods", "-o", "name").strip() == ""
    missing = kubectl(cfg, "get", "deploy", "web", check=False)
    assert "NotFound" in missing or "not found" in missing


def test_load_balancer_gets_an_address_pvc_binds_and_namespace_delete_cascades(running):
    cfg = running["kubeconfig"]
    kubectl(cfg, "apply", "-f", "-", stdin=SERVICE_AND_PVC)
    svc = json.loads(kubectl(cfg, "-n", "shop", "get", "svc", "web", "-o", "json"))
    assert svc["status"]["loadBalancer"]["ingress"][0]["ip"].startswith("203.0.113.")
    assert svc["spec"]["clusterIP"].startswith("10.")
    pvc = json.loads(kubectl(cfg, "-n", "shop", "get", "pvc", "data", "-o", "json"))
    assert pvc["status"]["phase"] == "Bound"
    assert "shop" in kubectl(cfg, "get", "ns")
    kubectl(cfg, "delete", "ns", "shop")
    assert "shop" not in kubectl(cfg, "get", "ns")
    assert "No resources" in kubectl(cfg, "get", "svc", "-A", check=False) or "web" not in kubectl(
        cfg, "get", "svc", "-A"
    )


def test_features_install_through_the_python_client(running):
    api = api_client(running["text"])
    for slug in ("log-agent", "ingress-controller"):
        features.apply(api, slug)
        features.apply(api, slug)
        assert features.status(api, slug) == "ready"
    features.remove(api, "log-agent")
    assert features.status(api, "log-agent") == "missing"
    pods = client.CoreV1Api(api).list_namespaced_pod("mk-ingress-controller")
    assert len(pods.items) == 1


def test_wrong_tokens_and_rotated_credentials_are_refused(running, two_orgs, tmp_path):
    cfg = running["kubeconfig"]
    bad = tmp_path / "bad"
    bad.write_text(running["text"].replace("token: sbx_", "token: sbx_x"))
    assert "must be logged in" in kubectl(bad, "get", "nodes", check=False)
    op = actions.rotate_credentials(running["actor"], running["id"])
    assert _run(op.id) == "succeeded"
    assert "must be logged in" in kubectl(cfg, "get", "nodes", check=False)
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api_client(running["text"])).list_node()
    assert err.value.status == 401
    _name, fresh = kubeconfig(running["actor"], running["id"])
    cfg.write_text(fresh)
    assert len(kubectl(cfg, "get", "nodes", "-o", "name").split()) == 2


def test_one_clusters_token_does_not_open_another_cluster(running, two_orgs, tmp_path):
    other, op, _ = actions.create_cluster(two_orgs["globex_owner"], _req(name="other"))
    assert _run(op.id) == "succeeded"
    _name, other_text = kubeconfig(two_orgs["globex_owner"], other.id)
    mine = running["text"]
    server = next(line for line in mine.splitlines() if "server:" in line)
    other_server = next(line for line in other_text.splitlines() if "server:" in line)
    crossed = tmp_path / "crossed"
    crossed.write_text(other_text.replace(other_server, server))
    assert "must be logged in" in kubectl(crossed, "get", "pods", "-A", check=False)
