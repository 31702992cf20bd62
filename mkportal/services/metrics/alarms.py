"""Users' alarms: a confined PromQL query compared with a threshold for a duration.

Alarms are evaluated by the portal's worker (`alarm_eval`, tick hook `metrics.alarms`),
not pushed to Prometheus as alerting rules: the query runs confined to the alarm's
organisation (and cluster), so a user can never alarm on another organisation's series.
Members and owners create, change and delete alarms; viewers read them and their history.
Every change is audited.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, delete, func, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.metrics import Alarm, AlarmEvent
from mkportal.models.org import Role
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, NotFound
from mkportal.services.metrics import prom
from mkportal.services.metrics.alarm_input import clean_fields
from mkportal.services.pagination import Page, paginate
from mkportal.settings import get_settings

MAX_ALARMS_PER_ORG = 1000
FIELDS = (
    "name", "cluster_id", "query", "comparator", "threshold", "for_seconds", "severity",
    "channels", "emails", "webhook_url", "enabled",
)  # fmt: skip


@dataclass
class AlarmView:
    """An alarm as shown to users (webhook_secret: the HMAC key of its webhook)."""

    id: str
    name: str
    cluster_id: str
    query: str
    comparator: str
    threshold: float
    for_seconds: int
    severity: str
    channels: list[str]
    emails: list[str]
    webhook_url: str
    webhook_secret: str
    enabled: bool
    state: str
    last_value: float | None
    last_error: str
    last_evaluated_at: datetime | None
    pending_since: datetime | None
    created_by: str
    updated_at: datetime


@dataclass
class AlarmEventView:
    """One entry of an alarm's history."""

    at: datetime
    kind: str
    value: float | None
    message: str


def webhook_secret(alarm_id: str) -> str:
    """Return the key the alarm's webhook body is signed with (HMAC-SHA256)."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"alarm-webhook:{alarm_id}".encode(), hashlib.sha256).hexdigest()


def view(a: Alarm) -> AlarmView:
    """Return the user-facing view of an alarm row."""
    return AlarmView(
        a.id, a.name, a.cluster_id, a.query, a.comparator, a.threshold, a.for_seconds,
        a.severity, list(a.channels), list(a.emails), a.webhook_url, webhook_secret(a.id),
        a.enabled, a.state, a.last_value, a.last_error, a.last_evaluated_at, a.pending_since,
        a.created_by, a.updated_at,
    )  # fmt: skip


def org_cluster_ids(s: Session, org_id: str) -> list[str]:
    """Return every cluster id of an organisation, deleted ones too (their series stay)."""
    return sorted(s.exec(select(Cluster.id).where(Cluster.org_id == org_id)).all())


def confined(query: str, org_id: str, cluster_ids: list[str]) -> str:
    """Return `query` confined to the organisation's clusters (see promql.confine).

    With no clusters the confined query matches nothing (an alarm can exist first).

    Raises:
        Invalid: The query cannot be parsed or confined (field "query").

    """
    from mkportal.services.metrics.promql import confine

    return confine(query, org_id, cluster_ids)


def _scope(s: Session, org_id: str, cluster_id: str) -> list[str]:
    if cluster_id:
        row = s.get(Cluster, cluster_id)
        if row is None or row.org_id != org_id:
            raise Invalid({"cluster_id": "Choose one of the organisation's clusters."})
        return [cluster_id]
    return org_cluster_ids(s, org_id)


def _clean(s: Session, actor: Actor, org_id: str, data: dict) -> dict:
    out, errors = clean_fields(data, actor.email)
    query = (data.get("query") or "").strip()
    try:
        scope = _scope(s, org_id, out.get("cluster_id", ""))
        confined(query, org_id, scope)
        out["query"] = query
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    return out


def _own(s: Session, actor: Actor, alarm_id: str) -> Alarm:
    row = s.get(Alarm, alarm_id)
    if row is None or not actor.can_see_org(row.org_id):
        raise NotFound("Not found.")
    return row


def _org(actor: Actor) -> str:
    if not actor.org_id:
        raise NotFound("Alarms belong to an organisation; act in one first.")
    return actor.org_id


def list_alarms(actor: Actor, page: int = 1, per_page: int = 50) -> Page[AlarmView]:
    """List the organisation's alarms by name (any role)."""
    org_id = _org(actor)
    q = select(Alarm).where(Alarm.org_id == org_id).order_by(Alarm.name, Alarm.id)
    with session_scope() as s:
        rows, total, page, per_page = paginate(s, q, page, per_page)
        return Page([view(a) for a in rows], total, page, per_page)


def get(actor: Actor, alarm_id: str) -> AlarmView:
    """Return one alarm (any role). Raises NotFound for other organisations' alarms."""
    with session_scope() as s:
        return view(_own(s, actor, alarm_id))


def create(actor: Actor, data: dict) -> AlarmView:
    """Create an alarm in the caller's organisation (members and owners).

    Args:
        actor: The caller.
        data: name, cluster_id ("" for every cluster), query, comparator, threshold,
            for_seconds (0..86400), severity, channels, emails (default: the caller),
            webhook_url (http/https), enabled.

    Raises:
        Forbidden: The caller is a viewer.
        Invalid: A field is wrong (messages per field; the query is confined to check it).

    """
    org_id = _org(actor)
    actor.require_role(Role.member)
    with session_scope() as s:
        count = s.exec(select(func.count()).select_from(Alarm).where(Alarm.org_id == org_id)).one()
        if count >= MAX_ALARMS_PER_ORG:
            raise Invalid(
                {"name": f"An organisation can have at most {MAX_ALARMS_PER_ORG} alarms."}
            )
        fields = _clean(s, actor, org_id, data)
        row = Alarm(org_id=org_id, created_by=actor.email, **fields)
        s.add(row)
        s.flush()
        audit.record(s, actor, "alarm.created", target_type="alarm", target_id=row.id,
                     org_id=org_id, detail={"name": row.name, "query": row.query})  # fmt: skip
        return view(row)


def update(actor: Actor, alarm_id: str, data: dict) -> AlarmView:
    """Change an alarm (members and owners); its state starts again from ok.

    Raises:
        NotFound: No such alarm in the caller's organisation.
        Forbidden: The caller is a viewer.
        Invalid: A field is wrong.

    """
    with session_scope() as s:
        row = _own(s, actor, alarm_id)
        actor.require_role(Role.member)
        merged = {f: getattr(row, f) for f in FIELDS} | {
            k: v for k, v in data.items() if k in FIELDS
        }
        fields = _clean(s, actor, row.org_id, merged)
        for key, value in fields.items():
            setattr(row, key, value)
        row.state, row.pending_since, row.last_error, row.updated_at = "ok", None, "", utcnow()
        s.add(row)
        audit.record(s, actor, "alarm.updated", target_type="alarm", target_id=row.id,
                     org_id=row.org_id, detail={"name": row.name, "query": row.query})  # fmt: skip
        return view(row)


def set_enabled(actor: Actor, alarm_id: str, enabled: bool) -> AlarmView:
    """Enable or disable an alarm (members and owners)."""
    return update(actor, alarm_id, {"enabled": enabled})


def remove(actor: Actor, alarm_id: str) -> None:
    """Delete an alarm and its history (members and owners).

    Raises:
        NotFound: No such alarm in the caller's organisation.
        Forbidden: The caller is a viewer.

    """
    with session_scope() as s:
        row = _own(s, actor, alarm_id)
        actor.require_role(Role.member)
        s.exec(delete(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id))
        s.delete(row)
        audit.record(s, actor, "alarm.deleted", target_type="alarm", target_id=alarm_id,
                     org_id=row.org_id, detail={"name": row.name})  # fmt: skip


def history(actor: Actor, alarm_id: str, page: int = 1, per_page: int = 20) -> Page[AlarmEventView]:
    """Return an alarm's history, newest first (any role)."""
    with session_scope() as s:
        _own(s, actor, alarm_id)
        q = (
            select(AlarmEvent)
            .where(AlarmEvent.alarm_id == alarm_id)
            .order_by(AlarmEvent.at.desc(), AlarmEvent.id.desc())
        )
        rows, total, page, per_page = paginate(s, q, page, per_page)
        items = [AlarmEventView(e.at, e.kind, e.value, e.message) for e in rows]
        return Page(items, total, page, per_page)


def preview(actor: Actor, query: str, cluster_id: str = "") -> list[prom.Sample]:
    """Run a would-be alarm query now, confined, and return its samples (at most 20).

    Raises:
        Invalid: The query or cluster is wrong.
        MetricsUnavailable: No metrics backend.

    """
    org_id = _org(actor)
    with session_scope() as s:
        scope = _scope(s, org_id, (cluster_id or "").strip())
    text = confined((query or "").strip(), org_id, scope)
    return prom.query(text)[:20]


def cluster_choices(actor: Actor) -> list[tuple[str, str]]:
    """Return (id, name) of the organisation's live clusters, for alarm forms (any role)."""
    org_id = _org(actor)
    with session_scope() as s:
        rows = s.exec(
            select(Cluster.id, Cluster.name)
            .where(Cluster.org_id == org_id, Cluster.deleted_at.is_(None))
            .order_by(Cluster.name)
        ).all()
        return [(r[0], r[1]) for r in rows]
