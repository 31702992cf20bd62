"""The authorized read API of historic logs (used by the REST API and the UI).

End-Users read their own organisation's application logs. Control-plane logs are for
operators, or for an organisation an operator granted them to. Another organisation's
cluster is NotFound. Operators read everything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from mkportal.db import session_scope
from mkportal.services.actor import Actor
from mkportal.services.errors import Forbidden, Invalid, NotFound
from mkportal.services.logs.retention import org_settings_row
from mkportal.services.logs.store import (
    LEVELS,
    MAX_LIMIT,
    STREAMS,
    Bucket,
    Cursor,
    LogPage,
    LogQuery,
    LogRecord,
    get_store,
)
from mkportal.services.logs.tokens import visible_cluster

MAX_TEXT = 512


@dataclass
class LogFilters:
    """What the caller asks for (validated by `build_query`).

    Attributes:
        stream: "app" or "control-plane".
        start: Inclusive lower time bound (UTC), or None.
        end: Exclusive upper time bound (UTC), or None.
        namespace: Exact namespace ("" = any).
        pod: Exact pod.
        container: Exact container.
        levels: Levels to keep (empty = all).
        component: Exact control-plane component.
        text: Words to search for (AND); treated as plain text.
        cursor: An opaque cursor from a previous page.
        direction: "older" or "newer" than the cursor.
        limit: Page size, 1..1000.

    """

    stream: str = "app"
    start: datetime | None = None
    end: datetime | None = None
    namespace: str = ""
    pod: str = ""
    container: str = ""
    levels: tuple[str, ...] = ()
    component: str = ""
    text: str = ""
    cursor: str | None = None
    direction: str = "older"
    limit: int = 100


def can_read_control_plane(actor: Actor, org_id: str) -> bool:
    """Whether `actor` may read the control-plane logs of `org_id`'s clusters."""
    if actor.is_operator:
        return True
    with session_scope() as s:
        return org_settings_row(s, org_id).operator_grants_control_plane


def build_query(actor: Actor, cluster_id: str, filters: LogFilters) -> LogQuery:
    """Authorize and validate a read of one cluster's logs.

    Raises:
        NotFound: The cluster does not exist or is another organisation's.
        Forbidden: Control-plane logs without an operator's grant.
        Invalid: Bad filters, with field names.

    """
    with session_scope() as s:
        org_id = visible_cluster(s, actor, cluster_id).org_id
    errors: dict[str, str] = {}
    if filters.stream not in STREAMS:
        errors["stream"] = "Use 'app' or 'control-plane'."
    bad = [lv for lv in filters.levels if lv not in LEVELS]
    if bad:
        errors["level"] = f"Unknown level {bad[0]!r}; use {', '.join(LEVELS)}."
    if not 1 <= filters.limit <= MAX_LIMIT:
        errors["limit"] = f"Choose between 1 and {MAX_LIMIT}."
    if len(filters.text) > MAX_TEXT:
        errors["q"] = f"Use at most {MAX_TEXT} characters."
    if filters.direction not in ("older", "newer"):
        errors["direction"] = "Use 'older' or 'newer'."
    if filters.start and filters.end and filters.start >= filters.end:
        errors["from"] = "The start must be before the end."
    cursor = None
    if filters.cursor:
        try:
            cursor = Cursor.decode(filters.cursor)
        except ValueError:
            errors["cursor"] = "Not a cursor from a previous page."
    if errors:
        raise Invalid(errors)
    if filters.stream == "control-plane" and not can_read_control_plane(actor, org_id):
        raise Forbidden("Control-plane logs are available to operators, or when they grant it.")
    return LogQuery(
        org_id=org_id,
        cluster_id=cluster_id,
        stream=filters.stream,
        start=filters.start,
        end=filters.end,
        namespace=filters.namespace,
        pod=filters.pod,
        container=filters.container,
        levels=tuple(filters.levels),
        component=filters.component,
        text=filters.text,
        cursor=cursor,
        direction=filters.direction,
        limit=filters.limit,
    )


def search_logs(actor: Actor, cluster_id: str, filters: LogFilters) -> LogPage:
    """Return one page of a cluster's log lines, newest first."""
    return get_store().search(build_query(actor, cluster_id, filters))


def log_histogram(
    actor: Actor, cluster_id: str, filters: LogFilters, buckets: int = 60
) -> list[Bucket]:
    """Count a cluster's matching lines per level over time.

    Raises:
        Invalid: Without a time range, or buckets outside 1..500.

    """
    if filters.start is None or filters.end is None:
        raise Invalid({"from": "A histogram needs both 'from' and 'to'."})
    if not 1 <= buckets <= 500:
        raise Invalid({"buckets": "Choose between 1 and 500."})
    return get_store().histogram(build_query(actor, cluster_id, filters), buckets)


def line_context(
    actor: Actor,
    cluster_id: str,
    line_id: int,
    *,
    stream: str = "app",
    before: int = 20,
    after: int = 20,
) -> list[LogRecord]:
    """Return a line with up to `before`/`after` neighbours from the same source.

    Raises:
        NotFound: No such line in a cluster (and stream) the caller may read.

    """
    query = build_query(actor, cluster_id, LogFilters(stream=stream))
    lines = get_store().context(query, line_id, before, after)
    if not lines:
        raise NotFound("Not found.")
    return lines


def tail_logs(
    actor: Actor, cluster_id: str, filters: LogFilters, after: str | None = None
) -> list[LogRecord]:
    """Return the lines newer than cursor `after`, oldest first (for live tailing)."""
    query = build_query(actor, cluster_id, replace(filters, cursor=None))
    cursor = None
    if after:
        try:
            cursor = Cursor.decode(after)
        except ValueError as exc:
            raise Invalid({"after": "Not a cursor from a previous page."}) from exc
    return get_store().tail(query, cursor)
