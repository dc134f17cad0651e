"""neutron dns: a port's own dns_domain (dns-domain-ports)

Networks' dns_domain, ports' dns_name and floating IPs' dns_name/dns_domain exist since 0005.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 17:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ports') as batch:
        batch.add_column(sa.Column('dns_domain', sa.String(length=255), nullable=False,
                                   server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('ports') as batch:
        batch.drop_column('dns_domain')
