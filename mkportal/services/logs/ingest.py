"""Ingesting a batch of log lines from a cluster's log agent: all or nothing.

A batch is JSON lines (one object per line), optionally gzip-encoded. Every line is
validated before anything is written; then the lines, the usage counter and a quota
warning (if any) are written in one transaction.

A line: ``{"ts": "2026-11-24T10:00:00.123456Z" | epoch seconds, "message": "...",
"stream": "app" | "control-plane", "level": "info", "namespace": "", "pod": "",
"container": "", "component": "", "attrs": {...}, "cluster_id": optional}``.

Quota policy (accept-and-warn): an organisation may exceed its quota; the first batch
that reaches it records an audit event ``logs.quota_reached`` and sets ``warned_at``.
Beyond `HARD_LIMIT_FACTOR` times the quota batches are refused with 429, so a runaway
agent cannot fill the database.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from mkportal.db import session_scope
from mkportal.models.base import utcnow
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Forbidden, Invalid, RateLimited, ServiceError
from mkportal.services.logs.retention import control_plane_days, org_settings_row, used_bytes
from mkportal.services.logs.store import COMPONENTS, STREAMS, NewLine, get_store, to_micros
from mkportal.services.logs.tokens import IngestIdentity, authenticate_ingest
from mkportal.services.orgs import owner_emails

MAX_BATCH_BYTES = 16 * 1024 * 1024
MAX_BATCH_LINES = 10_000
MAX_MESSAGE_BYTES = 64 * 1024
MAX_LINE_BYTES = 2 * MAX_MESSAGE_BYTES
MAX_FIELD = 253
MAX_ERRORS = 20
FUTURE_SLACK = timedelta(hours=1)
HARD_LIMIT_FACTOR = 1.2
LEVEL_ALIASES = {
    "debug": "debug", "trace": "debug", "info": "info", "notice": "info",
    "warn": "warn", "warning": "warn", "error": "error", "err": "error",
    "fatal": "fatal", "critical": "fatal", "crit": "fatal", "panic": "fatal",
    "emerg": "fatal", "alert": "fatal",
}  # fmt: skip
FIELDS = {
    "ts", "message", "stream", "level", "namespace", "pod", "container", "component",
    "attrs", "cluster_id",
}  # fmt: skip


class PayloadTooLarge(ServiceError):
    """The batch (decompressed) is larger than the limit."""

    status = 413


class UnsupportedEncoding(ServiceError):
    """A Content-Encoding other than gzip or identity."""

    status = 415


@dataclass
class IngestResult:
    """What happened to a batch."""

    accepted: int
    dropped_expired: int
    bytes: int
    quota_reached: bool


@dataclass
class _Parsed:
    line: NewLine
    size: int


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """Return the batch's bytes, gunzipped when `content_encoding` is gzip.

    Raises:
        PayloadTooLarge: More than MAX_BATCH_BYTES once decompressed.
        UnsupportedEncoding: Not gzip or identity.
        Invalid: Corrupt gzip data.

    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        data = body
    elif encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(body, MAX_BATCH_BYTES + 1)
        except zlib.error as exc:
            raise Invalid({"body": f"The gzip data is corrupt: {exc}."}) from exc
        if len(data) > MAX_BATCH_BYTES or inflater.unconsumed_tail:
            raise PayloadTooLarge(
                f"The batch is larger than {MAX_BATCH_BYTES} bytes decompressed; send smaller batches."
            )
        if not inflater.eof:
            raise Invalid({"body": "The gzip data is truncated."})
    else:
        raise UnsupportedEncoding("Content-Encoding must be gzip or identity.")
    if len(data) > MAX_BATCH_BYTES:
        raise PayloadTooLarge(f"The batch is larger than {MAX_BATCH_BYTES} bytes.")
    return data


def _ts(value: object) -> datetime:
    if isinstance(value, bool):
        raise ValueError("ts must be an RFC 3339 string or epoch seconds")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip())
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError("ts must be an RFC 3339 string or epoch seconds")


def _text(obj: dict, name: str, limit: int = MAX_FIELD) -> str:
    value = obj.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value


def parse_line(
    raw: bytes, identity: IngestIdentity, app_days: int, cp_days: int, now: datetime
) -> NewLine:
    """Validate one JSON line and return it as a NewLine.

    Raises:
        ValueError: With a message that says what is wrong.
        PermissionError: The line names another cluster than the token's.

    """
    if len(raw) > MAX_LINE_BYTES:
        raise ValueError(f"the line is {len(raw)} bytes; the limit is {MAX_LINE_BYTES}")
    obj = json.loads(raw)
    if not isinstance(obj, dict):
        raise ValueError("each line must be a JSON object")
    unknown = set(obj) - FIELDS
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    if obj.get("cluster_id") not in (None, "", identity.cluster_id):
        raise PermissionError("this token writes only its own cluster's logs")
    message = obj.get("message")
    if not isinstance(message, str):
        raise ValueError("message is required and must be a string")
    message = message.replace("\x00", "\ufffd")
    size = len(message.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise ValueError(f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")
    if "ts" not in obj:
        raise ValueError("ts is required")
    ts = _ts(obj["ts"])
    if ts > now + FUTURE_SLACK:
        raise ValueError("ts is more than an hour in the future")
    stream = obj.get("stream") or "app"
    if stream not in STREAMS:
        raise ValueError("stream must be 'app' or 'control-plane'")
    component = _text(obj, "component", 64)
    if stream == "control-plane" and component not in COMPONENTS:
        raise ValueError(f"component must be one of {', '.join(COMPONENTS)}")
    if stream == "app" and component:
        raise ValueError("component is only for control-plane lines")
    level = obj.get("level") or "unknown"
    if not isinstance(level, str):
        raise ValueError("level must be a string")
    attrs = obj.get("attrs") or {}
    if not isinstance(attrs, dict):
        raise ValueError("attrs must be a JSON object")
    days = cp_days if stream == "control-plane" else app_days
    return NewLine(
        org_id=identity.org_id,
        cluster_id=identity.cluster_id,
        ts=to_micros(ts),
        stream=stream,
        level=LEVEL_ALIASES.get(level.strip().lower(), "unknown"),
        message=message,
        expires_on=ts.date() + timedelta(days=days),
        namespace=_text(obj, "namespace"),
        pod=_text(obj, "pod"),
        container=_text(obj, "container"),
        component=component,
        attrs=attrs,
    )


def parse_batch(
    data: bytes, identity: IngestIdentity, app_days: int, cp_days: int, now: datetime
) -> list[_Parsed]:
    """Validate every line of a batch (blank lines are skipped).

    Raises:
        Invalid: Some lines are malformed; errors are keyed "line N" (1-based, up to 20).
        Forbidden: A line names another cluster than the token's.
        PayloadTooLarge: More than MAX_BATCH_LINES lines.

    """
    raw_lines = data.split(b"\n")
    parsed: list[_Parsed] = []
    errors: dict[str, str] = {}
    for number, raw in enumerate(raw_lines, start=1):
        raw = raw.strip()
        if not raw:
            continue
        if len(parsed) + len(errors) >= MAX_BATCH_LINES:
            raise PayloadTooLarge(f"A batch holds at most {MAX_BATCH_LINES} lines.")
        try:
            line = parse_line(raw, identity, app_days, cp_days, now)
        except PermissionError as exc:
            raise Forbidden(
                f"line {number}: {exc}; the token belongs to cluster {identity.cluster_id}."
            ) from exc
        except (ValueError, TypeError, OverflowError, OSError, RecursionError) as exc:
            if len(errors) < MAX_ERRORS:
                errors[f"line {number}"] = str(exc) or type(exc).__name__
            else:
                errors.setdefault("more", "further lines have errors too")
            continue
        parsed.append(_Parsed(line, len(raw)))
    if errors:
        raise Invalid(errors)
    if not parsed:
        raise Invalid({"body": "The batch has no lines."})
    return parsed


def _add_usage(conn, org_id: str, day: date, size: int, lines: int) -> None:  # noqa: ANN001
    conn.execute(
        text(
            "INSERT INTO log_usage (org_id, day, bytes, lines) VALUES (:o, :d, :b, :n) "
            "ON CONFLICT (org_id, day) DO UPDATE SET bytes = log_usage.bytes + excluded.bytes, "
            "lines = log_usage.lines + excluded.lines"
        ),
        {"o": org_id, "d": day, "b": size, "n": lines},
    )


def ingest_batch(
    token: str | None,
    body: bytes,
    content_encoding: str | None = None,
    *,
    now: datetime | None = None,
) -> IngestResult:
    """Authenticate, validate and store one batch, all or nothing.

    Args:
        token: The bearer ingest token (``mkl_...``).
        body: The request body as received.
        content_encoding: The Content-Encoding header (gzip or identity).
        now: The current time (tests pass a fixed one).

    Returns:
        The lines accepted, the lines dropped because they had already expired, the bytes
        counted against the quota, and whether the quota is reached.

    Raises:
        Unauthenticated: Wrong or revoked token (401).
        PayloadTooLarge: Too big or too many lines (413).
        Invalid: Malformed lines, with line numbers (422).
        Forbidden: A line for another cluster (403).
        RateLimited: The organisation is far over its quota (429).

    """
    identity = authenticate_ingest(token)
    return store_batch(identity, decode_body(body, content_encoding), now=now)


def store_batch(
    identity: IngestIdentity, data: bytes, *, now: datetime | None = None
) -> IngestResult:
    """Validate and store decoded JSON lines for `identity`'s cluster, all or nothing.

    The HTTP endpoint calls it after authenticating the token; the portal's own
    collectors (the sandbox simulator, cloud control-plane pulls) call it directly.

    Raises:
        Invalid: Malformed lines, with line numbers (422).
        Forbidden: A line for another cluster (403).
        RateLimited: The organisation is far over its quota (429).

    """
    now = now or utcnow()
    today = now.date()
    with session_scope() as s:
        settings = org_settings_row(s, identity.org_id)
        cp_days = control_plane_days(s, identity.cluster_id)
        app_days = settings.app_retention_days
    parsed = parse_batch(data, identity, app_days, cp_days, now)
    keep = [p for p in parsed if p.line.expires_on >= today]
    size = sum(p.size for p in keep)
    reached = False
    with session_scope() as s:
        settings = org_settings_row(s, identity.org_id)
        used = used_bytes(s, identity.org_id, settings.app_retention_days, today)
        if used >= settings.quota_bytes * HARD_LIMIT_FACTOR:
            raise RateLimited(
                "The organisation's log quota is exhausted; lines are refused until retention "
                "frees space or an operator raises the quota."
            )
        if keep:
            conn = s.connection()
            get_store().insert([p.line for p in keep], conn)
            _add_usage(conn, identity.org_id, today, size, len(keep))
        reached = used + size >= settings.quota_bytes
        warn = reached and settings.warned_at is None
        if warn:
            settings.warned_at = now
            s.add(settings)
            owners = owner_emails(s, identity.org_id)
            audit.record(
                s,
                Actor.system("log-ingest"),
                "logs.quota_reached",
                target_type="organization",
                target_id=identity.org_id,
                org_id=identity.org_id,
                detail={"used_bytes": used + size, "quota_bytes": settings.quota_bytes},
            )
        elif not reached and settings.warned_at is not None:
            settings.warned_at = None
            s.add(settings)
    if warn:
        _warn_owners(owners, used + size, settings.quota_bytes)
    return IngestResult(len(keep), len(parsed) - len(keep), size, reached)


def _warn_owners(owners: list[str], used: int, quota: int) -> None:
    """Email the organisation's owners that its log quota is reached (once per episode)."""
    from mkportal.services import mail
    from mkportal.settings import get_settings

    link = f"{get_settings().base_url.rstrip('/')}/clusters"
    for to in owners:
        mail.send(
            to,
            "Your log quota is reached",
            f"Your organisation's stored logs ({used / 1048576:,.1f} MiB) reached its quota "
            f"of {quota / 1048576:,.1f} MiB. Far over the quota new lines are refused until "
            "retention frees space. Shorten the retention in a cluster's Logs tab, or ask "
            f"your operator for a larger quota.\n\n{link}\n",
        )
