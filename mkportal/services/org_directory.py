"""The operators' directory of organisations and their clusters (for admin forms)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.models.org import Organization
from mkportal.services.actor import Actor

MAX_ROWS = 500


@dataclass(frozen=True)
class Choice:
    """An id and the name shown for it."""

    id: str
    name: str


def organisations(actor: Actor, *, limit: int = MAX_ROWS) -> list[Choice]:
    """Return every organisation by name (operators only).

    Raises:
        NotFound: Not an operator.

    """
    actor.require_operator()
    with session_scope() as s:
        rows = s.exec(
            select(Organization.id, Organization.name)
            .order_by(col(Organization.name), col(Organization.id))
            .limit(max(1, min(limit, MAX_ROWS)))
        ).all()
    return [Choice(i, n) for i, n in rows]


def org_clusters(actor: Actor, org_id: str, *, limit: int = MAX_ROWS) -> list[Choice]:
    """Return an organisation's clusters by name, deleted ones included (operators only).

    Raises:
        NotFound: Not an operator.

    """
    actor.require_operator()
    with session_scope() as s:
        rows = s.exec(
            select(Cluster.id, Cluster.name)
            .where(Cluster.org_id == org_id)
            .order_by(col(Cluster.name), col(Cluster.id))
            .limit(max(1, min(limit, MAX_ROWS)))
        ).all()
    return [Choice(i, n) for i, n in rows]
