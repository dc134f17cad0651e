"""dns: zones, recordsets, records, tlds, quotas, zone transfers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 17:18:53.939772
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dns_quotas',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.String(length=32), nullable=False),
    sa.Column('hard_limit', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'resource', name=op.f('pk_dns_quotas'))
    )
    op.create_table('dns_tlds',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=160), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dns_tlds')),
    sa.UniqueConstraint('name', name=op.f('uq_dns_tlds_name'))
    )
    op.create_table('dns_zone_transfer_accepts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('zone_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('zone_transfer_request_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dns_zone_transfer_accepts'))
    )
    op.create_table('dns_zones',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('ttl', sa.Integer(), nullable=False),
    sa.Column('serial', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.String(length=160), nullable=True),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('published_serial', sa.BigInteger(), nullable=True),
    sa.Column('managed', sa.Boolean(), nullable=False),
    sa.Column('transferred_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dns_zones')),
    sa.UniqueConstraint('name', name=op.f('uq_dns_zones_name'))
    )
    with op.batch_alter_table('dns_zones', schema=None) as batch_op:
        batch_op.create_index('ix_dns_zones_project_created', ['project_id', 'created_at'], unique=False)
        batch_op.create_index('ix_dns_zones_status', ['status'], unique=False)

    op.create_table('dns_recordsets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('zone_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=8), nullable=False),
    sa.Column('ttl', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=160), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['zone_id'], ['dns_zones.id'], name=op.f('fk_dns_recordsets_zone_id_dns_zones'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dns_recordsets')),
    sa.UniqueConstraint('zone_id', 'name', 'type', name='uq_dns_recordsets_zone_name_type')
    )
    with op.batch_alter_table('dns_recordsets', schema=None) as batch_op:
        batch_op.create_index('ix_dns_recordsets_project_created', ['project_id', 'created_at'], unique=False)

    op.create_table('dns_zone_transfer_requests',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('zone_id', sa.String(length=36), nullable=False),
    sa.Column('zone_name', sa.String(length=255), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('target_project_id', sa.String(length=64), nullable=True),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=160), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['zone_id'], ['dns_zones.id'], name=op.f('fk_dns_zone_transfer_requests_zone_id_dns_zones'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dns_zone_transfer_requests'))
    )
    with op.batch_alter_table('dns_zone_transfer_requests', schema=None) as batch_op:
        batch_op.create_index('ix_dns_zone_transfer_requests_zone', ['zone_id'], unique=False)

    op.create_table('dns_records',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('recordset_id', sa.String(length=36), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('managed', sa.Boolean(), nullable=False),
    sa.Column('managed_resource_type', sa.String(length=32), nullable=True),
    sa.Column('managed_resource_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recordset_id'], ['dns_recordsets.id'], name=op.f('fk_dns_records_recordset_id_dns_recordsets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dns_records')),
    sa.UniqueConstraint('recordset_id', 'data', name='uq_dns_records_recordset_data')
    )
    with op.batch_alter_table('dns_records', schema=None) as batch_op:
        batch_op.create_index('ix_dns_records_managed', ['managed_resource_type', 'managed_resource_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dns_records', schema=None) as batch_op:
        batch_op.drop_index('ix_dns_records_managed')

    op.drop_table('dns_records')
    with op.batch_alter_table('dns_zone_transfer_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_dns_zone_transfer_requests_zone')

    op.drop_table('dns_zone_transfer_requests')
    with op.batch_alter_table('dns_recordsets', schema=None) as batch_op:
        batch_op.drop_index('ix_dns_recordsets_project_created')

    op.drop_table('dns_recordsets')
    with op.batch_alter_table('dns_zones', schema=None) as batch_op:
        batch_op.drop_index('ix_dns_zones_status')
        batch_op.drop_index('ix_dns_zones_project_created')

    op.drop_table('dns_zones')
    op.drop_table('dns_zone_transfer_accepts')
    op.drop_table('dns_tlds')
    op.drop_table('dns_quotas')
