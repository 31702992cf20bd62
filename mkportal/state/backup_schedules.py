"""State of the Backups tab's cards: schedules, retention and restore drills.

Viewers read them; members and owners add and delete schedules, change retention and
run drills. The services check every change; field errors come back as `Invalid`.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from mkportal.services.actor import Actor
from mkportal.services.backup import drills, policy, schedules
from mkportal.services.errors import NotFound
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.session import SessionState

PRESETS = [
    {"value": "hourly", "label": "Hourly"},
    {"value": "daily", "label": "Daily at a time"},
    {"value": "weekly", "label": "Weekly on a day at a time"},
    {"value": "cron", "label": "Cron expression"},
]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
RETENTION_FIELDS = ("keep_last", "keep_daily", "keep_weekly", "keep_monthly")
WRITERS = ("owner", "member", "operator")


def schedule_row(view: Any) -> dict[str, str]:
    """Turn a ScheduleView into the strings the schedules card shows."""
    return {
        "id": view.id,
        "name": view.name,
        "preset": view.preset,
        "cron": view.cron,
        "description": view.description,
        "enabled": "yes" if view.enabled else "",
        "default": "yes" if view.is_default else "",
        "next_run": when(view.next_run_at) or "–",
        "last_run": when(view.last_run_at) or "never",
    }


def drill_row(view: Any) -> dict[str, str]:
    """Turn a DrillView into the strings the drills card shows."""
    return {
        "id": view.id,
        "status": view.status,
        "backup_id": view.backup_id or "–",
        "started": when(view.started_at),
        "finished": when(view.finished_at) or "–",
        "message": view.message or "",
        "operation_id": view.operation_id or "",
    }


def policy_form(view: Any) -> dict[str, str]:
    """Return the retention form's values of a PolicyView."""
    out = {name: str(getattr(view, name)) for name in RETENTION_FIELDS}
    out["timezone"] = view.timezone
    out["drill_cron"] = view.drill_cron
    return out


def _schedule_data(form: dict) -> dict[str, Any]:
    preset = str(form.get("preset", "daily"))
    name = str(form.get("name", "")).strip() or preset.capitalize()
    data: dict[str, Any] = {"preset": preset, "name": name}
    if preset == "hourly":
        raw = str(form.get("minute", "")).strip() or "0"
        data["minute"] = int(raw) if raw.isdigit() else raw
    if preset in ("daily", "weekly"):
        data["time"] = str(form.get("time", "")).strip()
    if preset == "weekly":
        data["weekday"] = str(form.get("weekday", "")).strip()
    if preset == "cron":
        data["cron"] = str(form.get("cron", "")).strip()
    return data


def _policy_data(form: dict) -> dict[str, Any]:
    data: dict[str, Any] = {
        "timezone": str(form.get("timezone", "")).strip(),
        "drill_cron": str(form.get("drill_cron", "")).strip(),
    }
    for name in RETENTION_FIELDS:
        raw = str(form.get(name, "")).strip()
        data[name] = int(raw) if raw.isdigit() else raw
    return data


class BackupSchedulesState(SessionState):
    """Schedules, retention and drills of the cluster named in the URL."""

    cluster_id: str = ""
    missing: bool = False
    can_write: bool = False
    schedules: list[dict[str, str]] = []
    retention: dict[str, str] = {}
    drills: list[dict[str, str]] = []
    preset: str = "daily"
    field_errors: dict[str, str] = {}

    def _refresh(self, actor: Actor) -> None:
        self.schedules = [schedule_row(v) for v in schedules.list_schedules(actor, self.cluster_id)]
        self.retention = policy_form(policy.get_policy(actor, self.cluster_id))
        self.drills = [drill_row(v) for v in drills.list_drills(actor, self.cluster_id)]

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read the cluster's schedules, retention policy and drills."""
        self.cluster_id = str(self.router.page.params.get("cluster_id", ""))
        self.missing, self.field_errors = False, {}
        self.can_write = actor.is_operator or actor.role in WRITERS
        try:
            self._refresh(actor)
        except NotFound:
            self.missing, self.schedules, self.retention, self.drills = True, [], {}, []

    @rx.event
    def set_preset(self, value: str) -> None:
        """Choose the kind of schedule to add (the form shows its fields)."""
        self.preset = value if value in {p["value"] for p in PRESETS} else "daily"

    @rx.event
    @authed
    def add_schedule(self, actor: Actor, form: dict):  # noqa: ANN201
        """Add a schedule: hourly, daily at a time, weekly, or a cron expression."""
        self.field_errors = {}
        view = schedules.create_schedule(
            actor, self.cluster_id, _schedule_data({**form, "preset": self.preset})
        )
        self._refresh(actor)
        return rx.toast.success(f"Schedule added: next backup {when(view.next_run_at)}.")

    @rx.event
    @authed
    def set_enabled(self, actor: Actor, schedule_id: str, enabled: bool):  # noqa: ANN201
        """Pause or resume a schedule."""
        schedules.update_schedule(actor, str(schedule_id), {"enabled": bool(enabled)})
        self._refresh(actor)
        return rx.toast.success("Schedule resumed." if enabled else "Schedule paused.")

    @rx.event
    @authed
    def delete_schedule(self, actor: Actor, schedule_id: str):  # noqa: ANN201
        """Delete a schedule."""
        schedules.delete_schedule(actor, str(schedule_id))
        self._refresh(actor)
        return rx.toast.success("Schedule deleted.")

    @rx.event
    @authed
    def save_retention(self, actor: Actor, form: dict):  # noqa: ANN201
        """Save the timezone, the retention rules and the drill schedule."""
        self.field_errors = {}
        policy.set_policy(actor, self.cluster_id, _policy_data(form))
        self._refresh(actor)
        return rx.toast.success("Retention saved.")

    @rx.event
    @authed
    def run_drill(self, actor: Actor):  # noqa: ANN201
        """Restore the newest good backup into a temporary cluster now and check it."""
        drills.run_drill_now(actor, self.cluster_id)
        self._refresh(actor)
        return rx.toast.success("Restore drill started.")

    @rx.event
    @authed
    def refresh(self, actor: Actor) -> None:
        """Read the cards again (a drill finished)."""
        self._refresh(actor)
