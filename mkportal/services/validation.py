"""Small input rules shared by services."""

from __future__ import annotations

import re

from mkportal.services.errors import Invalid

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SLUG = re.compile(r"[^a-z0-9]+")
MIN_PASSWORD = 10


def clean_email(value: str, field: str = "email") -> str:
    """Return the lower-cased email or raise Invalid."""
    email = (value or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise Invalid({field: "Enter a valid email address, like name@example.com."})
    return email


def check_password(value: str, field: str = "password") -> str:
    """Return the password or raise Invalid when it is too weak."""
    if len(value or "") < MIN_PASSWORD:
        raise Invalid({field: f"Use at least {MIN_PASSWORD} characters."})
    if len(value) > 1024:
        raise Invalid({field: "Use at most 1024 characters."})
    return value


def clean_name(value: str, field: str = "name", *, max_len: int = 100) -> str:
    """Return a stripped, non-empty display name or raise Invalid."""
    name = (value or "").strip()
    if not name:
        raise Invalid({field: "This field is required."})
    if len(name) > max_len:
        raise Invalid({field: f"Use at most {max_len} characters."})
    return name


def slugify(value: str) -> str:
    """Return a DNS-label-like slug for an organisation name."""
    return _SLUG.sub("-", value.lower()).strip("-")[:63] or "org"
