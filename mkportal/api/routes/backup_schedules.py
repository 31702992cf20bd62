"""Backup schedules, the backup policy (timezone, retention, drills), freshness and config versions."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from mkportal.api.deps import current_actor
from mkportal.api.schemas import Body
from mkportal.services.actor import Actor
from mkportal.services.backup import config_versions, freshness, policy, schedules

router = APIRouter(tags=["backups"])


class ScheduleBody(Body):
    """A schedule: a preset with its parameters, or a cron expression.

    hourly takes `minute`; daily takes `time` ("HH:MM"); weekly takes `weekday` and
    `time`; cron takes `cron` (five fields, at most every 15 minutes). Times are in the
    cluster's backup timezone (see the backup policy).
    """

    name: str | None = Field(default=None, max_length=100)
    preset: str | None = Field(default=None, max_length=16)
    time: str | None = Field(default=None, max_length=5)
    minute: int | None = None
    weekday: str | None = Field(default=None, max_length=16)
    cron: str | None = Field(default=None, max_length=100)
    enabled: bool | None = None


class PolicyBody(Body):
    """Policy changes; omitted fields stay as they are."""

    timezone: str | None = Field(default=None, max_length=64)
    keep_last: int | None = None
    keep_daily: int | None = None
    keep_weekly: int | None = None
    keep_monthly: int | None = None
    drill_cron: str | None = Field(default=None, max_length=100)


def _data(body: Body) -> dict:
    return {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}


@router.get("/clusters/{cluster_id}/backup-schedules")
def list_schedules(
    cluster_id: str, actor: Actor = Depends(current_actor)
) -> list[schedules.ScheduleView]:
    """List a cluster's backup schedules (next run in UTC)."""
    return schedules.list_schedules(actor, cluster_id)


@router.post("/clusters/{cluster_id}/backup-schedules", status_code=201)
def create_schedule(
    cluster_id: str, body: ScheduleBody, actor: Actor = Depends(current_actor)
) -> schedules.ScheduleView:
    """Add a backup schedule (members and owners)."""
    return schedules.create_schedule(actor, cluster_id, _data(body))


@router.patch("/backup-schedules/{schedule_id}")
def update_schedule(
    schedule_id: str, body: ScheduleBody, actor: Actor = Depends(current_actor)
) -> schedules.ScheduleView:
    """Change a schedule's name, timing or enabled flag; timing fields merge with the current."""
    return schedules.update_schedule(actor, schedule_id, _data(body))


@router.delete("/backup-schedules/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: str, actor: Actor = Depends(current_actor)) -> Response:
    """Delete a schedule (the default daily one too)."""
    schedules.delete_schedule(actor, schedule_id)
    return Response(status_code=204)


@router.get("/clusters/{cluster_id}/backup-policy")
def get_policy(cluster_id: str, actor: Actor = Depends(current_actor)) -> policy.PolicyView:
    """Return the cluster's backup timezone, retention and drill schedule."""
    return policy.get_policy(actor, cluster_id)


@router.put("/clusters/{cluster_id}/backup-policy")
def set_policy(
    cluster_id: str, body: PolicyBody, actor: Actor = Depends(current_actor)
) -> policy.PolicyView:
    """Change the timezone, retention or drill schedule (members and owners)."""
    return policy.set_policy(actor, cluster_id, _data(body))


@router.get("/clusters/{cluster_id}/backup-freshness")
def get_freshness(cluster_id: str, actor: Actor = Depends(current_actor)) -> freshness.Freshness:
    """Return the newest good backup's time, the age the schedules allow, and whether it is stale."""
    return freshness.get_freshness(actor, cluster_id)


@router.get("/clusters/{cluster_id}/config-versions", response_model=None)
def config_history(
    cluster_id: str,
    at: datetime | None = Query(None, description="Only the version in effect at this time."),
    actor: Actor = Depends(current_actor),
) -> list[config_versions.ConfigVersionView] | dict:
    """List the cluster's configuration versions, newest first, or the one in effect `at`."""
    if at is not None:
        return config_versions.at(actor, cluster_id, at)
    return config_versions.list_versions(actor, cluster_id)
