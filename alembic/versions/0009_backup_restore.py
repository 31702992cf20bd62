"""backup restore

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 02:29:27
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sandbox_object_ref_version", "sandbox_object", ["ref", "resource_version"])
    op.create_table(
        "backup_storage",
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("endpoint_url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("credentials_enc", sa.Text(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_table(
        "backup",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("cluster_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("schedule_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("operation_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("object_count", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("checksum", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("storage_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("k8s_version", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("kept_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("pruned_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backup_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_backup_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_backup_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_backup_status"), ["status"], unique=False)

    op.create_table(
        "backup_drill",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("cluster_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("backup_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("temp_cluster_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("operation_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backup_drill", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backup_drill_cluster_id"), ["cluster_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_backup_drill_org_id"), ["org_id"], unique=False)

    op.create_table(
        "backup_policy",
        sa.Column("cluster_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("keep_last", sa.Integer(), nullable=False),
        sa.Column("keep_daily", sa.Integer(), nullable=False),
        sa.Column("keep_weekly", sa.Integer(), nullable=False),
        sa.Column("keep_monthly", sa.Integer(), nullable=False),
        sa.Column("drill_cron", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("drill_next_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("cluster_id"),
    )
    with op.batch_alter_table("backup_policy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backup_policy_org_id"), ["org_id"], unique=False)

    op.create_table(
        "backup_schedule",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("cluster_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("preset", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("cron", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_run_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backup_schedule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backup_schedule_cluster_id"), ["cluster_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_backup_schedule_next_run_at"), ["next_run_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_backup_schedule_org_id"), ["org_id"], unique=False)

    op.create_table(
        "cluster_config_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cluster_id", "version", name="uq_config_version"),
    )
    with op.batch_alter_table("cluster_config_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cluster_config_version_cluster_id"), ["cluster_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cluster_config_version_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cluster_config_version_org_id"), ["org_id"], unique=False
        )

    op.create_table(
        "restore",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("org_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("backup_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("target_cluster_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("include_config", sa.Boolean(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("operation_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["backup_id"],
            ["backup.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("restore", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_restore_backup_id"), ["backup_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_restore_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sandbox_object_ref_version", table_name="sandbox_object")
    with op.batch_alter_table("restore", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_restore_org_id"))
        batch_op.drop_index(batch_op.f("ix_restore_backup_id"))

    op.drop_table("restore")
    with op.batch_alter_table("cluster_config_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_config_version_org_id"))
        batch_op.drop_index(batch_op.f("ix_cluster_config_version_created_at"))
        batch_op.drop_index(batch_op.f("ix_cluster_config_version_cluster_id"))

    op.drop_table("cluster_config_version")
    with op.batch_alter_table("backup_schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backup_schedule_org_id"))
        batch_op.drop_index(batch_op.f("ix_backup_schedule_next_run_at"))
        batch_op.drop_index(batch_op.f("ix_backup_schedule_cluster_id"))

    op.drop_table("backup_schedule")
    with op.batch_alter_table("backup_policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backup_policy_org_id"))

    op.drop_table("backup_policy")
    with op.batch_alter_table("backup_drill", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backup_drill_org_id"))
        batch_op.drop_index(batch_op.f("ix_backup_drill_cluster_id"))

    op.drop_table("backup_drill")
    with op.batch_alter_table("backup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backup_status"))
        batch_op.drop_index(batch_op.f("ix_backup_started_at"))
        batch_op.drop_index(batch_op.f("ix_backup_org_id"))
        batch_op.drop_index(batch_op.f("ix_backup_cluster_id"))

    op.drop_table("backup")
    op.drop_table("backup_storage")
