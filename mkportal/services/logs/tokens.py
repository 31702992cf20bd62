"""Per-cluster log ingest tokens: created once, shown once, stored hashed, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.logs import LogIngestToken
from mkportal.models.org import Role
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound, Unauthenticated
from mkportal.services.secrets import new_token, token_hash
from mkportal.services.validation import clean_name

INGEST_PREFIX = "mkl"


@dataclass
class IngestTokenInfo:
    """An ingest token as listed (never the secret itself)."""

    id: str
    cluster_id: str
    name: str
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class IngestIdentity:
    """Who is writing: the token, and the one cluster (and its org) it may write."""

    token_id: str
    cluster_id: str
    org_id: str


def _info(t: LogIngestToken) -> IngestTokenInfo:
    return IngestTokenInfo(
        t.id, t.cluster_id, t.name, t.prefix, t.created_by, t.created_at, t.last_used_at,
        t.revoked_at,
    )  # fmt: skip


def visible_cluster(s: Session, actor: Actor, cluster_id: str) -> Cluster:
    """Return a live cluster the actor may see.

    Raises:
        NotFound: No such cluster, deleted, or another organisation's.

    """
    row = s.get(Cluster, cluster_id)
    if row is None or row.deleted_at is not None or not actor.can_see_org(row.org_id):
        raise NotFound("Not found.")
    return row


def create_ingest_token(
    actor: Actor, cluster_id: str, name: str = "log-agent"
) -> tuple[str, IngestTokenInfo]:
    """Create an ingest token for one cluster (members and owners of its org, operators).

    Args:
        actor: The caller.
        cluster_id: The cluster whose logs the token may write.
        name: A label, e.g. "log-agent".

    Returns:
        The plain token (shown once) and its listing.

    """
    name = clean_name(name)
    plain = new_token(INGEST_PREFIX)
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        actor.require_role(Role.member)
        row = LogIngestToken(
            cluster_id=cluster.id,
            org_id=cluster.org_id,
            name=name,
            prefix=plain[:10],
            token_hash=token_hash(plain),
            created_by=actor.email,
        )
        s.add(row)
        audit.record(
            s,
            actor,
            "logs.token_created",
            target_type="cluster",
            target_id=cluster.id,
            org_id=cluster.org_id,
            detail={"token_id": row.id, "name": name},
        )
        return plain, _info(row)


def list_ingest_tokens(actor: Actor, cluster_id: str) -> list[IngestTokenInfo]:
    """List a cluster's ingest tokens, newest first (anyone who can see the cluster)."""
    with session_scope() as s:
        visible_cluster(s, actor, cluster_id)
        rows = s.exec(
            select(LogIngestToken)
            .where(LogIngestToken.cluster_id == cluster_id)
            .order_by(LogIngestToken.created_at.desc())
        ).all()
        return [_info(t) for t in rows]


def revoke_ingest_token(actor: Actor, cluster_id: str, token_id: str) -> None:
    """Revoke one of a cluster's ingest tokens (members and owners, operators).

    Raises:
        NotFound: No such token on a cluster the caller can see.

    """
    with session_scope() as s:
        cluster = visible_cluster(s, actor, cluster_id)
        row = s.get(LogIngestToken, token_id)
        if row is None or row.cluster_id != cluster.id:
            raise NotFound("Not found.")
        actor.require_role(Role.member)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            s.add(row)
            audit.record(
                s,
                actor,
                "logs.token_revoked",
                target_type="cluster",
                target_id=cluster.id,
                org_id=cluster.org_id,
                detail={"token_id": row.id, "name": row.name},
            )


def authenticate_ingest(plain: str | None) -> IngestIdentity:
    """Return the cluster an ingest token may write.

    Raises:
        Unauthenticated: Missing, unknown or revoked token, or its cluster was deleted.

    """
    if not plain or not plain.startswith(INGEST_PREFIX + "_"):
        raise Unauthenticated("A valid log ingest token is required (Bearer mkl_...).")
    with session_scope() as s:
        row = s.exec(
            select(LogIngestToken, Cluster)
            .join(Cluster, Cluster.id == LogIngestToken.cluster_id)
            .where(LogIngestToken.token_hash == token_hash(plain))
        ).first()
        if row is None:
            raise Unauthenticated("A valid log ingest token is required (Bearer mkl_...).")
        tok, cluster = row
        if tok.revoked_at is not None or cluster.deleted_at is not None:
            raise Unauthenticated("This log ingest token is revoked.")
        now = utcnow()
        if tok.last_used_at is None or (now - tok.last_used_at).total_seconds() > 60:
            tok.last_used_at = now
            s.add(tok)
        return IngestIdentity(tok.id, tok.cluster_id, tok.org_id)
