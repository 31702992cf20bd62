"""Evaluating users' alarms in the portal's worker, and telling people when they change.

The tick hook `metrics.alarms` runs on the scheduler tick, at most once per
`ALARM_INTERVAL` seconds across all workers (a lease). It queries Prometheus for every
enabled alarm with a small thread pool (each query confined to the alarm's organisation
and cluster), then applies the state machine:

    ok --breach--> pending --breach for `for_seconds`--> firing --no breach--> ok (resolved)
    ok/pending --query failed--> error --next good evaluation--> ok / pending / firing
    firing --query failed--> firing (the error is shown; it resolves or fires on as usual)

An alarm breaches when any returned sample satisfies `value <comparator> threshold`; an
empty result does not breach. Each transition is a compare-and-set on the alarm's row, so
only one evaluator wins it; only the firing and resolved transitions notify (email,
signed webhook, in-app), and the in-app notice is deduplicated by (alarm, transition
time), so a notification goes out exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import operator
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from sqlalchemy import update
from sqlmodel import Session, select

from mkportal.db import session_scope
from mkportal.models.base import new_id, utcnow
from mkportal.models.metrics import Alarm, AlarmEvent
from mkportal.services import mail, notifications
from mkportal.services.errors import ServiceError
from mkportal.services.metrics import prom
from mkportal.services.metrics.alarm_input import webhook_address_error
from mkportal.services.metrics.alarms import confined, org_cluster_ids, webhook_secret
from mkportal.settings import get_settings
from mkportal.worker.tick import acquire_lock, register_tick

log = logging.getLogger(__name__)

POOL_SIZE = 8
WEBHOOK_TIMEOUT = 5.0
SIGNATURE_HEADER = "X-Mkportal-Signature"
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt,
    "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """The result of querying one alarm: breach, the value shown, or an error."""

    breach: bool
    value: float | None
    error: str = ""


def outcome(alarm: Alarm, samples: list[prom.Sample]) -> Outcome:
    """Compare an alarm's samples with its threshold (any breaching sample breaches)."""
    test = OPS[alarm.comparator]
    hits = [x.value for x in samples if test(x.value, alarm.threshold)]
    if hits:
        worst = min(hits) if alarm.comparator in ("<", "<=") else max(hits)
        return Outcome(True, worst)
    return Outcome(False, samples[0].value if samples else None)


def _run(text: str, now: datetime) -> list[prom.Sample] | str:
    """Run one confined query; return its samples, or the error message."""
    try:
        return prom.query(text, at=now)
    except ServiceError as exc:
        return exc.message


def _confine(alarm: Alarm, scope: list[str]) -> str | Outcome:
    try:
        return confined(alarm.query, alarm.org_id, scope)
    except ServiceError as exc:
        return Outcome(False, None, exc.message)


def next_state(alarm: Alarm, result: Outcome, now: datetime) -> tuple[str, datetime | None, str]:
    """Return (state, pending_since, event kind or "") after one evaluation at `now`.

    The event kinds are pending, firing, resolved, error and ok (back from pending/error).
    """
    if result.error:
        if alarm.state == "firing":  # stays firing: no second "firing", no lost "resolved"
            return "firing", alarm.pending_since, ""
        return "error", alarm.pending_since, "" if alarm.state == "error" else "error"
    if not result.breach:
        if alarm.state == "firing":
            return "ok", None, "resolved"
        return "ok", None, "" if alarm.state == "ok" else "ok"
    since = alarm.pending_since if alarm.state in ("pending", "firing") else None
    since = since or now
    if alarm.state == "firing":
        return "firing", since, ""
    if now - since >= timedelta(seconds=alarm.for_seconds):
        return "firing", since, "firing"
    return "pending", since, "" if alarm.state == "pending" else "pending"


def _message(alarm: Alarm, kind: str, result: Outcome) -> str:
    if kind == "error":
        return result.error
    value = "no data" if result.value is None else f"{result.value:g}"
    return f"value {value} {alarm.comparator} {alarm.threshold:g}: {kind}"


def _store(s: Session, alarm: Alarm, result: Outcome, now: datetime) -> str:
    """Compare-and-set one evaluation's result in `s`; return the event kind recorded."""
    state, since, kind = next_state(alarm, result, now)
    changed = s.exec(
        update(Alarm)
        .where(Alarm.id == alarm.id, Alarm.state == alarm.state, Alarm.enabled.is_(True))
        .where(Alarm.updated_at == alarm.updated_at)
        .values(
            state=state,
            pending_since=since,
            last_value=result.value,
            last_error=result.error,
            last_evaluated_at=now,
        )
    ).rowcount
    if not changed or not kind:
        return ""
    s.add(AlarmEvent(alarm_id=alarm.id, org_id=alarm.org_id, at=now, kind=kind,
                     value=result.value, message=_message(alarm, kind, result)))  # fmt: skip
    return kind


def apply(alarm: Alarm, result: Outcome, now: datetime) -> str:
    """Store one evaluation's result; notify on firing/resolved. Returns the event kind.

    The row is only changed when its state is still the one evaluated (compare-and-set),
    so of two evaluators only one records (and notifies) a transition.
    """
    with session_scope() as s:
        kind = _store(s, alarm, result, now)
    if kind in ("firing", "resolved"):
        deliver(alarm, kind, result, now)
    return kind


def payload(alarm: Alarm, kind: str, result: Outcome, now: datetime) -> dict:
    """Return the JSON body sent to an alarm's webhook."""
    return {
        "alarm_id": alarm.id, "name": alarm.name, "status": kind, "severity": alarm.severity,
        "org": alarm.org_id, "cluster": alarm.cluster_id, "query": alarm.query,
        "comparator": alarm.comparator, "threshold": alarm.threshold, "value": result.value,
        "at": now.isoformat(), "url": f"{get_settings().base_url.rstrip('/')}/alarms",
    }  # fmt: skip


def sign(body: bytes, alarm_id: str) -> str:
    """Return the signature header value of a webhook body: ``sha256=<hex HMAC>``."""
    return "sha256=" + hmac.new(webhook_secret(alarm_id).encode(), body, hashlib.sha256).hexdigest()


def deliver(alarm: Alarm, kind: str, result: Outcome, now: datetime) -> list[str]:
    """Send a firing/resolved notice on the alarm's channels; return the channels that failed.

    Failures are recorded in the alarm's history; they are not retried.
    """
    title = f"[{alarm.severity}] {alarm.name} is {kind}"
    body = _message(alarm, kind, result) + f"\nQuery: {alarm.query}"
    failed: list[str] = []
    if "in_app" in alarm.channels:
        notifications.notify(
            notifications.org_members(alarm.org_id), org_id=alarm.org_id, kind=f"alarm.{kind}",
            title=title, body=body, link=f"/alarms?alarm={alarm.id}",
            dedupe_key=f"alarm:{alarm.id}:{kind}:{now.isoformat()}",
        )  # fmt: skip
    if "email" in alarm.channels and alarm.emails:
        try:
            mail.send(", ".join(alarm.emails), title, body)
        except (OSError, ValueError) as exc:
            failed.append(f"email: {exc}")
    if "webhook" in alarm.channels and alarm.webhook_url:
        data = json.dumps(payload(alarm, kind, result, now), sort_keys=True).encode()
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(data, alarm.id)}
        refused = webhook_address_error(alarm.webhook_url)
        try:
            if refused:
                failed.append(f"webhook: {refused}")
            else:
                r = requests.post(alarm.webhook_url, data=data, headers=headers,
                                  timeout=WEBHOOK_TIMEOUT, allow_redirects=False)  # fmt: skip
                if r.status_code >= 300:
                    failed.append(f"webhook: HTTP {r.status_code}")
        except requests.RequestException as exc:
            failed.append(f"webhook: {exc.__class__.__name__}")
    if failed:
        with session_scope() as s:
            s.add(AlarmEvent(alarm_id=alarm.id, org_id=alarm.org_id, at=utcnow(),
                             kind="delivery", message="; ".join(failed)))  # fmt: skip
    return failed


def evaluate_all(now: datetime | None = None, pool_size: int = POOL_SIZE) -> dict[str, int]:
    """Evaluate every enabled alarm once; return counts per event kind (and "evaluated").

    Each distinct confined query runs once, in a thread pool; the results are stored in one transaction, then the
    firing/resolved transitions are delivered.
    """
    now = now or utcnow()
    with session_scope() as s:
        rows = list(s.exec(select(Alarm).where(Alarm.enabled.is_(True))).all())
        scopes: dict[str, list[str]] = {}
        for a in rows:
            if a.org_id not in scopes:
                scopes[a.org_id] = org_cluster_ids(s, a.org_id)
            s.expunge(a)

    def scope(a: Alarm) -> list[str]:
        return [a.cluster_id] if a.cluster_id else scopes[a.org_id]

    texts = [_confine(a, scope(a)) for a in rows]
    unique = sorted({q for q in texts if isinstance(q, str)})  # alarms sharing a query share it
    with ThreadPoolExecutor(max_workers=max(1, pool_size)) as pool:
        answers = dict(zip(unique, pool.map(lambda q: _run(q, now), unique), strict=True))
    results = []
    for alarm, text in zip(rows, texts, strict=True):
        answer = text if isinstance(text, Outcome) else answers[text]
        if isinstance(answer, str):
            answer = Outcome(False, None, answer)
        results.append(answer if isinstance(answer, Outcome) else outcome(alarm, answer))
    counts = {"evaluated": len(rows)}
    notify: list[tuple[Alarm, str, Outcome]] = []
    with session_scope() as s:  # one transaction for the whole tick
        for alarm, result in zip(rows, results, strict=True):
            kind = _store(s, alarm, result, now)
            if kind:
                counts[kind] = counts.get(kind, 0) + 1
            if kind in ("firing", "resolved"):
                notify.append((alarm, kind, result))
    for alarm, kind, result in notify:
        deliver(alarm, kind, result, now)
    return counts


def tick() -> None:
    """Tick hook: evaluate the alarms unless another worker did within ALARM_INTERVAL."""
    from mkportal.worker.engine import default_worker_id

    interval = get_settings().alarm_interval
    owner = f"{default_worker_id()}:{new_id()}"  # a fresh owner: the lease spaces the runs
    if not acquire_lock("metrics.alarms", owner, max(interval * 0.9, 0.5)):
        return
    counts = evaluate_all()
    if len(counts) > 1:
        log.info("alarms evaluated: %s", counts)


register_tick("metrics.alarms", tick)
