"""The in-app inbox (the bell): notices for users, unread counts, marking read.

`notify` is called by other services (alarms, ...) without an actor: the caller decides
who is told. Each notice is stored at most once per (user, dedupe key), even when two
workers deliver the same event at once (the unique constraint decides). Users only ever
see their own notices of the organisation they act in (and org-less ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, func, select

from mkportal.db import session_scope
from mkportal.models.base import new_id, utcnow
from mkportal.models.metrics import Notification
from mkportal.models.org import Membership
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, Unauthenticated
from mkportal.services.pagination import Page, paginate

MAX_TITLE = 200
MAX_BODY = 4000


@dataclass
class NotificationRow:
    """A notice as shown in the inbox."""

    id: str
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read: bool


def _row(n: Notification) -> NotificationRow:
    return NotificationRow(
        n.id, n.kind, n.title, n.body, n.link, n.created_at, n.read_at is not None
    )


def _insert(session: Session):  # noqa: ANN202
    dialect = session.get_bind().dialect.name
    return pg_insert if dialect == "postgresql" else sqlite_insert


def notify(
    user_ids: Iterable[str],
    *,
    org_id: str,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    dedupe_key: str,
) -> int:
    """Put a notice in the inbox of each user, exactly once per (user, dedupe key).

    Args:
        user_ids: The recipients.
        org_id: The organisation the notice is about ("" for org-less notices).
        kind: What it is about, e.g. "alarm.firing".
        title: One line shown in the list.
        body: Details.
        link: A portal path to open (e.g. "/alarms?alarm=<id>").
        dedupe_key: The event's identity: a second notice with the same key is ignored.

    Returns:
        How many notices were stored (users who already had it are not counted).

    """
    users = sorted({u for u in user_ids if u})
    if not users:
        return 0
    if not dedupe_key:
        raise Invalid({"dedupe_key": "A notice needs a dedupe key."})
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "user_id": user,
            "org_id": org_id,
            "kind": kind[:32],
            "title": title[:MAX_TITLE],
            "body": body[:MAX_BODY],
            "link": link[:500],
            "dedupe_key": dedupe_key[:200],
            "created_at": now,
        }
        for user in users
    ]
    with session_scope() as s:
        stmt = _insert(s)(Notification).values(rows)
        stmt = stmt.on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
        result = s.exec(stmt)
        return max(result.rowcount or 0, 0)


def org_members(org_id: str) -> list[str]:
    """Return the ids of every member of an organisation (any role)."""
    with session_scope() as s:
        return list(s.exec(select(Membership.user_id).where(Membership.org_id == org_id)).all())


def _mine(actor: Actor):  # noqa: ANN202
    if not actor.user_id:
        raise Unauthenticated("Sign in to read notifications.")
    return (
        Notification.user_id == actor.user_id,
        or_(Notification.org_id == (actor.org_id or ""), Notification.org_id == ""),
    )


def list_notifications(
    actor: Actor, page: int = 1, per_page: int = 20, unread_only: bool = False
) -> Page[NotificationRow]:
    """List the caller's notices, newest first.

    Args:
        actor: The caller (any signed-in user).
        page: 1-based page.
        per_page: Page size.
        unread_only: Only notices not yet read.

    """
    where = _mine(actor)
    q = select(Notification).where(*where)
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    q = q.order_by(Notification.created_at.desc(), Notification.id.desc())
    with session_scope() as s:
        rows, total, page, per_page = paginate(s, q, page, per_page)
        return Page([_row(n) for n in rows], total, page, per_page)


def unread_count(actor: Actor) -> int:
    """Return how many of the caller's notices are unread."""
    where = _mine(actor)
    with session_scope() as s:
        return s.exec(
            select(func.count())
            .select_from(Notification)
            .where(*where, Notification.read_at.is_(None))
        ).one()


def mark_read(actor: Actor, ids: list[str] | None = None) -> int:
    """Mark some (`ids`) or all (None) of the caller's notices read.

    Ids of other users' notices are ignored (they are not the caller's to mark).

    Returns:
        How many notices changed.

    """
    where = _mine(actor)
    stmt = update(Notification).where(*where, Notification.read_at.is_(None))
    if ids is not None:
        if not ids:
            return 0
        stmt = stmt.where(Notification.id.in_(ids[:500]))
    with session_scope() as s:
        return s.exec(stmt.values(read_at=utcnow())).rowcount or 0
