"""Backup and restore tables.

Storage per organisation, schedules, retention, the catalog, restores, restore drills, and
the versioned portal-side configuration of every cluster.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow


class BackupStorage(SQLModel, table=True):
    """Where an organisation's backups go (a missing row: the local directory under var/).

    `kind` is "local" or "s3"; for S3, `credentials_enc` holds the encrypted JSON
    {"access_key_id", "secret_access_key"}.
    """

    __tablename__ = "backup_storage"

    org_id: str = Field(foreign_key="organization.id", primary_key=True, max_length=32)
    kind: str = Field(default="local", max_length=16)
    bucket: str = Field(default="", max_length=63)
    prefix: str = Field(default="", max_length=200)
    endpoint_url: str = Field(default="", max_length=300)
    region: str = Field(default="", max_length=64)
    credentials_enc: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    updated_by: str = Field(default="", max_length=254)
    updated_at: datetime = Field(default_factory=utcnow)


class BackupPolicy(SQLModel, table=True):
    """A cluster's backup timezone, retention (last N + grandfather-father-son) and drills.

    `drill_cron` empty means no restore drills.
    """

    __tablename__ = "backup_policy"

    cluster_id: str = Field(foreign_key="cluster.id", primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    timezone: str = Field(default="UTC", max_length=64)
    keep_last: int = 7
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 6
    drill_cron: str = Field(default="", max_length=100)
    drill_next_at: datetime | None = None
    updated_by: str = Field(default="", max_length=254)
    updated_at: datetime = Field(default_factory=utcnow)


class BackupSchedule(SQLModel, table=True):
    """When a cluster is backed up: a preset (hourly, daily, weekly) or a cron expression.

    `cron` always holds the effective cron expression (presets are expanded), evaluated in
    the policy's timezone. `next_run_at` is in UTC.
    """

    __tablename__ = "backup_schedule"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    cluster_id: str = Field(foreign_key="cluster.id", index=True, max_length=32)
    name: str = Field(max_length=100)
    preset: str = Field(default="daily", max_length=16)
    cron: str = Field(max_length=100)
    enabled: bool = True
    is_default: bool = False
    next_run_at: datetime | None = Field(default=None, index=True)
    last_run_at: datetime | None = None
    created_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow)


class Backup(SQLModel, table=True):
    """One backup in the catalog.

    Status: running -> succeeded | failed; pruned once retention removed its archive. Only
    succeeded backups are restore points. `counts` is {"<group>/<Kind>": n}; `checksum` is
    the SHA-256 of the stored (encrypted) archive; `config` is the portal-side cluster
    configuration at backup time (version `config_version`). `kept_by` names the retention
    rule that keeps it ("locked", "last 7", "daily", "weekly", "monthly").
    """

    __tablename__ = "backup"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    cluster_id: str = Field(foreign_key="cluster.id", index=True, max_length=32)
    schedule_id: str = Field(default="", max_length=32)
    trigger: str = Field(default="manual", max_length=16)
    status: str = Field(default="running", index=True, max_length=16)
    operation_id: str = Field(default="", max_length=32)
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    size_bytes: int = 0
    object_count: int = 0
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    checksum: str = Field(default="", max_length=64)
    storage_kind: str = Field(default="local", max_length=16)
    storage_key: str = Field(default="", max_length=500)
    config: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    config_version: int = 0
    k8s_version: str = Field(default="", max_length=16)
    locked: bool = False
    kept_by: str = Field(default="", max_length=32)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_by: str = Field(default="", max_length=254)
    pruned_at: datetime | None = None


class Restore(SQLModel, table=True):
    """A restore of a backup into a cluster: merge or replace in place, or into a clone.

    `scope` is {"namespaces": [...], "kinds": [...]} (empty lists: everything). `diff` is
    the dry-run summary shown before applying; `result` what was applied.
    """

    __tablename__ = "restore"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    backup_id: str = Field(foreign_key="backup.id", index=True, max_length=32)
    target_cluster_id: str = Field(default="", max_length=32)
    mode: str = Field(default="merge", max_length=16)
    scope: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    include_config: bool = False
    status: str = Field(default="pending", max_length=16)
    operation_id: str = Field(default="", max_length=32)
    diff: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    requested_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class BackupDrill(SQLModel, table=True):
    """A restore drill of a cluster's latest backup.

    The backup is restored into a temporary sandbox cluster, checked (object counts,
    checksum) and the cluster deleted; `result` holds what was compared.
    """

    __tablename__ = "backup_drill"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    cluster_id: str = Field(foreign_key="cluster.id", index=True, max_length=32)
    backup_id: str = Field(default="", max_length=32)
    temp_cluster_id: str = Field(default="", max_length=32)
    status: str = Field(default="running", max_length=16)
    operation_id: str = Field(default="", max_length=32)
    result: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    message: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class ClusterConfigVersion(SQLModel, table=True):
    """The portal-side configuration of a cluster after one change.

    Version, pools, features, service level, network and policies are kept per change, so
    "what did this cluster look like on date X" can be answered.
    """

    __tablename__ = "cluster_config_version"
    __table_args__ = (UniqueConstraint("cluster_id", "version", name="uq_config_version"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: str = Field(foreign_key="cluster.id", index=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    version: int
    spec: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = Field(default="", max_length=200)
    changed_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow, index=True)
