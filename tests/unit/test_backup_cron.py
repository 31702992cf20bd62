"""Cron expressions in IANA timezones: validation and daylight-saving rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mkportal.services.backup.cronspec import (
    check_cron,
    check_timezone,
    fires_between,
    next_run,
)
from mkportal.services.errors import Invalid


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "Enter a cron expression"),
        ("0 3 * *", "five fields"),
        ("0 0 3 * * *", "five fields"),
        ("61 * * * *", "not a valid cron"),
        ("*/5 * * * *", "every 15 minutes"),
        ("0,50 * * * *", "every 15 minutes"),
        ("0 0 31 2 *", "never runs"),
        ("@reboot", "Use one of"),
    ],
    ids=[
        "empty",
        "four-fields",
        "six-fields",
        "bad-minute",
        "every-5",
        "wrap-10",
        "feb-31",
        "reboot",
    ],
)
def test_bad_cron_is_refused_with_a_clear_message(expr, message):
    with pytest.raises(Invalid) as err:
        check_cron(expr)
    assert message in err.value.errors["cron"]


@pytest.mark.parametrize(
    "expr",
    ["*/15 * * * *", "0,50 1 * * *", "0 3 * * 1-5", "  30   2 * * *  ", "@daily"],
    ids=["every-15", "two-in-one-hour-no-wrap", "weekdays", "spaces", "macro"],
)
def test_good_cron_is_accepted(expr):
    assert check_cron(expr) == " ".join(expr.split())


def test_timezones_are_validated():
    assert check_timezone("Europe/Zurich") == "Europe/Zurich"
    assert check_timezone("UTC") == "UTC"
    for bad in ("", "Mars/Olympus", "../etc/passwd", "europe/zurich"):
        with pytest.raises(Invalid):
            check_timezone(bad)


def test_daily_in_a_timezone_follows_the_local_clock_across_dst():
    # Zurich: CET (+1) until 2026-03-29 02:00, then CEST (+2).
    runs = fires_between("0 3 * * *", "Europe/Zurich", utc(2026, 3, 27), utc(2026, 3, 31))
    assert runs == [
        utc(2026, 3, 27, 2),
        utc(2026, 3, 28, 2),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 30, 1),
    ]


def test_time_in_the_spring_gap_runs_once_the_gap_later():
    runs = fires_between("30 2 * * *", "Europe/Zurich", utc(2026, 3, 28), utc(2026, 3, 31))
    # 02:30 does not exist on 29 March: it runs at 03:30 CEST (01:30 UTC), once.
    assert runs == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]


def test_time_repeated_in_autumn_runs_once():
    # New York: EDT (-4) until 2026-11-01 02:00, then EST (-5); 01:30 happens twice.
    runs = fires_between("30 1 * * *", "America/New_York", utc(2026, 10, 31), utc(2026, 11, 3))
    assert runs == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


def test_hourly_follows_real_time_25_and_23_runs_on_the_change_days():
    long_day = fires_between(
        "0 * * * *", "America/New_York", utc(2026, 11, 1, 4) - timedelta(seconds=1),
        utc(2026, 11, 2, 5) - timedelta(seconds=1),
    )  # fmt: skip
    assert len(long_day) == 25
    assert all(b - a == timedelta(hours=1) for a, b in zip(long_day, long_day[1:], strict=False))
    short_day = fires_between(
        "0 * * * *", "Europe/Zurich", utc(2026, 3, 28, 23) - timedelta(seconds=1),
        utc(2026, 3, 29, 22) - timedelta(seconds=1),
    )  # fmt: skip
    assert len(short_day) == 23


def test_half_hour_offsets_and_southern_hemisphere():
    # Kolkata is +05:30 all year; Sydney leaves daylight saving on 2026-04-05 (03:00 -> 02:00).
    assert next_run("0 3 * * *", "Asia/Kolkata", utc(2026, 6, 1)) == utc(2026, 6, 1, 21, 30)
    runs = fires_between("30 2 * * *", "Australia/Sydney", utc(2026, 4, 3, 12), utc(2026, 4, 6, 12))
    assert runs == [utc(2026, 4, 3, 15, 30), utc(2026, 4, 4, 15, 30), utc(2026, 4, 5, 16, 30)]


def test_next_run_is_strictly_after():
    at = utc(2026, 5, 1, 3)
    assert next_run("0 3 * * *", "UTC", at) == utc(2026, 5, 2, 3)
    assert next_run("0 3 * * *", "UTC", at - timedelta(microseconds=1)) == at
