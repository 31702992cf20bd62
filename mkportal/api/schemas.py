"""Request bodies and paginated responses of the REST API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mkportal.services.pagination import Page


class Body(BaseModel):
    """Base for request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class LoginBody(Body):
    """Credentials for a session token."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class ProfileBody(Body):
    """Profile changes."""

    name: str | None = Field(default=None, max_length=100)
    notifications: dict[str, bool] | None = None


class PasswordBody(Body):
    """A password change."""

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class OrgBody(Body):
    """A new organisation."""

    name: str = Field(min_length=1, max_length=100)


class RoleBody(Body):
    """A member's new role."""

    role: str


class InviteBody(Body):
    """An invitation."""

    email: str = Field(max_length=254)
    role: str = "member"


class TokenBody(Body):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100)
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class OperationBody(Body):
    """A requested operation."""

    kind: str = Field(min_length=1, max_length=64)
    cluster_id: str | None = Field(default=None, max_length=32)
    params: dict[str, Any] = Field(default_factory=dict)


def page_json(page: Page) -> dict:
    """Render a Page as the API's list envelope."""
    return {
        "items": page.items,
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
    }
