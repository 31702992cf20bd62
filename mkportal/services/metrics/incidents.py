"""Alertmanager's webhook: incidents from alerts, with replay protection and on-call notice.

`ingest` takes Alertmanager's webhook payload (version 4). A delivery whose content digest
was processed before is ignored (`WebhookDelivery`); processing is idempotent, so a
delivery that failed halfway is simply applied again when Alertmanager retries it. Each alert maps to one `Incident` by
(fingerprint, startsAt): a firing alert opens it (or keeps it open), a resolved alert
resolves it; every change lands on the incident's timeline. The worker that inserts a
new incident, and only that one (the unique key decides between concurrent deliveries),
notifies on-call once, after the insert is committed. The operator-side life cycle
(list, acknowledge, resolve, comment) lives in `incident_admin`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.models.cluster import Cluster
from mkportal.models.metrics import Incident, IncidentEvent, WebhookDelivery
from mkportal.services.errors import Invalid
from mkportal.services.metrics import catalog
from mkportal.services.metrics.incident_notify import notify_oncall

log = logging.getLogger(__name__)

SOURCE = "alertmanager"
MAX_ALERTS = 1000
ALERTMANAGER_ACTOR = "alertmanager"
_TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_HEX_RE = re.compile(r"^[0-9a-f]{1,32}$")


@dataclass
class IngestResult:
    """What one webhook delivery changed (incident ids)."""

    replay: bool = False
    created: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)


def parse_time(value: object) -> datetime | None:
    """Parse Alertmanager's RFC 3339 time (nanoseconds allowed); None for the zero time."""
    text = str(value or "").strip()
    m = _TIME_RE.match(text)
    if not m:
        return None
    frac = (m.group(2) or ".0")[:7]
    zone = m.group(3) or "Z"
    parsed = datetime.fromisoformat(m.group(1) + frac + ("+00:00" if zone == "Z" else zone))
    parsed = parsed.astimezone(UTC)
    return None if parsed.year <= 1 else parsed


def digest(payload: dict) -> str:
    """Return the replay key of a payload: SHA-256 of its canonical JSON."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "am:" + hashlib.sha256(canonical.encode()).hexdigest()


def runbook_slug(alertname: str, annotations: dict) -> str:
    """Return the runbook slug of an alert: the catalog's, else the runbook_url's last part."""
    spec = catalog.ALERTS_BY_NAME.get(alertname)
    if spec is not None:
        return spec.runbook
    tail = str(annotations.get("runbook_url") or "").rstrip("/").rsplit("/", 1)[-1]
    return tail if _SLUG_RE.match(tail) else ""


def _str_dict(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:200]: str(v)[:2000] for k, v in list(value.items())[:100]}


@dataclass
class _Alert:
    status: str
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]


def _parse_alert(raw: object, index: int) -> _Alert:
    if not isinstance(raw, dict):
        raise Invalid({f"alerts[{index}]": "An alert must be an object."})
    labels = _str_dict(raw.get("labels"))
    annotations = _str_dict(raw.get("annotations"))
    status = str(raw.get("status") or "")
    if status not in ("firing", "resolved"):
        raise Invalid({f"alerts[{index}].status": "Must be firing or resolved."})
    starts_at = parse_time(raw.get("startsAt"))
    if starts_at is None:
        raise Invalid({f"alerts[{index}].startsAt": "Must be an RFC 3339 time."})
    fingerprint = str(raw.get("fingerprint") or "")[:64]
    if not fingerprint:
        canonical = json.dumps(labels, sort_keys=True)
        fingerprint = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return _Alert(
        status, fingerprint, starts_at, parse_time(raw.get("endsAt")), labels, annotations
    )


def _parse(payload: object) -> list[_Alert]:
    if not isinstance(payload, dict):
        raise Invalid({"body": "The body must be Alertmanager's webhook JSON object."})
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise Invalid({"alerts": "Must be a list."})
    if len(alerts) > MAX_ALERTS:
        raise Invalid({"alerts": f"At most {MAX_ALERTS} alerts per delivery."})
    return [_parse_alert(raw, i) for i, raw in enumerate(alerts)]


def _owner(s: Session, labels: dict[str, str]) -> tuple[str, str]:
    """Return (org_id, cluster_id) from the portal's database, never from labels alone."""
    cluster_id = labels.get("cluster", "")
    if not _HEX_RE.match(cluster_id):
        return "", ""
    cluster = s.get(Cluster, cluster_id)
    return (cluster.org_id, cluster.id) if cluster is not None else ("", "")


def _new_incident(s: Session, a: _Alert) -> Incident:
    alertname = a.labels.get("alertname", "")[:100] or "unnamed"
    spec = catalog.ALERTS_BY_NAME.get(alertname)
    org_id, cluster_id = _owner(s, a.labels)
    severity = a.labels.get("severity") or (spec.severity if spec else "warning")
    priority = a.labels.get("priority", "")
    return Incident(
        fingerprint=a.fingerprint,
        starts_at=a.starts_at,
        alertname=alertname,
        severity=severity[:16],
        priority=(priority if priority in catalog.PRIORITIES else "P3"),
        org_id=org_id,
        cluster_id=cluster_id,
        status="resolved" if a.status == "resolved" else "open",
        summary=a.annotations.get("summary") or (spec.summary if spec else ""),
        description=a.annotations.get("description", ""),
        runbook=runbook_slug(alertname, a.annotations),
        labels=a.labels,
        ends_at=a.ends_at if a.status == "resolved" else None,
        resolved_at=(a.ends_at or utcnow()) if a.status == "resolved" else None,
        resolved_by=ALERTMANAGER_ACTOR if a.status == "resolved" else "",
    )


def _find(s: Session, a: _Alert) -> Incident | None:
    return s.exec(
        select(Incident).where(
            Incident.fingerprint == a.fingerprint, Incident.starts_at == a.starts_at
        )
    ).first()


def _create(a: _Alert) -> str | None:
    """Insert the incident of `a`; None when it exists already (this or another worker)."""
    try:
        with session_scope() as s:
            if _find(s, a) is not None:
                return None
            inc = _new_incident(s, a)
            s.add(inc)
            s.flush()
            s.add(IncidentEvent(incident_id=inc.id, kind="fired", actor=ALERTMANAGER_ACTOR,
                                message=inc.summary, at=a.starts_at))  # fmt: skip
            if a.status == "resolved":
                s.add(IncidentEvent(incident_id=inc.id, kind="resolved",
                                    actor=ALERTMANAGER_ACTOR, message="The alert resolved."))  # fmt: skip
            return inc.id
    except IntegrityError:
        return None


def _apply_existing(a: _Alert, result: IngestResult) -> None:
    with session_scope() as s:
        inc = _find(s, a)
        if inc is None:
            return
        if a.status == "resolved" and inc.status != "resolved":
            now = utcnow()
            inc.status, inc.resolved_by = "resolved", ALERTMANAGER_ACTOR
            inc.resolved_at, inc.ends_at, inc.updated_at = a.ends_at or now, a.ends_at, now
            s.add(inc)
            s.add(IncidentEvent(incident_id=inc.id, kind="resolved", actor=ALERTMANAGER_ACTOR,
                                message="The alert resolved."))  # fmt: skip
            result.resolved.append(inc.id)
        else:
            result.unchanged.append(inc.id)


def _seen(key: str) -> bool:
    """Whether the delivery `key` was processed before (a replay)."""
    with session_scope() as s:
        return s.get(WebhookDelivery, key) is not None


def _remember(key: str) -> None:
    """Record the delivery `key` once it is processed (a concurrent twin may win)."""
    try:
        with session_scope() as s:
            s.add(WebhookDelivery(key=key, source=SOURCE))
    except IntegrityError:
        log.info("alertmanager delivery %s arrived twice at once", key)


def ingest(payload: dict) -> IngestResult:
    """Apply one Alertmanager webhook delivery.

    Args:
        payload: The decoded webhook JSON (version 4: receiver, status, alerts, groupKey).

    Returns:
        Which incidents were created, resolved or left unchanged, and which were notified.
        A replayed delivery (same content) changes nothing and has `replay` set.

    Raises:
        Invalid: The payload is not Alertmanager's webhook JSON.

    """
    alerts = _parse(payload)
    result = IngestResult()
    key = digest(payload)
    if _seen(key):
        result.replay = True
        return result
    for a in alerts:
        created = _create(a)
        if created is None:
            _apply_existing(a, result)
            continue
        if a.status == "resolved":
            result.resolved.append(created)
            continue
        result.created.append(created)
        if notify_oncall(created):
            result.notified.append(created)
    _remember(key)
    return result
