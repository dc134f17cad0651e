"""volume

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 12:12:58.736290
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('volume_quotas',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('limit', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'resource', name=op.f('pk_volume_quotas'))
    )
    op.create_table('volume_types',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_types')),
    sa.UniqueConstraint('name', name=op.f('uq_volume_types_name'))
    )
    op.create_table('volume_type_access',
    sa.Column('volume_type_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['volume_type_id'], ['volume_types.id'], name=op.f('fk_volume_type_access_volume_type_id_volume_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volume_type_id', 'project_id', name=op.f('pk_volume_type_access'))
    )
    op.create_table('volume_default_types',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('volume_type_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['volume_type_id'], ['volume_types.id'], name=op.f('fk_volume_default_types_volume_type_id_volume_types')),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_volume_default_types'))
    )
    op.create_table('volume_type_extra_specs',
    sa.Column('volume_type_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['volume_type_id'], ['volume_types.id'], name=op.f('fk_volume_type_extra_specs_volume_type_id_volume_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volume_type_id', 'key', name=op.f('pk_volume_type_extra_specs'))
    )
    op.create_table('volumes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('attach_status', sa.String(length=16), nullable=False),
    sa.Column('availability_zone', sa.String(length=255), nullable=False),
    sa.Column('volume_type_id', sa.String(length=36), nullable=False),
    sa.Column('bootable', sa.Boolean(), nullable=False),
    sa.Column('readonly', sa.Boolean(), nullable=False),
    sa.Column('multiattach', sa.Boolean(), nullable=False),
    sa.Column('host_id', sa.String(length=36), nullable=True),
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('source_volid', sa.String(length=36), nullable=True),
    sa.Column('snapshot_id', sa.String(length=36), nullable=True),
    sa.Column('image_id', sa.String(length=36), nullable=True),
    sa.Column('image_metadata', sa.JSON(), nullable=True),
    sa.Column('pending_uploads', sa.JSON(), nullable=False),
    sa.Column('upload_seq', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('launched_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_volumes_host_id_hosts')),
    sa.ForeignKeyConstraint(['volume_type_id'], ['volume_types.id'], name=op.f('fk_volumes_volume_type_id_volume_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volumes'))
    )
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.create_index('ix_volumes_host', ['host_id'], unique=False)
        batch_op.create_index('ix_volumes_project_created', ['project_id', 'created_at'], unique=False)

    op.create_table('volume_attachments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('attached_host', sa.String(length=255), nullable=True),
    sa.Column('mountpoint', sa.String(length=255), nullable=True),
    sa.Column('attach_status', sa.String(length=32), nullable=False),
    sa.Column('attach_mode', sa.String(length=4), nullable=False),
    sa.Column('connector', sa.JSON(), nullable=True),
    sa.Column('boot_index', sa.Integer(), nullable=True),
    sa.Column('delete_on_termination', sa.Boolean(), nullable=False),
    sa.Column('tag', sa.String(length=60), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attach_time', sa.DateTime(), nullable=True),
    sa.Column('detach_time', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['volume_id'], ['volumes.id'], name=op.f('fk_volume_attachments_volume_id_volumes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_attachments')),
    sa.UniqueConstraint('volume_id', 'instance_uuid', name=op.f('uq_volume_attachments_volume_id'))
    )
    with op.batch_alter_table('volume_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_volume_attachments_instance', ['instance_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_attachments_volume_id'), ['volume_id'], unique=False)

    op.create_table('volume_metadata',
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['volume_id'], ['volumes.id'], name=op.f('fk_volume_metadata_volume_id_volumes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volume_id', 'key', name=op.f('pk_volume_metadata'))
    )
    op.create_table('volume_snapshots',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['volume_id'], ['volumes.id'], name=op.f('fk_volume_snapshots_volume_id_volumes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_snapshots'))
    )
    with op.batch_alter_table('volume_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_volume_snapshots_project_created', ['project_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_snapshots_volume_id'), ['volume_id'], unique=False)

    op.create_table('volume_snapshot_metadata',
    sa.Column('snapshot_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['volume_snapshots.id'], name=op.f('fk_volume_snapshot_metadata_snapshot_id_volume_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('snapshot_id', 'key', name=op.f('pk_volume_snapshot_metadata'))
    )
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('volume_backend', sa.String(length=16), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.drop_column('volume_backend')

    op.drop_table('volume_snapshot_metadata')
    with op.batch_alter_table('volume_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_snapshots_volume_id'))
        batch_op.drop_index('ix_volume_snapshots_project_created')

    op.drop_table('volume_snapshots')
    op.drop_table('volume_metadata')
    with op.batch_alter_table('volume_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_attachments_volume_id'))
        batch_op.drop_index('ix_volume_attachments_instance')

    op.drop_table('volume_attachments')
    with op.batch_alter_table('volumes', schema=None) as batch_op:
        batch_op.drop_index('ix_volumes_project_created')
        batch_op.drop_index('ix_volumes_host')

    op.drop_table('volumes')
    op.drop_table('volume_type_extra_specs')
    op.drop_table('volume_default_types')
    op.drop_table('volume_type_access')
    op.drop_table('volume_types')
    op.drop_table('volume_quotas')
