"""log collection per cluster

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 23:58:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STR = sqlmodel.sql.sqltypes.AutoString
DT = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "log_collection",
        sa.Column("cluster_id", STR(length=32), nullable=False),
        sa.Column("org_id", STR(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("namespaces", sa.JSON(), nullable=False),
        sa.Column("token_id", STR(length=32), nullable=False),
        sa.Column("status", STR(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("sim_at", DT(), nullable=True),
        sa.Column("enabled_by", STR(length=254), nullable=False),
        sa.Column("enabled_at", DT(), nullable=True),
        sa.Column("updated_at", DT(), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["cluster.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"]),
        sa.PrimaryKeyConstraint("cluster_id"),
    )
    op.create_index(op.f("ix_log_collection_org_id"), "log_collection", ["org_id"])
    op.create_index(op.f("ix_log_collection_enabled"), "log_collection", ["enabled"])


def downgrade() -> None:
    op.drop_index(op.f("ix_log_collection_enabled"), table_name="log_collection")
    op.drop_index(op.f("ix_log_collection_org_id"), table_name="log_collection")
    op.drop_table("log_collection")
