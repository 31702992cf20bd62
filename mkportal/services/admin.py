"""The operator console's overview: the fleet in numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.models.operation import Operation
from mkportal.models.org import Organization, User
from mkportal.services.actor import Actor
from mkportal.worker.queue import queue_depth


@dataclass
class Overview:
    """Counts for the admin home page."""

    organizations: int
    users: int
    clusters_by_status: dict[str, int] = field(default_factory=dict)
    operations_by_status: dict[str, int] = field(default_factory=dict)
    queue_depth: int = 0


def overview(actor: Actor) -> Overview:
    """Count organisations, users, clusters and operations (operators only)."""
    actor.require_operator()
    with session_scope() as s:
        orgs_n = s.exec(select(func.count()).select_from(Organization)).one()
        users_n = s.exec(select(func.count()).select_from(User)).one()
        clusters = dict(
            s.exec(
                select(Cluster.status, func.count())
                .where(Cluster.status != "deleted")
                .group_by(Cluster.status)
            ).all()
        )
        ops = dict(s.exec(select(Operation.status, func.count()).group_by(Operation.status)).all())
    try:
        depth = queue_depth()
    except Exception:  # noqa: BLE001 - the page still shows the rest
        depth = -1
    return Overview(orgs_n, users_n, clusters, ops, depth)
