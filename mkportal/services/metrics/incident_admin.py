"""Incidents, operator side: list, read, acknowledge, resolve, comment (all audited).

Only operators see the incident list (/admin/alerts); a cluster's organisation may read
the incidents of its own cluster (`for_cluster`). Status: open -> acknowledged -> resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.metrics import Incident, IncidentEvent
from mkportal.models.org import Organization
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.pagination import Page, paginate

STATUSES = ("open", "acknowledged", "resolved")
MAX_COMMENT = 2000
FOR_CLUSTER_LIMIT = 50


def aware(value: datetime | None) -> datetime | None:
    """Return `value` as an aware UTC time (SQLite hands back naive UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass
class IncidentView:
    """An incident as shown in lists and the API."""

    id: str
    alertname: str
    severity: str
    priority: str
    status: str
    summary: str
    description: str
    runbook: str
    org_id: str
    org_name: str
    cluster_id: str
    cluster_name: str
    starts_at: datetime
    ends_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str
    resolved_at: datetime | None
    resolved_by: str
    labels: dict = field(default_factory=dict)


@dataclass
class EventView:
    """One timeline entry."""

    at: datetime
    kind: str
    actor: str
    message: str


@dataclass
class IncidentDetail:
    """An incident with its timeline, oldest entry first."""

    incident: IncidentView
    events: list[EventView]


def _names(s: Session, rows: list[Incident]) -> tuple[dict[str, str], dict[str, str]]:
    org_ids = {r.org_id for r in rows if r.org_id}
    cluster_ids = {r.cluster_id for r in rows if r.cluster_id}
    orgs = (
        dict(
            s.exec(
                select(Organization.id, Organization.name).where(col(Organization.id).in_(org_ids))
            ).all()
        )
        if org_ids
        else {}
    )
    clusters = (
        dict(s.exec(select(Cluster.id, Cluster.name).where(col(Cluster.id).in_(cluster_ids))).all())
        if cluster_ids
        else {}
    )
    return orgs, clusters


def _view(r: Incident, orgs: dict[str, str], clusters: dict[str, str]) -> IncidentView:
    return IncidentView(
        id=r.id,
        alertname=r.alertname,
        severity=r.severity,
        priority=r.priority,
        status=r.status,
        summary=r.summary,
        description=r.description,
        runbook=r.runbook,
        org_id=r.org_id,
        org_name=orgs.get(r.org_id, ""),
        cluster_id=r.cluster_id,
        cluster_name=clusters.get(r.cluster_id, "") or r.labels.get("cluster_name", ""),
        starts_at=aware(r.starts_at),
        ends_at=aware(r.ends_at),
        acknowledged_at=aware(r.acknowledged_at),
        acknowledged_by=r.acknowledged_by,
        resolved_at=aware(r.resolved_at),
        resolved_by=r.resolved_by,
        labels=dict(r.labels),
    )


def list_incidents(
    actor: Actor, status: str = "", page: int = 1, per_page: int = 25
) -> Page[IncidentView]:
    """List incidents, newest first (operators only).

    Args:
        actor: The caller; must be an operator.
        status: Keep only this status (open, acknowledged, resolved); "" or "all" for every one.
        page: 1-based page number.
        per_page: Page size (1-200).

    """
    actor.require_operator()
    query = select(Incident)
    if status and status != "all":
        if status not in STATUSES:
            raise Invalid({"status": f"Use one of {', '.join(STATUSES)}."})
        query = query.where(Incident.status == status)
    query = query.order_by(col(Incident.starts_at).desc(), col(Incident.id))
    with session_scope() as s:
        rows, total, page, per_page = paginate(s, query, page, per_page)
        orgs, clusters = _names(s, list(rows))
        items = [_view(r, orgs, clusters) for r in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)


def _detail(s: Session, inc: Incident) -> IncidentDetail:
    orgs, clusters = _names(s, [inc])
    events = s.exec(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == inc.id)
        .order_by(col(IncidentEvent.at), col(IncidentEvent.id))
    ).all()
    return IncidentDetail(
        incident=_view(inc, orgs, clusters),
        events=[EventView(aware(e.at), e.kind, e.actor, e.message) for e in events],
    )


def get(actor: Actor, incident_id: str) -> IncidentDetail:
    """Return one incident with its timeline (operators only; 404 otherwise)."""
    actor.require_operator()
    with session_scope() as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            raise NotFound("Not found.")
        return _detail(s, inc)


def _change(actor: Actor, incident_id: str, kind: str, message: str) -> IncidentDetail:
    actor.require_operator()
    now = utcnow()
    with session_scope() as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            raise NotFound("Not found.")
        if kind in ("acknowledged", "resolved") and inc.status == "resolved":
            raise Conflict("The incident is resolved already.")
        if kind == "acknowledged":
            if inc.status == "acknowledged":
                raise Conflict("The incident is acknowledged already.")
            inc.status, inc.acknowledged_at, inc.acknowledged_by = kind, now, actor.email
        elif kind == "resolved":
            inc.status, inc.resolved_at, inc.resolved_by = kind, now, actor.email
        inc.updated_at = now
        s.add(inc)
        s.add(IncidentEvent(incident_id=inc.id, at=now, kind=kind, actor=actor.email,
                            message=message))  # fmt: skip
        action = "incident.commented" if kind == "comment" else f"incident.{kind}"
        audit.record(s, actor, action, target_type="incident", target_id=inc.id,
                     org_id=inc.org_id or None, detail={"alertname": inc.alertname})  # fmt: skip
        s.flush()
        return _detail(s, inc)


def acknowledge(actor: Actor, incident_id: str) -> IncidentDetail:
    """Acknowledge an open incident (operators only; 409 when acknowledged or resolved)."""
    return _change(actor, incident_id, "acknowledged", "Acknowledged.")


def resolve(actor: Actor, incident_id: str, note: str = "") -> IncidentDetail:
    """Resolve an incident by hand (operators only; 409 when resolved already).

    Later firing notifications of the same alert (same fingerprint and start) do not
    reopen it; a new occurrence of the alert opens a new incident.
    """
    return _change(actor, incident_id, "resolved", _text(note, required=False) or "Resolved.")


def comment(actor: Actor, incident_id: str, text: str) -> IncidentDetail:
    """Add a comment to an incident's timeline (operators only)."""
    return _change(actor, incident_id, "comment", _text(text, required=True))


def _text(text: str, *, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise Invalid({"text": "Write a comment."})
    if len(text) > MAX_COMMENT:
        raise Invalid({"text": f"At most {MAX_COMMENT} characters."})
    return text


def for_cluster(actor: Actor, cluster_id: str) -> list[IncidentView]:
    """Return the newest incidents of one cluster, for anyone in its organisation (read-only)."""
    with session_scope() as s:
        cluster = s.get(Cluster, cluster_id)
        if cluster is None:
            raise NotFound("Not found.")
        actor.require_org(cluster.org_id)
        rows = s.exec(
            select(Incident)
            .where(Incident.cluster_id == cluster_id, Incident.org_id == cluster.org_id)
            .order_by(col(Incident.starts_at).desc())
            .limit(FOR_CLUSTER_LIMIT)
        ).all()
        orgs, clusters = _names(s, list(rows))
        return [_view(r, orgs, clusters) for r in rows]
