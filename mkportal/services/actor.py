"""The Actor: who is calling a service, in which organisation, with which role."""

from __future__ import annotations

from dataclasses import dataclass

from mkportal.models.org import ROLE_RANK, Role
from mkportal.services.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of a service function.

    Attributes:
        user_id: The user's id, or None for the system itself (worker, CLI).
        email: The user's email (for the audit log).
        org_id: The organisation the caller acts in (None for system or org-less operators).
        role: The caller's role in `org_id`.
        is_operator: Whether the caller is a VSHNeer (operator staff).
        ip: The source address of the request, for the audit log.

    """

    user_id: str | None
    email: str
    org_id: str | None
    role: str | None
    is_operator: bool = False
    ip: str = ""

    @classmethod
    def system(cls, reason: str = "system") -> Actor:
        """Return the actor used by the worker and the CLI."""
        return cls(user_id=None, email=reason, org_id=None, role=None, is_operator=True)

    def can_see_org(self, org_id: str | None) -> bool:
        """Whether rows of `org_id` are visible to this actor."""
        return self.is_operator or (org_id is not None and org_id == self.org_id)

    def require_org(self, org_id: str | None) -> None:
        """Raise NotFound (never Forbidden) for another organisation's rows."""
        if not self.can_see_org(org_id):
            raise NotFound("Not found.")

    def require_role(self, minimum: Role) -> None:
        """Raise Forbidden unless the actor has at least `minimum` in its org (operators pass)."""
        if self.is_operator:
            return
        if (
            self.org_id is None
            or ROLE_RANK.get(Role(self.role or "viewer"), 0) < ROLE_RANK[minimum]
        ):
            raise Forbidden(f"This needs the {minimum.value} role in the organisation.")

    def require_operator(self) -> None:
        """Raise NotFound unless the actor is an operator (the admin area does not exist for others)."""
        if not self.is_operator:
            raise NotFound("Not found.")
