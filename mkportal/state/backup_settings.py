"""State of /settings/backups: where the organisation's backups are stored (owners change it).

Members and viewers see the kind and location; no secret is ever sent to the browser.
Saving S3 settings checks that the portal can write and read a probe object first.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from mkportal.services.actor import Actor
from mkportal.services.backup import storage
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.session import SessionState

KINDS = [
    {"value": "local", "label": "Local directory on the portal (default)"},
    {"value": "s3", "label": "S3-compatible object storage"},
]
S3_FIELDS = ("bucket", "prefix", "endpoint_url", "region", "access_key_id", "secret_access_key")


def storage_row(view: Any) -> dict[str, str]:
    """Turn a StorageView into the strings the page shows (it carries no secret)."""
    return {
        "kind": view.kind,
        "bucket": view.bucket,
        "prefix": view.prefix,
        "endpoint_url": view.endpoint_url,
        "region": view.region,
        "access_key_id": view.access_key_id,
        "has_credentials": "yes" if view.has_credentials else "",
        "updated_by": view.updated_by or "–",
        "updated_at": when(view.updated_at) or "–",
        "location": view.location,
    }


class BackupSettingsState(SessionState):
    """The organisation's backup storage."""

    current: dict[str, str] = {}
    kind: str = "local"
    can_manage: bool = False
    loaded: bool = False
    field_errors: dict[str, str] = {}

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the organisation's backup storage."""
        self.field_errors = {}
        self.can_manage = actor.is_operator or actor.role == "owner"
        self.current = storage_row(storage.get_storage(actor))
        self.kind = self.current["kind"]
        self.loaded = True

    @rx.event
    def set_kind(self, value: str) -> None:
        """Choose local or S3 storage (the form shows the S3 fields)."""
        self.kind = "s3" if value == "s3" else "local"

    @rx.event
    @authed
    def save(self, actor: Actor, form: dict):  # noqa: ANN201
        """Save the storage (owners); S3 is checked with a probe object first."""
        self.field_errors = {}
        data: dict[str, str] = {"kind": self.kind}
        if self.kind == "s3":
            data.update({f: str(form.get(f, "")).strip() for f in S3_FIELDS})
        self.current = storage_row(storage.set_storage(actor, data))
        self.kind = self.current["kind"]
        return rx.toast.success("Backup storage saved: new backups go there.")
