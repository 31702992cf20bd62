"""Recording and reading the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.services.actor import Actor
from mkportal.services.pagination import Page, paginate


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str = "",
    target_id: str = "",
    org_id: str | None = None,
    detail: dict | None = None,
) -> None:
    """Add an audit event to `session` (it commits with the change it describes).

    Args:
        session: The open session of the change being audited.
        actor: Who did it.
        action: A dotted verb such as ``token.created``.
        target_type: The kind of thing acted on.
        target_id: Its id.
        org_id: The organisation concerned (defaults to the actor's).
        detail: Extra JSON-serialisable facts.

    """
    session.add(
        AuditEvent(
            actor_id=actor.user_id,
            actor_email=actor.email,
            org_id=org_id if org_id is not None else actor.org_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            ip=actor.ip,
            detail=detail or {},
        )
    )


@dataclass
class AuditRow:
    """An audit event as shown to operators."""

    id: str
    at: datetime
    actor_email: str
    org_id: str | None
    action: str
    target_type: str
    target_id: str
    ip: str
    detail: dict


def list_events(
    actor: Actor,
    *,
    action: str = "",
    actor_email: str = "",
    org_id: str = "",
    page: int = 1,
    per_page: int = 50,
) -> Page[AuditRow]:
    """List audit events, newest first (operators only).

    Args:
        actor: The caller; must be an operator.
        action: Keep events whose action starts with this.
        actor_email: Keep events by actors whose email contains this.
        org_id: Keep events of this organisation.
        page: 1-based page number.
        per_page: Page size (1-200).

    """
    actor.require_operator()
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if actor_email:
        query = query.where(AuditEvent.actor_email.contains(actor_email.lower()))
    if org_id:
        query = query.where(AuditEvent.org_id == org_id)
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id)
    with session_scope() as s:
        rows, total, page, per_page = paginate(s, query, page, per_page)
        items = [
            AuditRow(
                id=r.id,
                at=r.at,
                actor_email=r.actor_email,
                org_id=r.org_id,
                action=r.action,
                target_type=r.target_type,
                target_id=r.target_id,
                ip=r.ip,
                detail=r.detail,
            )
            for r in rows
        ]
    return Page(items=items, total=total, page=page, per_page=per_page)
