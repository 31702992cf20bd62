"""Decimal money and billing periods (``YYYY-MM`` months in UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from mkportal.services.errors import Invalid

CENT = Decimal("0.01")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def to_decimal(value: object, field: str = "amount") -> Decimal:
    """Parse `value` (str, int or Decimal; never float) into a finite Decimal.

    Raises:
        Invalid: Not a number (floats are refused: money never goes through binary floats).

    """
    if isinstance(value, float | bool):
        raise Invalid({field: "Send amounts as strings or integers, not floats."})
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Invalid({field: f"{value!r} is not a number."}) from None
    if not d.is_finite():
        raise Invalid({field: "Must be a finite number."})
    return d


def money(value: Decimal) -> Decimal:
    """Round to cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_period(period: str, field: str = "period") -> tuple[datetime, datetime]:
    """Return the UTC start (inclusive) and end (exclusive) of month ``YYYY-MM``.

    Raises:
        Invalid: Not a ``YYYY-MM`` month.

    """
    m = _PERIOD.match(str(period).strip())
    if not m:
        raise Invalid({field: "Use a month as YYYY-MM, e.g. 2026-11."})
    year, month = int(m.group(1)), int(m.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def period_of(when: datetime) -> str:
    """Return the ``YYYY-MM`` period containing `when` (UTC)."""
    return as_utc(when).strftime("%Y-%m")


def previous_period(when: datetime) -> str:
    """Return the month before the one containing `when`."""
    first = as_utc(when).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return period_of(first - timedelta(days=1))


def hours_in(period: str) -> int:
    """Return the number of hours in month ``YYYY-MM``."""
    start, end = parse_period(period)
    return int((end - start).total_seconds() // 3600)


def as_utc(when: datetime) -> datetime:
    """Return `when` as an aware UTC datetime (naive values are taken as UTC)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def floor_hour(when: datetime) -> datetime:
    """Return the start of the UTC hour containing `when`."""
    return as_utc(when).replace(minute=0, second=0, microsecond=0)
