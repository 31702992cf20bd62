"""Which providers are enabled (`PROVIDERS`), and their adapters.

The sandbox is built in. The cloud adapters are imported only when used, and are
configured from the settings (`EKS_*`, `GKE_*`, `AKS_*`) overlaid with the credentials
an operator stored (encrypted) in the admin console or through the API.
"""

from __future__ import annotations

import importlib

from mkportal.services.providers.base import ClusterProvider
from mkportal.settings import Settings, get_settings

ADAPTERS = {
    "sandbox": "mkportal.services.providers.sandbox:SandboxProvider",
    "eks": "mkportal.services.providers.eks:EksProvider",
    "gke": "mkportal.services.providers.gke:GkeProvider",
    "aks": "mkportal.services.providers.aks:AksProvider",
}


def provider_names() -> list[str]:
    """Return the enabled providers, in the configured order."""
    return [p for p in get_settings().providers if p in ADAPTERS]


_cache: dict[tuple[str, int, str], ClusterProvider] = {}


def _adapter(name: str, version: str, settings: Settings) -> ClusterProvider:
    key = (name, id(get_settings()), version)
    if key not in _cache:
        module, _, cls = ADAPTERS[name].partition(":")
        _cache[key] = getattr(importlib.import_module(module), cls)(settings)
    return _cache[key]


def get_provider(name: str) -> ClusterProvider:
    """Return the adapter for `name`, rebuilt when settings or stored credentials change.

    Raises:
        KeyError: Unknown provider.
    """
    from mkportal.services.provider_credentials import effective_settings

    if name not in ADAPTERS:
        raise KeyError(name)
    if name == "sandbox":
        return _adapter(name, "", get_settings())
    settings, version = effective_settings(name)
    return _adapter(name, version, settings)
