"""Taking a snapshot of a cluster's objects, and the archive format it is stored in.

`snapshot(api)` walks the API discovery (core, every group's preferred version, and so
CRDs and their custom resources), lists every resource that can be listed and created,
and keeps the cleaned objects (`cleaning.clean_object`). `pack` writes them with the
cluster's configuration as gzip-compressed JSON encrypted with Fernet; Secret data is
encrypted once more, with a key of its own, so it never appears in the archive's plain
JSON. `unpack` checks the stored checksum, decrypts, and verifies the objects' checksum
recorded in the manifest: a changed or damaged archive is refused with a readable error.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from kubernetes import client
from kubernetes.client.rest import ApiException

from mkportal.models.base import utcnow
from mkportal.services.backup.cleaning import (
    clean_object,
    counts_of,
    object_id,
    objects_checksum,
    skip_kind,
    sort_key,
)
from mkportal.services.errors import Invalid
from mkportal.settings import get_settings

FORMAT = "mkportal-backup/1"
PAGE_SIZE = 500
SKIPPED_LIST_STATUSES = (403, 404, 405)
SECRET_FIELDS = ("data", "stringData")


@dataclass
class Snapshot:
    """The cleaned objects of a cluster at one moment (Secrets still in plain form)."""

    objects: list[dict]
    k8s_version: str
    counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)


@dataclass
class Packed:
    """An archive ready to store: its bytes, its manifest and the SHA-256 of the bytes."""

    data: bytes
    manifest: dict
    checksum: str


@dataclass
class Archive:
    """A verified, decrypted archive (Secrets in plain form again)."""

    manifest: dict
    config: dict
    objects: list[dict]

    @property
    def k8s_version(self) -> str:
        """The Kubernetes version of the cluster the backup was taken from."""
        return self.manifest.get("k8s_version", "")

    @property
    def counts(self) -> dict[str, int]:
        """Objects per kind (``{"core/ConfigMap": 3, ...}``)."""
        return dict(self.manifest.get("counts", {}))


def get_json(api: client.ApiClient, path: str, query: dict | None = None) -> dict:
    """GET a path of a cluster's API and return the decoded JSON.

    Raises:
        ApiException: The API answered with an error status.

    """
    request = api.param_serialize(
        "GET",
        path,
        query_params=list((query or {}).items()),
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(*request, _request_timeout=60)
    response.read()
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(
            http_resp=response, body=response.data.decode(errors="replace"), data=None
        )
    return json.loads(response.data)


def _resources(api: client.ApiClient) -> list[tuple[str, dict]]:
    """Return (groupVersion, resource) for everything a backup lists."""
    versions = [("v1", "/api/v1")]
    for group in get_json(api, "/apis").get("groups", []):
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        if preferred:
            versions.append((preferred, f"/apis/{preferred}"))
    out, seen = [], set()
    for group_version, path in versions:
        group = group_version.split("/", 1)[0] if "/" in group_version else ""
        for res in get_json(api, path).get("resources", []):
            verbs = set(res.get("verbs", []))
            kind = res.get("kind", "")
            if "/" in res.get("name", "") or not {"list", "create"} <= verbs:
                continue
            if skip_kind(group, kind) or (group, kind) in seen:
                continue
            seen.add((group, kind))
            out.append((group_version, {**res, "path": path}))
    return out


def _list_all(api: client.ApiClient, group_version: str, res: dict) -> list[dict]:
    items, token = [], ""
    while True:
        query = {"limit": str(PAGE_SIZE), **({"continue": token} if token else {})}
        page = get_json(api, f"{res['path']}/{res['name']}", query)
        for obj in page.get("items", []):
            obj["apiVersion"], obj["kind"] = group_version, res["kind"]
            items.append(obj)
        token = (page.get("metadata") or {}).get("continue") or ""
        if not token:
            return items


def snapshot(api: client.ApiClient) -> Snapshot:
    """Read every backed-up object of a cluster.

    Args:
        api: A client for the cluster.

    Returns:
        The cleaned objects in restore order, the cluster's version and counts per kind.
        Kinds the API refuses to list (forbidden, gone) are named in `warnings`.

    Raises:
        kubernetes.ApiException, urllib3.exceptions.HTTPError: The API failed.

    """
    version = get_json(api, "/version").get("gitVersion", "")
    objects, warnings = [], []
    for group_version, res in _resources(api):
        try:
            listed = _list_all(api, group_version, res)
        except ApiException as exc:
            if exc.status not in SKIPPED_LIST_STATUSES:
                raise
            warnings.append(f"{res['name']}.{group_version}: not listed ({exc.status})")
            continue
        objects.extend(o for o in map(clean_object, listed) if o is not None)
    objects.sort(key=sort_key)
    return Snapshot(objects, version, counts_of(objects), warnings)


@lru_cache
def _fernet(secret_key: str, purpose: str) -> Fernet:
    digest = hashlib.sha256(f"mkportal-backup-{purpose}:{secret_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _key(purpose: str) -> Fernet:
    return _fernet(get_settings().secret_key, purpose)


def _seal_secrets(objects: list[dict]) -> tuple[list[dict], dict[str, str]]:
    sealed, kept = {}, []
    secret_key = _key("secrets")
    for obj in objects:
        if obj.get("kind") == "Secret" and "/" not in obj.get("apiVersion", "v1"):
            values = {f: obj[f] for f in SECRET_FIELDS if f in obj}
            if values:
                obj = {k: v for k, v in obj.items() if k not in SECRET_FIELDS}
                sealed[object_id(obj)] = secret_key.encrypt(json.dumps(values).encode()).decode()
        kept.append(obj)
    return kept, sealed


def pack(snap: Snapshot, config: dict) -> Packed:
    """Write a snapshot and the cluster's configuration as an encrypted archive.

    Args:
        snap: The cluster's objects.
        config: The portal-side configuration of the cluster at backup time.

    Returns:
        The archive bytes, the manifest (format, created_at, k8s_version, counts,
        object_count, objects_checksum) and the SHA-256 of the bytes.

    """
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "k8s_version": snap.k8s_version,
        "counts": counts_of(snap.objects),
        "object_count": len(snap.objects),
        "objects_checksum": objects_checksum(snap.objects),
        "warnings": list(snap.warnings),
    }
    objects, sealed = _seal_secrets(snap.objects)
    body = {"manifest": manifest, "config": config, "objects": objects, "secrets": sealed}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    data = _key("archive").encrypt(gzip.compress(raw, compresslevel=6))
    return Packed(data, manifest, hashlib.sha256(data).hexdigest())


def _corrupt(message: str) -> Invalid:
    return Invalid({"backup": message})


def _open_secrets(objects: list[dict], sealed: dict[str, str]) -> list[dict]:
    secret_key = _key("secrets")
    out = []
    for obj in objects:
        token = sealed.get(object_id(obj)) if obj.get("kind") == "Secret" else None
        if token is not None:
            obj = {**obj, **json.loads(secret_key.decrypt(token.encode()))}
        out.append(obj)
    return out


def unpack(data: bytes, checksum: str) -> Archive:
    """Verify and open an archive.

    Args:
        data: The stored bytes.
        checksum: The SHA-256 recorded in the catalog when the backup was taken.

    Returns:
        The manifest, the configuration and the objects (Secrets decrypted).

    Raises:
        Invalid: ``{"backup": ...}`` when the archive was changed, damaged, or was written
            with another portal key.

    """
    if hashlib.sha256(data).hexdigest() != checksum:
        raise _corrupt(
            "The archive does not match its recorded checksum: it was changed or damaged "
            "after the backup was taken. Choose another backup."
        )
    try:
        body = json.loads(gzip.decompress(_key("archive").decrypt(data)))
        manifest, objects = body["manifest"], body["objects"]
        if manifest.get("format") != FORMAT:
            raise _corrupt(f"The archive has an unknown format {manifest.get('format')!r}.")
        objects = _open_secrets(objects, body.get("secrets") or {})
    except InvalidToken:
        raise _corrupt(
            "The archive cannot be decrypted: it was written with another portal key or is damaged."
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _corrupt(f"The archive is damaged ({type(exc).__name__}).") from None
    if objects_checksum(objects) != manifest.get("objects_checksum"):
        raise _corrupt("The archive's objects do not match its manifest: it is damaged.")
    return Archive(manifest, body.get("config") or {}, objects)
