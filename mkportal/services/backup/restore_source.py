"""What a restore reads: a backup's verified archive, and a cluster's objects and kinds."""

from __future__ import annotations

from kubernetes import client

from mkportal.models.backup import Backup
from mkportal.services.backup.archive import Archive, snapshot, unpack
from mkportal.services.backup.restore_apply import discover
from mkportal.services.backup.storage import ObjectMissing, store_for
from mkportal.services.errors import Invalid


def load(backup: Backup) -> Archive:
    """Download a backup's archive and verify it (checksum, decryption, manifest).

    Raises:
        Invalid: ``{"backup": ...}`` when the archive is missing, changed or damaged.
        StoreError: The storage could not be read (may pass).
    """
    try:
        data = store_for(backup.org_id, backup.storage_kind).get(backup.storage_key)
    except ObjectMissing:
        raise Invalid(
            {"backup": "The archive of this backup is missing from the backup storage."}
        ) from None
    return unpack(data, backup.checksum)


def live(api: client.ApiClient) -> list[dict]:
    """Return a cluster's objects, cleaned exactly like a backup keeps them."""
    return snapshot(api).objects


def served(api: client.ApiClient) -> set[tuple[str, str, str]]:
    """Return the (group, version, kind) a cluster serves and can create."""
    return set(discover(api))
