"""Random tokens, their hashes, password hashing and encryption at rest."""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet

from mkportal.settings import get_settings

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def new_token(prefix: str) -> str:
    """Return a new random token such as ``mkp_...``."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; spends the same time when the user does not exist."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache
def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(("mkportal-fernet:" + secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plain: str) -> str:
    """Encrypt a secret for storage, with a key derived from SECRET_KEY."""
    return _fernet(get_settings().secret_key).encrypt(plain.encode()).decode()


def decrypt(cipher: str) -> str:
    """Decrypt a value produced by `encrypt`."""
    return _fernet(get_settings().secret_key).decrypt(cipher.encode()).decode()
