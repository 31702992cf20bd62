"""Metrics and alerting: app metrics collection, incidents, dashboards, alarms, in-app inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow


class MetricsCollection(SQLModel, table=True):
    """A cluster's application metrics collection (a missing row means it is off).

    `namespaces` empty means every namespace. Enabling installs the scrape configuration
    of the `metrics-agent` feature in the cluster.
    """

    __tablename__ = "metrics_collection"

    cluster_id: str = Field(foreign_key="cluster.id", primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    enabled: bool = Field(default=False, index=True)
    namespaces: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="off", max_length=16)
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    enabled_by: str = Field(default="", max_length=254)
    enabled_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Incident(SQLModel, table=True):
    """One alert occurrence from Alertmanager (fingerprint + start), with its life cycle.

    Status: open -> acknowledged -> resolved. `org_id`/`cluster_id` are empty for alerts
    that are not about one cluster.
    """

    __tablename__ = "incident"
    __table_args__ = (UniqueConstraint("fingerprint", "starts_at", name="uq_incident_alert"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    fingerprint: str = Field(max_length=64)
    starts_at: datetime
    alertname: str = Field(index=True, max_length=100)
    severity: str = Field(default="warning", max_length=16)
    priority: str = Field(default="P3", max_length=8)
    org_id: str = Field(default="", index=True, max_length=32)
    cluster_id: str = Field(default="", index=True, max_length=32)
    status: str = Field(default="open", index=True, max_length=16)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    runbook: str = Field(default="", max_length=100)
    labels: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ends_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str = Field(default="", max_length=254)
    resolved_at: datetime | None = None
    resolved_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class IncidentEvent(SQLModel, table=True):
    """A timeline entry of an incident: fired, notified, acknowledged, resolved, comment."""

    __tablename__ = "incident_event"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(foreign_key="incident.id", index=True, max_length=32)
    at: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=32)
    actor: str = Field(default="", max_length=254)
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class WebhookDelivery(SQLModel, table=True):
    """A webhook payload already processed, by content digest (replays are ignored)."""

    __tablename__ = "webhook_delivery"

    key: str = Field(primary_key=True, max_length=80)
    source: str = Field(max_length=32)
    received_at: datetime = Field(default_factory=utcnow)


class Dashboard(SQLModel, table=True):
    """A custom metrics dashboard of an organisation.

    `panels` is a list of {title, query, chart, unit, thresholds: [{value, color}],
    cluster_id} in grid order.
    """

    __tablename__ = "dashboard"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    name: str = Field(max_length=100)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    panels: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Alarm(SQLModel, table=True):
    """A user's alarm: a confined query compared with a threshold for a duration.

    `cluster_id` empty means every cluster of the organisation. `channels` is a subset of
    ["email", "webhook", "in_app"]. State: ok, pending, firing, error.
    """

    __tablename__ = "alarm"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    cluster_id: str = Field(default="", max_length=32)
    name: str = Field(max_length=100)
    query: str = Field(sa_column=Column(Text, nullable=False))
    comparator: str = Field(default=">", max_length=2)
    threshold: float = 0.0
    for_seconds: int = 0
    severity: str = Field(default="warning", max_length=16)
    channels: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    emails: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    webhook_url: str = Field(default="", max_length=500)
    enabled: bool = Field(default=True, index=True)
    state: str = Field(default="ok", max_length=16)
    pending_since: datetime | None = None
    last_value: float | None = None
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    last_evaluated_at: datetime | None = None
    created_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AlarmEvent(SQLModel, table=True):
    """An alarm's history: when it fired, resolved or could not be evaluated."""

    __tablename__ = "alarm_event"

    id: int | None = Field(default=None, primary_key=True)
    alarm_id: str = Field(foreign_key="alarm.id", index=True, max_length=32)
    org_id: str = Field(index=True, max_length=32)
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(max_length=16)
    value: float | None = None
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class Notification(SQLModel, table=True):
    """An in-app notice for one user (the bell). `dedupe_key` makes each notice unique."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("user_id", "dedupe_key", name="uq_notification_once"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    org_id: str = Field(default="", max_length=32)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    link: str = Field(default="", max_length=500)
    dedupe_key: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    read_at: datetime | None = None
