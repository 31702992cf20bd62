"""Operator-stored provider credentials: encrypted, operator-only, applied to adapters."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.provider import ProviderCredential
from mkportal.services import provider_credentials as pc
from mkportal.services.errors import Invalid, NotFound


def test_store_and_apply(two_orgs):
    ops = two_orgs["operator"]
    with pytest.raises(NotFound):
        pc.set_credentials(two_orgs["acme_owner"], "eks", {"region": "eu-west-1"})
    with pytest.raises(Invalid):
        pc.set_credentials(ops, "eks", {"password": "x"})
    with pytest.raises(Invalid):
        pc.set_credentials(ops, "ibm", {})
    st = pc.set_credentials(ops, "eks", {"region": "eu-west-1", "secret_access_key": "s3cr3t"})
    assert st.configured_keys == ["region", "secret_access_key"]
    with session_scope() as s:
        row = s.exec(select(ProviderCredential)).one()
        assert "s3cr3t" not in row.data_enc
    settings, version = pc.effective_settings("eks")
    assert settings.eks_region == "eu-west-1" and settings.eks_secret_access_key == "s3cr3t"
    assert version
    assert [x.provider for x in pc.status(ops)] == ["eks", "gke", "aks"]
