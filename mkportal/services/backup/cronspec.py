"""Cron expressions evaluated in an IANA timezone, with cron's daylight-saving rules.

Times are matched on the local wall clock. Around daylight-saving changes the rules of
Vixie cron apply:

- a fixed-time schedule (its hour field is not a wildcard) whose time falls into the hour
  skipped in spring runs once, the length of the gap later (02:30 becomes 03:30);
- a fixed-time schedule whose time occurs twice in autumn runs once, at the first one;
- a schedule whose hour field is a wildcard (`*`, `*/2`, hourly presets) follows real
  time: it runs on each real occurrence, so an hourly schedule runs 23 times on the short
  day and 25 times on the long one.

Every instant returned is timezone-aware UTC.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadDateError, croniter

from mkportal.services.errors import Invalid

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
REORDER = timedelta(hours=3)  # local times around a change may map out of order by this much
MAX_STEPS = 5000


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(name: str, field: str = "timezone") -> str:
    """Return `name` if it is an IANA timezone, else raise Invalid naming `field`."""
    name = (name or "").strip()
    if name == "UTC":
        return name
    if not name or name not in _zones():
        raise Invalid({field: f"'{name}' is not an IANA timezone such as Europe/Zurich."})
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid({field: f"'{name}' is not an IANA timezone."}) from exc
    return name


def _minute_gap(expanded: list) -> int:
    """Return the shortest distance in minutes between two fire times of an expansion."""
    minutes = [m for m in expanded[0] if m != "*"] or list(range(60))
    hours = [h for h in expanded[1] if h != "*"] or list(range(24))
    gaps = [b - a for a, b in zip(minutes, minutes[1:], strict=False)]
    hour_set = set(hours)
    if any((h + 1) % 24 in hour_set for h in hours):
        gaps.append(60 - minutes[-1] + minutes[0])
    return min(gaps) if gaps else 60


def check_cron(expr: str, *, min_minutes: int = 15, field: str = "cron") -> str:
    """Validate a 5-field cron expression (or a macro such as @daily).

    Args:
        expr: The expression.
        min_minutes: The shortest interval allowed between two runs.
        field: The field name for errors.

    Returns:
        The expression, whitespace-normalised.

    Raises:
        Invalid: Not a valid expression, runs more often than `min_minutes`, or never runs.

    """
    text = " ".join((expr or "").split())
    if not text:
        raise Invalid({field: "Enter a cron expression such as '0 3 * * *'."})
    if text.startswith("@"):
        if text not in MACROS:
            raise Invalid({field: f"Use one of {', '.join(MACROS)} or five fields."})
    elif len(text.split(" ")) != 5:
        raise Invalid(
            {field: "A cron expression has five fields: minute hour day-of-month month weekday."}
        )
    if len(text) > 100 or not croniter.is_valid(text):
        raise Invalid({field: f"'{text}' is not a valid cron expression."})
    if _minute_gap(croniter(text).expanded) < min_minutes:
        raise Invalid(
            {field: f"Runs more often than every {min_minutes} minutes; that is the limit."}
        )
    try:
        croniter(text, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise Invalid({field: f"'{text}' never runs (no such date)."}) from exc
    return text


def wildcard_hours(expr: str) -> bool:
    """Whether the hour field is a wildcard, so the schedule follows real time."""
    if expr.startswith("@"):
        return expr == "@hourly"
    return expr.split(" ")[1].startswith("*")


def _instants(local: datetime, tz: ZoneInfo, real_time: bool) -> list[datetime]:
    """Map a naive local wall-clock time onto the UTC instants it fires at."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second:
        return [first]
    exists = first.astimezone(tz).replace(tzinfo=None) == local
    if exists:  # occurs twice (autumn)
        return [first, second] if real_time else [first]
    if real_time:  # skipped hour (spring): a real-time schedule has no such time
        return []
    return [max(first, second)]


def _naive_local(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz).replace(tzinfo=None)


def fires_after(expr: str, tz_name: str, after: datetime) -> Iterator[datetime]:
    """Yield the UTC instants at which `expr` fires in `tz_name`, strictly after `after`.

    Args:
        expr: A validated cron expression.
        tz_name: An IANA timezone.
        after: A timezone-aware instant.

    Yields:
        Ascending, distinct UTC instants.

    """
    tz = ZoneInfo(tz_name)
    real_time = wildcard_hours(expr)
    it = croniter(expr, _naive_local(after - REORDER, tz))
    pending: list[datetime] = []
    last = after
    for _ in range(MAX_STEPS):
        try:
            local = it.get_next(datetime)
        except CroniterBadDateError:
            break
        for instant in _instants(local, tz, real_time):
            if instant > after:
                heapq.heappush(pending, instant)
        # Later local times map to instants no earlier than this bound.
        bound = local.replace(tzinfo=tz, fold=0).astimezone(UTC) - REORDER
        while pending and pending[0] < bound:
            instant = heapq.heappop(pending)
            if instant > last:
                last = instant
                yield instant
    while pending:
        instant = heapq.heappop(pending)
        if instant > last:
            last = instant
            yield instant


def next_run(expr: str, tz_name: str, after: datetime) -> datetime:
    """Return the first instant `expr` fires in `tz_name` strictly after `after` (UTC)."""
    for instant in fires_after(expr, tz_name, after):
        return instant
    raise Invalid({"cron": f"'{expr}' never runs again."})


def fires_between(expr: str, tz_name: str, start: datetime, end: datetime) -> list[datetime]:
    """Return the instants `expr` fires in `tz_name` in (start, end]."""
    out = []
    for instant in fires_after(expr, tz_name, start):
        if instant > end:
            break
        out.append(instant)
    return out
