"""billing: price models, usage, invoices, credits, SLO reports, Stripe events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 23:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

from mkportal.models.billing import Money

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STR = sqlmodel.sql.sqltypes.AutoString
DT = sqlmodel.sql.sqltypes.UTCDateTime

SEED_COMPONENTS = {
    "level_base_monthly": {"zero": "0", "standard": "50", "professional": "150", "premium": "400"},
    "level_percent": {"zero": "0", "standard": "0", "professional": "10", "premium": "25"},
    "node_hour": {
        "sandbox/s-2": "0.045", "sandbox/s-4": "0.090", "sandbox/m-4": "0.120",
        "sandbox/m-8": "0.240", "sandbox/c-16": "0.400",
        "eks/m6i.large": "0.115", "eks/m6i.xlarge": "0.230", "eks/m6i.2xlarge": "0.461",
        "eks/c6i.xlarge": "0.204", "eks/r6i.large": "0.151",
        "gke/e2-standard-2": "0.081", "gke/e2-standard-4": "0.162",
        "gke/n2-standard-4": "0.235", "gke/n2-standard-8": "0.470",
        "gke/c3-standard-4": "0.252",
        "aks/Standard_D2s_v5": "0.110", "aks/Standard_D4s_v5": "0.220",
        "aks/Standard_D8s_v5": "0.440", "aks/Standard_E4s_v5": "0.290",
        "aks/Standard_F4s_v2": "0.194",
    },
    "vcpu_hour": "0.025",
    "gib_hour": "0.004",
    "feature_hour": {
        "ingress-controller": "0.020", "cert-manager": "0.010", "metrics-agent": "0.020",
        "log-agent": "0.020", "backup-agent": "0.030", "cluster-autoscaler": "0.010",
        "rwx-storage": "0.040", "network-policy": "0.010",
    },
    "load_balancer_hour": "0.015",
    "storage_gib_month": "0.10",
}


def upgrade() -> None:
    op.create_table(
        'price_model',
        sa.Column('id', STR(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('effective_from', DT(), nullable=False),
        sa.Column('currency', STR(length=3), nullable=False),
        sa.Column('components', sa.JSON(), nullable=False),
        sa.Column('note', STR(length=500), nullable=False),
        sa.Column('created_by', STR(length=254), nullable=False),
        sa.Column('created_at', DT(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('version'),
    )
    op.create_index(op.f('ix_price_model_effective_from'), 'price_model', ['effective_from'], unique=True)

    op.create_table(
        'usage_record',
        sa.Column('id', BIGINT_PK, nullable=False),
        sa.Column('org_id', STR(length=32), nullable=False),
        sa.Column('cluster_id', STR(length=32), nullable=False),
        sa.Column('hour', DT(), nullable=False),
        sa.Column('service_level', STR(length=32), nullable=False),
        sa.Column('component', STR(length=16), nullable=False),
        sa.Column('sku', STR(length=100), nullable=False),
        sa.Column('pool', STR(length=40), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('cluster_id', 'hour', 'component', 'sku', 'pool', name='uq_usage_key'),
    )
    op.create_index('ix_usage_org_hour', 'usage_record', ['org_id', 'hour'], unique=False)
    op.create_index('ix_usage_hour', 'usage_record', ['hour'], unique=False)

    op.create_table(
        'meter_cursor',
        sa.Column('name', STR(length=32), nullable=False),
        sa.Column('next_hour', DT(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'billing_account',
        sa.Column('org_id', STR(length=32), nullable=False),
        sa.Column('billing_email', STR(length=254), nullable=False),
        sa.Column('stripe_customer_id', STR(length=64), nullable=False),
        sa.Column('updated_at', DT(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organization.id']),
        sa.PrimaryKeyConstraint('org_id'),
    )
    op.create_table(
        'invoice',
        sa.Column('id', STR(length=32), nullable=False),
        sa.Column('org_id', STR(length=32), nullable=False),
        sa.Column('period', STR(length=7), nullable=False),
        sa.Column('number', STR(length=32), nullable=False),
        sa.Column('currency', STR(length=3), nullable=False),
        sa.Column('status', STR(length=16), nullable=False),
        sa.Column('subtotal', Money(), nullable=False),
        sa.Column('credit_total', Money(), nullable=False),
        sa.Column('total', Money(), nullable=False),
        sa.Column('price_versions', sa.JSON(), nullable=False),
        sa.Column('stripe_invoice_id', STR(length=64), nullable=False),
        sa.Column('stripe_url', STR(length=500), nullable=False),
        sa.Column('failure_reason', sa.Text(), nullable=False),
        sa.Column('finalized_at', DT(), nullable=True),
        sa.Column('sent_at', DT(), nullable=True),
        sa.Column('emailed_at', DT(), nullable=True),
        sa.Column('paid_at', DT(), nullable=True),
        sa.Column('created_at', DT(), nullable=False),
        sa.Column('updated_at', DT(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organization.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
        sa.UniqueConstraint('org_id', 'period', name='uq_invoice_org_period'),
    )
    op.create_index(op.f('ix_invoice_org_id'), 'invoice', ['org_id'], unique=False)
    op.create_index(op.f('ix_invoice_period'), 'invoice', ['period'], unique=False)
    op.create_index(op.f('ix_invoice_status'), 'invoice', ['status'], unique=False)

    op.create_table(
        'invoice_line',
        sa.Column('id', STR(length=32), nullable=False),
        sa.Column('invoice_id', STR(length=32), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('cluster_id', STR(length=32), nullable=False),
        sa.Column('cluster_name', STR(length=40), nullable=False),
        sa.Column('component', STR(length=16), nullable=False),
        sa.Column('sku', STR(length=100), nullable=False),
        sa.Column('description', STR(length=300), nullable=False),
        sa.Column('quantity', Money(), nullable=False),
        sa.Column('unit', STR(length=16), nullable=False),
        sa.Column('unit_price', Money(), nullable=False),
        sa.Column('amount', Money(), nullable=False),
        sa.Column('price_version', sa.Integer(), nullable=False),
        sa.Column('stripe_item_id', STR(length=64), nullable=False),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_invoice_line_invoice_id'), 'invoice_line', ['invoice_id'], unique=False)

    op.create_table(
        'credit',
        sa.Column('id', STR(length=32), nullable=False),
        sa.Column('org_id', STR(length=32), nullable=False),
        sa.Column('period', STR(length=7), nullable=False),
        sa.Column('cluster_id', STR(length=32), nullable=False),
        sa.Column('amount', Money(), nullable=False),
        sa.Column('reason', STR(length=500), nullable=False),
        sa.Column('source', STR(length=16), nullable=False),
        sa.Column('created_by', STR(length=254), nullable=False),
        sa.Column('created_at', DT(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organization.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_credit_org_id'), 'credit', ['org_id'], unique=False)
    op.create_index(op.f('ix_credit_period'), 'credit', ['period'], unique=False)

    op.create_table(
        'slo_report',
        sa.Column('id', STR(length=32), nullable=False),
        sa.Column('org_id', STR(length=32), nullable=False),
        sa.Column('cluster_id', STR(length=32), nullable=False),
        sa.Column('period', STR(length=7), nullable=False),
        sa.Column('service_level', STR(length=32), nullable=False),
        sa.Column('availability', Money(), nullable=False),
        sa.Column('target', Money(), nullable=False),
        sa.Column('downtime_minutes', sa.Integer(), nullable=False),
        sa.Column('created_at', DT(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organization.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('cluster_id', 'period', name='uq_slo_cluster_period'),
    )
    op.create_index(op.f('ix_slo_report_org_id'), 'slo_report', ['org_id'], unique=False)
    op.create_index(op.f('ix_slo_report_period'), 'slo_report', ['period'], unique=False)

    op.create_table(
        'stripe_event',
        sa.Column('id', STR(length=255), nullable=False),
        sa.Column('type', STR(length=100), nullable=False),
        sa.Column('received_at', DT(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )

    prices = sa.table(
        'price_model',
        sa.column('id', sa.String), sa.column('version', sa.Integer),
        sa.column('effective_from', sa.DateTime), sa.column('currency', sa.String),
        sa.column('components', sa.JSON), sa.column('note', sa.String),
        sa.column('created_by', sa.String), sa.column('created_at', sa.DateTime),
    )
    op.bulk_insert(prices, [{
        'id': 'seedpricemodel000000000000000001', 'version': 1,
        'effective_from': datetime(2000, 1, 1, tzinfo=UTC), 'currency': 'CHF',
        'components': SEED_COMPONENTS, 'note': 'Initial price model',
        'created_by': 'migration', 'created_at': datetime.now(UTC),
    }])


def downgrade() -> None:
    op.drop_table('stripe_event')
    op.drop_index(op.f('ix_slo_report_period'), table_name='slo_report')
    op.drop_index(op.f('ix_slo_report_org_id'), table_name='slo_report')
    op.drop_table('slo_report')
    op.drop_index(op.f('ix_credit_period'), table_name='credit')
    op.drop_index(op.f('ix_credit_org_id'), table_name='credit')
    op.drop_table('credit')
    op.drop_index(op.f('ix_invoice_line_invoice_id'), table_name='invoice_line')
    op.drop_table('invoice_line')
    op.drop_index(op.f('ix_invoice_status'), table_name='invoice')
    op.drop_index(op.f('ix_invoice_period'), table_name='invoice')
    op.drop_index(op.f('ix_invoice_org_id'), table_name='invoice')
    op.drop_table('invoice')
    op.drop_table('billing_account')
    op.drop_table('meter_cursor')
    op.drop_index('ix_usage_hour', table_name='usage_record')
    op.drop_index('ix_usage_org_hour', table_name='usage_record')
    op.drop_table('usage_record')
    op.drop_index(op.f('ix_price_model_effective_from'), table_name='price_model')
    op.drop_table('price_model')
