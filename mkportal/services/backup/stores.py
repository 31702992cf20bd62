"""The archive stores: files below a local directory, or objects in an S3 bucket.

Keys look like ``<cluster_id>/<backup_id>.mkb``; they are checked so no key can leave
its store. Errors are `StoreError` with a message that is safe to show.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$")


class StoreError(Exception):
    """Reading or writing the backup storage failed; the message is safe to show."""


class ObjectMissing(StoreError):
    """The requested archive does not exist in the storage."""


class Store(Protocol):
    """A flat key/value store of archives (keys such as ``<cluster_id>/<backup_id>.mkb``)."""

    kind: str

    def put(self, key: str, data: bytes) -> None:
        """Write (or overwrite) `key`."""

    def get(self, key: str) -> bytes:
        """Return the bytes of `key`; raise ObjectMissing when it does not exist."""

    def delete(self, key: str) -> None:
        """Remove `key` (no error when it does not exist)."""

    def exists(self, key: str) -> bool:
        """Whether `key` exists."""


def _check_key(key: str) -> str:
    if not KEY_RE.match(key) or len(key) > 400:
        raise StoreError(f"Invalid storage key {key!r}.")
    return key


class LocalStore:
    """Archives as files below a directory; writes are atomic (temp file, then rename)."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        """Keep archives below `root` (created on first write)."""
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes) -> None:
        """Write `key` atomically."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"Could not write the archive: {exc.strerror or exc}") from exc

    def get(self, key: str) -> bytes:
        """Return the bytes of `key`."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(f"The archive {key} is not in the backup storage.") from None
        except OSError as exc:
            raise StoreError(f"Could not read the archive: {exc.strerror or exc}") from exc

    def delete(self, key: str) -> None:
        """Remove `key` if present."""
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
            if path.parent != self.root and path.parent.is_dir():
                with contextlib.suppress(OSError):
                    path.parent.rmdir()  # only when empty
        except OSError as exc:
            raise StoreError(f"Could not delete the archive: {exc.strerror or exc}") from exc

    def exists(self, key: str) -> bool:
        """Whether `key` exists."""
        return self._path(key).is_file()


class S3Store:
    """Archives as objects in an S3 bucket below an optional prefix."""

    kind = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str = "",
        region: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
    ) -> None:
        """Build the boto3 client (path-style addressing for custom endpoints)."""
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            ),
        )

    def _key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _error(self, exc: Exception, what: str) -> StoreError:
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            return StoreError(
                f"S3 refused to {what} in bucket {self.bucket}: "
                f"{err.get('Code', '?')} {err.get('Message', '')}".strip()
            )
        return StoreError(f"S3 is unreachable ({what}): {exc}")

    def put(self, key: str, data: bytes) -> None:
        """Upload `key`."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "write the archive") from exc

    def get(self, key: str) -> bytes:
        """Download `key`."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectMissing(f"The archive {key} is not in the backup storage.") from None
            raise self._error(exc, "read the archive") from exc
        except BotoCoreError as exc:
            raise self._error(exc, "read the archive") from exc

    def delete(self, key: str) -> None:
        """Delete `key` (S3 deletes are idempotent)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "delete the archive") from exc

    def exists(self, key: str) -> bool:
        """Whether `key` exists."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise self._error(exc, "look up the archive") from exc
        except BotoCoreError as exc:
            raise self._error(exc, "look up the archive") from exc
