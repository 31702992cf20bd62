"""Turning service views into the plain strings and dicts that Reflex state holds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any


def when(value: datetime | None) -> str:
    """Format a timestamp for tables: ``2026-11-24 13:05 UTC``, or "" for None."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return when(value)
    if value is None:
        return ""
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def row(view: Any) -> dict[str, Any]:
    """Flatten a dataclass view into a dict of display values (timestamps as text)."""
    return {f.name: _plain(getattr(view, f.name)) for f in dataclasses.fields(view)}


def rows(views: list) -> list[dict[str, Any]]:
    """Flatten a list of dataclass views (see `row`)."""
    return [row(v) for v in views]
