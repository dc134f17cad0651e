"""image

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:35:16.267994
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('images',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('os_hidden', sa.Boolean(), nullable=False),
    sa.Column('disk_format', sa.String(length=20), nullable=True),
    sa.Column('container_format', sa.String(length=20), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('virtual_size', sa.BigInteger(), nullable=True),
    sa.Column('checksum', sa.String(length=32), nullable=True),
    sa.Column('os_hash_algo', sa.String(length=64), nullable=True),
    sa.Column('os_hash_value', sa.String(length=128), nullable=True),
    sa.Column('min_disk', sa.Integer(), nullable=False),
    sa.Column('min_ram', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_images'))
    )
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_images_name'), ['name'], unique=False)
        batch_op.create_index('ix_images_owner_created', ['owner', 'created_at'], unique=False)
        batch_op.create_index('ix_images_visibility', ['visibility'], unique=False)

    op.create_table('image_members',
    sa.Column('image_id', sa.String(length=36), nullable=False),
    sa.Column('member', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_image_members_image_id_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'member', name=op.f('pk_image_members'))
    )
    with op.batch_alter_table('image_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_members_member'), ['member'], unique=False)

    op.create_table('image_properties',
    sa.Column('image_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_image_properties_image_id_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'name', name=op.f('pk_image_properties'))
    )
    with op.batch_alter_table('image_properties', schema=None) as batch_op:
        batch_op.create_index('ix_image_properties_name_value', ['name', 'value'], unique=False)

    op.create_table('image_tags',
    sa.Column('image_id', sa.String(length=36), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_image_tags_image_id_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'tag', name=op.f('pk_image_tags'))
    )
    with op.batch_alter_table('image_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_tags_tag'), ['tag'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('image_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_tags_tag'))

    op.drop_table('image_tags')
    with op.batch_alter_table('image_properties', schema=None) as batch_op:
        batch_op.drop_index('ix_image_properties_name_value')

    op.drop_table('image_properties')
    with op.batch_alter_table('image_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_members_member'))

    op.drop_table('image_members')
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.drop_index('ix_images_visibility')
        batch_op.drop_index('ix_images_owner_created')
        batch_op.drop_index(batch_op.f('ix_images_name'))

    op.drop_table('images')
