"""On-call notice of a new incident: an email and a signed JSON webhook.

Called once per incident by the worker that created it (see `incidents.ingest`). The
webhook body is JSON; its `X-Mkportal-Signature` header is ``sha256=<hex>``, the
HMAC-SHA256 of the raw body keyed with ALERTMANAGER_SECRET. Failures are logged and put
on the incident's timeline; they are never retried, so on-call is never told twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import httpx

from mkportal.db import session_scope
from mkportal.models.metrics import Incident, IncidentEvent
from mkportal.services import mail
from mkportal.settings import get_settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mkportal-Signature"
TIMEOUT = 5.0


def incident_url(incident_id: str) -> str:
    """Return the incident's page in the portal."""
    return f"{get_settings().base_url.rstrip('/')}/admin/alerts/{incident_id}"


def runbook_url(slug: str) -> str:
    """Return a runbook's page in the portal ("" without a runbook)."""
    return f"{get_settings().base_url.rstrip('/')}/admin/runbooks/{slug}" if slug else ""


def sign(body: bytes, secret: str) -> str:
    """Return the signature header value of `body`: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _payload(inc: Incident) -> dict:
    return {
        "kind": "incident.opened",
        "id": inc.id,
        "alertname": inc.alertname,
        "severity": inc.severity,
        "priority": inc.priority,
        "org": inc.org_id,
        "cluster": inc.cluster_id,
        "cluster_name": inc.labels.get("cluster_name", ""),
        "summary": inc.summary,
        "description": inc.description,
        "starts_at": inc.starts_at.isoformat(),
        "url": incident_url(inc.id),
        "runbook_url": runbook_url(inc.runbook),
    }


def _email(inc: Incident, to: list[str]) -> None:
    cluster = inc.labels.get("cluster_name") or inc.cluster_id or "-"
    body = (
        f"{inc.priority} {inc.severity}: {inc.alertname} on cluster {cluster}\n\n"
        f"{inc.summary}\n{inc.description}\n\n"
        f"Started: {inc.starts_at.isoformat()}\n"
        f"Incident: {incident_url(inc.id)}\n"
        f"Runbook: {runbook_url(inc.runbook) or '-'}\n"
    )
    mail.send(", ".join(to), f"[{inc.priority}] {inc.alertname}: {cluster}", body)


def _webhook(inc: Incident, url: str, secret: str) -> None:
    body = json.dumps(_payload(inc), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}
    response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT)
    response.raise_for_status()


def notify_oncall(incident_id: str) -> bool:
    """Tell on-call about a new incident by email and webhook (whichever is configured).

    Returns:
        Whether at least one channel delivered.

    """
    settings = get_settings()
    with session_scope() as s:
        inc = s.get(Incident, incident_id)
    if inc is None:
        return False
    done: list[str] = []
    failed: list[str] = []
    if settings.oncall_emails:
        try:
            _email(inc, settings.oncall_emails)
            done.append("email to " + ", ".join(settings.oncall_emails))
        except OSError as exc:
            log.warning("on-call email for incident %s failed: %s", incident_id, exc)
            failed.append(f"email: {exc}")
    if settings.oncall_webhook_url:
        try:
            _webhook(inc, settings.oncall_webhook_url, settings.alertmanager_secret)
            done.append("webhook")
        except httpx.HTTPError as exc:
            log.warning("on-call webhook for incident %s failed: %s", incident_id, exc)
            failed.append(f"webhook: {exc}")
    with session_scope() as s:
        if done:
            s.add(IncidentEvent(incident_id=incident_id, kind="notified", actor="portal",
                                message="On-call notified: " + "; ".join(done)))  # fmt: skip
        if failed:
            s.add(IncidentEvent(incident_id=incident_id, kind="notify_failed", actor="portal",
                                message="; ".join(failed)[:2000]))  # fmt: skip
    return bool(done)
