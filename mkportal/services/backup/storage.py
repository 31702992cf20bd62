"""Where backup archives are kept: a local directory per organisation, or an S3 bucket.

`store_for(org_id)` returns the organisation's store. Without a `BackupStorage` row the
archives go to ``var/backups/<org_id>/``. S3 storage (any S3-compatible endpoint) keeps
its access key encrypted at rest; owners set it with `set_storage`, which checks that the
portal can write, read and delete a probe object before saving.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from mkportal.db import session_scope
from mkportal.models.backup import BackupStorage
from mkportal.models.base import utcnow
from mkportal.models.org import Role
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.backup.stores import (
    LocalStore,
    ObjectMissing,
    S3Store,
    Store,
    StoreError,
)
from mkportal.services.errors import Invalid
from mkportal.services.secrets import decrypt, encrypt
from mkportal.settings import get_settings

__all__ = [
    "LocalStore",
    "ObjectMissing",
    "S3Store",
    "Store",
    "StoreError",
    "StorageView",
    "get_storage",
    "local_root",
    "probe",
    "set_storage",
    "storage_kind",
    "store_for",
]
KINDS = ("local", "s3")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")
REGION_RE = re.compile(r"^[a-z0-9-]{0,64}$")
FIELDS = {
    "kind",
    "bucket",
    "prefix",
    "endpoint_url",
    "region",
    "access_key_id",
    "secret_access_key",
}


def local_root(org_id: str) -> Path:
    """Return the directory of an organisation's local archives."""
    return get_settings().var_dir / "backups" / org_id


def _s3_store(row: BackupStorage) -> S3Store:
    creds = json.loads(decrypt(row.credentials_enc)) if row.credentials_enc else {}
    return S3Store(
        row.bucket,
        prefix=row.prefix,
        endpoint_url=row.endpoint_url,
        region=row.region,
        access_key_id=creds.get("access_key_id", ""),
        secret_access_key=creds.get("secret_access_key", ""),
    )


def storage_kind(org_id: str) -> str:
    """Return the kind of store ("local" or "s3") new archives of an organisation go to."""
    with session_scope() as s:
        row = s.get(BackupStorage, org_id)
        return row.kind if row is not None else "local"


def store_for(org_id: str, kind: str | None = None) -> Store:
    """Return the store an organisation's archives go to.

    Args:
        org_id: The organisation.
        kind: The storage kind an existing archive was written to (its Backup row's
            `storage_kind`); local archives stay readable after a switch to S3.

    Raises:
        StoreError: `kind` is "s3" but the organisation no longer uses S3 storage.

    """
    with session_scope() as s:
        row = s.get(BackupStorage, org_id)
        if row is not None:
            s.expunge(row)
    if kind == "local" or row is None or row.kind == "local":
        if kind == "s3":
            raise StoreError("This archive is in S3 storage that is no longer configured.")
        return LocalStore(local_root(org_id))
    return _s3_store(row)


@dataclass
class StorageView:
    """An organisation's backup storage as shown to its members (never the secret key)."""

    org_id: str
    kind: str
    location: str
    bucket: str
    prefix: str
    endpoint_url: str
    region: str
    access_key_id: str
    has_credentials: bool
    updated_by: str
    updated_at: datetime | None


def _view(org_id: str, row: BackupStorage | None) -> StorageView:
    if row is None or row.kind == "local":
        return StorageView(
            org_id=org_id,
            kind="local",
            location="Portal server (local disk)",
            bucket="",
            prefix="",
            endpoint_url="",
            region="",
            access_key_id="",
            has_credentials=False,
            updated_by=row.updated_by if row else "",
            updated_at=row.updated_at if row else None,
        )
    creds = json.loads(decrypt(row.credentials_enc)) if row.credentials_enc else {}
    key_id = creds.get("access_key_id", "")
    shown = f"…{key_id[-4:]}" if len(key_id) > 4 else ""
    location = f"s3://{row.bucket}/{row.prefix}".rstrip("/")
    if row.endpoint_url:
        location += f" at {row.endpoint_url}"
    return StorageView(
        org_id=org_id,
        kind="s3",
        location=location,
        bucket=row.bucket,
        prefix=row.prefix,
        endpoint_url=row.endpoint_url,
        region=row.region,
        access_key_id=shown,
        has_credentials=bool(creds),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _org(actor: Actor) -> str:
    if actor.org_id is None:
        raise Invalid({"org": "Choose an organisation first."})
    return actor.org_id


def get_storage(actor: Actor) -> StorageView:
    """Return the caller's organisation's backup storage (any role).

    Raises:
        Invalid: The caller acts in no organisation.

    """
    org_id = _org(actor)
    actor.require_role(Role.viewer)
    with session_scope() as s:
        return _view(org_id, s.get(BackupStorage, org_id))


def _clean_endpoint(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    url = urlparse(value)
    if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
        raise Invalid({"endpoint_url": "Use an http(s) URL such as https://s3.example.com."})
    if url.scheme == "http" and not _is_local(url.hostname):
        raise Invalid({"endpoint_url": "Use https (plain http only for a local test endpoint)."})
    return value.rstrip("/")


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _clean_s3(data: dict, old: BackupStorage | None) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    bucket = str(data.get("bucket") or "").strip()
    prefix = str(data.get("prefix") or "").strip().strip("/")
    region = str(data.get("region") or "").strip()
    if not BUCKET_RE.match(bucket) or ".." in bucket or _is_ip(bucket):
        errors["bucket"] = "Use 3-63 lowercase letters, digits, dots and hyphens."
    if len(prefix) > 200 or not PREFIX_RE.match(prefix) or ".." in prefix.split("/"):
        errors["prefix"] = "Use up to 200 letters, digits and / ! - _ . * ' ( )."
    if not REGION_RE.match(region):
        errors["region"] = "Use a region name such as eu-central-1."
    try:
        endpoint = _clean_endpoint(str(data.get("endpoint_url") or ""))
    except Invalid as exc:
        errors.update(exc.errors)
        endpoint = ""
    key_id = str(data.get("access_key_id") or "").strip()
    secret = str(data.get("secret_access_key") or "").strip()
    old_creds = json.loads(decrypt(old.credentials_enc)) if old and old.credentials_enc else {}
    same_endpoint = old is not None and old.kind == "s3" and old.endpoint_url == endpoint
    if not key_id and not secret and old_creds and same_endpoint:
        creds = old_creds
    elif not key_id or not secret:
        errors["access_key_id"] = (
            "Enter the access key id and the secret access key (again when the endpoint changes)."
        )
        creds = {}
    else:
        creds = {"access_key_id": key_id[:128], "secret_access_key": secret[:256]}
    if errors:
        raise Invalid(errors)
    return {"bucket": bucket, "prefix": prefix, "endpoint_url": endpoint, "region": region}, creds


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def probe(store: Store) -> None:
    """Write, read back and delete a small object.

    Raises:
        Invalid: Any of the three failed (message names the storage's answer).

    """
    key = f"_probe/{secrets.token_hex(8)}.txt"
    payload = f"mkportal probe {utcnow().isoformat()}".encode()
    try:
        store.put(key, payload)
        if store.get(key) != payload:
            raise StoreError("The probe object read back differs from what was written.")
        store.delete(key)
    except StoreError as exc:
        raise Invalid({"bucket": f"The portal cannot use this storage: {exc}"}) from exc


def set_storage(actor: Actor, data: dict) -> StorageView:
    """Set where the organisation's future backups go (owners only).

    Args:
        actor: The caller; an owner of the organisation or an operator acting in it.
        data: ``kind`` ("local" or "s3"); for S3 ``bucket``, ``prefix``, ``endpoint_url``,
            ``region``, ``access_key_id`` and ``secret_access_key`` (both omitted: keep the
            stored credentials).

    Returns:
        The new settings (without secrets).

    Raises:
        Forbidden: The caller is not an owner.
        Invalid: A malformed field, or the probe object could not be written and read.

    """
    org_id = _org(actor)
    actor.require_role(Role.owner)
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise Invalid({unknown[0]: "Unknown field."})
    kind = str(data.get("kind") or "local")
    if kind not in KINDS:
        raise Invalid({"kind": "Choose local or s3."})
    with session_scope() as s:
        old = s.get(BackupStorage, org_id)
        if old is not None:
            s.expunge(old)
    fields, creds = {"bucket": "", "prefix": "", "endpoint_url": "", "region": ""}, {}
    if kind == "s3":
        fields, creds = _clean_s3(data, old)
        probe(
            S3Store(
                fields["bucket"],
                prefix=fields["prefix"],
                endpoint_url=fields["endpoint_url"],
                region=fields["region"],
                **creds,
            )
        )
    else:
        probe(LocalStore(local_root(org_id)))
    with session_scope() as s:
        row = s.get(BackupStorage, org_id) or BackupStorage(org_id=org_id)
        row.kind = kind
        for name, value in fields.items():
            setattr(row, name, value)
        row.credentials_enc = encrypt(json.dumps(creds)) if creds else ""
        row.updated_by, row.updated_at = actor.email, utcnow()
        s.add(row)
        audit.record(
            s,
            actor,
            "backup.storage_updated",
            target_type="backup_storage",
            target_id=org_id,
            org_id=org_id,
            detail={"kind": kind, **fields},
        )
        s.flush()
        return _view(org_id, row)
