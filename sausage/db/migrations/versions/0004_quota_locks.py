"""quota locks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 07:13:04.984019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quota_locks',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_quota_locks'))
    )


def downgrade() -> None:
    op.drop_table('quota_locks')
