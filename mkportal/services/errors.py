"""Errors raised by services; the API and the UI translate them for the caller."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: `message` is safe to show to the user."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(ServiceError):
    """No valid session or token."""

    status = 401


class Forbidden(ServiceError):
    """Signed in, in the right organisation, but the role does not allow it."""

    status = 403


class NotFound(ServiceError):
    """Missing, or outside the caller's organisation (never distinguished)."""

    status = 404


class Conflict(ServiceError):
    """A name is taken or a conflicting operation is in progress."""

    status = 409


class RateLimited(ServiceError):
    """Too many attempts; retry later."""

    status = 429


class Invalid(ServiceError):
    """Bad input, with messages per field path (e.g. ``{"email": "..."}``)."""

    status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
