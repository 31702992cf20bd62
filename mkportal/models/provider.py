"""Cloud credentials that operators store for the provider adapters (encrypted at rest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from mkportal.models.base import utcnow


class ProviderCredential(SQLModel, table=True):
    """One provider's stored configuration; `data_enc` is Fernet-encrypted JSON."""

    __tablename__ = "provider_credential"

    provider: str = Field(primary_key=True, max_length=16)
    data_enc: str = Field(sa_column=Column(Text, nullable=False))
    updated_by: str = Field(default="", max_length=254)
    updated_at: datetime = Field(default_factory=utcnow)
