"""An ApiClient for a cluster, built from its kubeconfig."""

from __future__ import annotations

import yaml
from kubernetes import client, config


def api_client(kubeconfig_yaml: str) -> client.ApiClient:
    """Return an ApiClient configured from a kubeconfig document (no files written)."""
    cfg = client.Configuration()
    loader = config.kube_config.KubeConfigLoader(config_dict=yaml.safe_load(kubeconfig_yaml))
    loader.load_and_set(cfg)
    cfg.retries = 2
    return client.ApiClient(cfg)
