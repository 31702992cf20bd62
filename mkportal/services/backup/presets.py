"""Backup schedule presets: hourly, daily at a time, weekly on a day, or a cron expression.

`expand` turns a preset and its parameters into the effective cron expression stored in
`BackupSchedule.cron`; `params` reads them back from a saved schedule; `describe` says a
schedule in words.
"""

from __future__ import annotations

import re

from mkportal.models.backup import BackupSchedule
from mkportal.services.backup.cronspec import check_cron
from mkportal.services.errors import Invalid

PRESETS = ("hourly", "daily", "weekly", "cron")
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
FIELDS = ("name", "preset", "time", "minute", "weekday", "cron", "enabled")
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def describe(preset: str, cron: str, tz: str) -> str:
    """Return a schedule in words, e.g. "Daily at 03:00 (Europe/Zurich)"."""
    parts = cron.split(" ")
    if preset == "hourly":
        return f"Hourly at minute {int(parts[0])}"
    if preset in ("daily", "weekly"):
        at = f"{int(parts[1]):02d}:{int(parts[0]):02d}"
        if preset == "daily":
            return f"Daily at {at} ({tz})"
        return f"Weekly on {WEEKDAYS[int(parts[4]) % 7].title()} at {at} ({tz})"
    return f"Cron {cron} ({tz})"


def params(row: BackupSchedule | None) -> dict:
    """Return the preset parameters a saved schedule was made from."""
    if row is None or row.preset == "cron":
        return {"preset": row.preset if row else "daily", "cron": row.cron if row else ""}
    minute, hour, _dom, _mon, dow = row.cron.split(" ")
    out = {"preset": row.preset, "minute": int(minute)}
    if row.preset != "hourly":
        out["time"] = f"{int(hour):02d}:{int(minute):02d}"
    if row.preset == "weekly":
        out["weekday"] = WEEKDAYS[int(dow) % 7]
    return out


def _weekday(value: object) -> int:
    text = str(value).strip().lower()
    for i, name in enumerate(WEEKDAYS):
        if text in (name, name[:3]):
            return i
    raise Invalid({"weekday": "Choose a weekday: monday to sunday."})


def expand(data: dict) -> tuple[str, str]:
    """Return (preset, cron) for schedule parameters.

    Args:
        data: `preset` and its parameters: hourly takes `minute` (0-59), daily `time`
            ("HH:MM"), weekly `weekday` and `time`, cron `cron` (at most every 15 minutes).

    Raises:
        Invalid: An unknown preset or a bad parameter.

    """
    preset = str(data.get("preset") or "")
    if preset not in PRESETS:
        raise Invalid({"preset": f"Choose one of: {', '.join(PRESETS)}."})
    if preset == "cron":
        return preset, check_cron(str(data.get("cron") or ""))
    if preset == "hourly":
        minute = data.get("minute", 0)
        if isinstance(minute, bool) or not isinstance(minute, int) or not 0 <= minute <= 59:
            raise Invalid({"minute": "Enter the minute past the hour, 0 to 59."})
        return preset, f"{minute} * * * *"
    match = TIME_RE.match(str(data.get("time") or "").strip())
    if not match:
        raise Invalid({"time": "Enter a time of day as HH:MM, e.g. 03:00."})
    hour, minute = int(match[1]), int(match[2])
    if preset == "daily":
        return preset, f"{minute} {hour} * * *"
    return preset, f"{minute} {hour} * * {_weekday(data.get('weekday', ''))}"


def clean_name(value: object) -> str:
    """Return a schedule name with whitespace collapsed; raise Invalid unless 1-100 chars."""
    name = " ".join(str(value or "").split())
    if not 1 <= len(name) <= 100:
        raise Invalid({"name": "Enter a name of 1 to 100 characters."})
    return name


def check_fields(data: dict) -> None:
    """Raise Invalid for unknown fields or a non-boolean `enabled`."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise Invalid({unknown[0]: f"Unknown field; use {', '.join(FIELDS)}."})
    if "enabled" in data and not isinstance(data["enabled"], bool):
        raise Invalid({"enabled": "Use true or false."})
