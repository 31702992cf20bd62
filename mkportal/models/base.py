"""Shared column helpers for the SQLModel tables."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """Return a new random, unguessable primary key."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)
