"""Operator-managed cloud credentials for the provider adapters (encrypted at rest).

Stored values override the matching settings (`EKS_*`, `GKE_*`, `AKS_*`) for that
provider's adapter. Secrets are never returned: reads show which keys are set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.provider import ProviderCredential
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid
from mkportal.services.secrets import decrypt, encrypt
from mkportal.settings import Settings, get_settings

FIELDS = {
    "eks": (
        "region",
        "endpoint_url",
        "access_key_id",
        "secret_access_key",
        "cluster_role_arn",
        "node_role_arn",
        "subnet_ids",
    ),
    "gke": ("project", "endpoint", "credentials_file"),
    "aks": (
        "subscription_id",
        "resource_group",
        "endpoint",
        "tenant_id",
        "client_id",
        "client_secret",
    ),
}
SECRET_FIELDS = {"secret_access_key", "client_secret"}


@dataclass
class CredentialStatus:
    """What operators see about a provider's stored configuration."""

    provider: str
    enabled: bool
    configured_keys: list[str]
    updated_by: str
    updated_at: datetime | None


def set_credentials(actor: Actor, provider: str, data: dict) -> CredentialStatus:
    """Store (replace) a provider's configuration (operators only).

    Raises:
        Invalid: Unknown provider or keys.
    """
    actor.require_operator()
    if provider not in FIELDS:
        raise Invalid({"provider": f"Choose one of: {', '.join(FIELDS)}."})
    unknown = sorted(set(data) - set(FIELDS[provider]))
    if unknown:
        raise Invalid({unknown[0]: f"Unknown key; allowed: {', '.join(FIELDS[provider])}."})
    if "subnet_ids" in data and not isinstance(data["subnet_ids"], list):
        raise Invalid({"subnet_ids": "Give a list of subnet ids."})
    with session_scope() as s:
        row = s.get(ProviderCredential, provider) or ProviderCredential(
            provider=provider, data_enc=""
        )
        row.data_enc = encrypt(json.dumps(data))
        row.updated_by = actor.email
        row.updated_at = utcnow()
        s.add(row)
        audit.record(
            s,
            actor,
            "provider.credentials_set",
            target_type="provider",
            target_id=provider,
            detail={"keys": sorted(data)},
        )
    return status(actor)[list(FIELDS).index(provider)]


def status(actor: Actor) -> list[CredentialStatus]:
    """List the cloud providers with the keys stored for each (operators only)."""
    actor.require_operator()
    enabled = set(get_settings().providers)
    out = []
    with session_scope() as s:
        for provider in FIELDS:
            row = s.get(ProviderCredential, provider)
            keys = sorted(json.loads(decrypt(row.data_enc))) if row else []
            out.append(
                CredentialStatus(
                    provider,
                    provider in enabled,
                    keys,
                    row.updated_by if row else "",
                    row.updated_at if row else None,
                )
            )
    return out


def effective_settings(provider: str) -> tuple[Settings, str]:
    """Return the settings with the stored credentials of `provider` applied, and a version.

    The version changes whenever the stored credentials change (adapters are rebuilt).
    """
    settings = get_settings()
    if provider not in FIELDS:
        return settings, ""
    with session_scope() as s:
        row = s.get(ProviderCredential, provider)
        if row is None:
            return settings, ""
        data = json.loads(decrypt(row.data_enc))
        version = row.updated_at.isoformat()
    update = {f"{provider}_{key}": value for key, value in data.items()}
    return settings.model_copy(update=update), version
