"""network

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 08:25:29.472847
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('network_quotas',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('limit', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'resource', name=op.f('pk_network_quotas'))
    )
    op.create_table('network_tags',
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('resource_id', 'tag', name=op.f('pk_network_tags'))
    )
    with op.batch_alter_table('network_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_tags_tag'), ['tag'], unique=False)

    op.create_table('networks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('external', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('mtu', sa.Integer(), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('network_type', sa.String(length=16), nullable=False),
    sa.Column('physical_network', sa.String(length=64), nullable=False),
    sa.Column('segmentation_id', sa.Integer(), nullable=True),
    sa.Column('dns_domain', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_networks')),
    sa.UniqueConstraint('network_type', 'physical_network', 'segmentation_id', name='uq_networks_segment')
    )
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.create_index('ix_networks_project', ['project_id'], unique=False)

    op.create_table('security_groups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('stateful', sa.Boolean(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_groups'))
    )
    with op.batch_alter_table('security_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_groups_project_id'), ['project_id'], unique=False)

    op.create_table('subnetpools',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('ip_version', sa.Integer(), nullable=False),
    sa.Column('prefixes', sa.JSON(), nullable=False),
    sa.Column('default_prefixlen', sa.Integer(), nullable=False),
    sa.Column('min_prefixlen', sa.Integer(), nullable=False),
    sa.Column('max_prefixlen', sa.Integer(), nullable=False),
    sa.Column('default_quota', sa.Integer(), nullable=True),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('address_scope_id', sa.String(length=36), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subnetpools'))
    )
    with op.batch_alter_table('subnetpools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subnetpools_project_id'), ['project_id'], unique=False)

    op.create_table('default_security_groups',
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['security_group_id'], ['security_groups.id'], name=op.f('fk_default_security_groups_security_group_id_security_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_default_security_groups'))
    )
    op.create_table('ports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('mac_address', sa.String(length=32), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('device_owner', sa.String(length=255), nullable=False),
    sa.Column('binding_host_id', sa.String(length=255), nullable=False),
    sa.Column('binding_vnic_type', sa.String(length=32), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('allowed_address_pairs', sa.JSON(), nullable=False),
    sa.Column('dns_name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_ports_network_id_networks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ports')),
    sa.UniqueConstraint('network_id', 'mac_address', name='uq_ports_network_mac')
    )
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.create_index('ix_ports_binding_host', ['binding_host_id'], unique=False)
        batch_op.create_index('ix_ports_device', ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ports_network_id'), ['network_id'], unique=False)
        batch_op.create_index('ix_ports_project', ['project_id'], unique=False)

    op.create_table('security_group_rules',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('ethertype', sa.String(length=8), nullable=False),
    sa.Column('protocol', sa.String(length=40), nullable=True),
    sa.Column('port_range_min', sa.Integer(), nullable=True),
    sa.Column('port_range_max', sa.Integer(), nullable=True),
    sa.Column('remote_ip_prefix', sa.String(length=64), nullable=True),
    sa.Column('remote_group_id', sa.String(length=36), nullable=True),
    sa.Column('remote_address_group_id', sa.String(length=36), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['remote_group_id'], ['security_groups.id'], name=op.f('fk_security_group_rules_remote_group_id_security_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['security_group_id'], ['security_groups.id'], name=op.f('fk_security_group_rules_security_group_id_security_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_group_rules'))
    )
    with op.batch_alter_table('security_group_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_group_rules_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_group_rules_remote_group_id'), ['remote_group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_group_rules_security_group_id'), ['security_group_id'], unique=False)

    op.create_table('subnets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('ip_version', sa.Integer(), nullable=False),
    sa.Column('cidr', sa.String(length=64), nullable=False),
    sa.Column('gateway_ip', sa.String(length=64), nullable=True),
    sa.Column('enable_dhcp', sa.Boolean(), nullable=False),
    sa.Column('ipv6_ra_mode', sa.String(length=32), nullable=True),
    sa.Column('ipv6_address_mode', sa.String(length=32), nullable=True),
    sa.Column('subnetpool_id', sa.String(length=36), nullable=True),
    sa.Column('allocation_pools', sa.JSON(), nullable=False),
    sa.Column('dns_nameservers', sa.JSON(), nullable=False),
    sa.Column('host_routes', sa.JSON(), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_subnets_network_id_networks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subnetpool_id'], ['subnetpools.id'], name=op.f('fk_subnets_subnetpool_id_subnetpools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subnets'))
    )
    with op.batch_alter_table('subnets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subnets_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subnets_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subnets_subnetpool_id'), ['subnetpool_id'], unique=False)

    op.create_table('ip_allocations',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('subnet_id', sa.String(length=36), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], name=op.f('fk_ip_allocations_port_id_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subnet_id'], ['subnets.id'], name=op.f('fk_ip_allocations_subnet_id_subnets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('port_id', 'subnet_id', 'ip_address', name=op.f('pk_ip_allocations')),
    sa.UniqueConstraint('subnet_id', 'ip_address', name='uq_ip_allocations_subnet_ip')
    )
    with op.batch_alter_table('ip_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ip_allocations_network_id'), ['network_id'], unique=False)

    op.create_table('port_security_groups',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['ports.id'], name=op.f('fk_port_security_groups_port_id_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['security_group_id'], ['security_groups.id'], name=op.f('fk_port_security_groups_security_group_id_security_groups')),
    sa.PrimaryKeyConstraint('port_id', 'security_group_id', name=op.f('pk_port_security_groups'))
    )
    with op.batch_alter_table('port_security_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_port_security_groups_security_group_id'), ['security_group_id'], unique=False)

    op.create_table('routers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('gw_port_id', sa.String(length=36), nullable=True),
    sa.Column('enable_snat', sa.Boolean(), nullable=False),
    sa.Column('host_id', sa.String(length=36), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['gw_port_id'], ['ports.id'], name=op.f('fk_routers_gw_port_id_ports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_routers_host_id_hosts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routers'))
    )
    with op.batch_alter_table('routers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routers_host_id'), ['host_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routers_project_id'), ['project_id'], unique=False)

    op.create_table('floatingips',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('floating_ip_address', sa.String(length=64), nullable=False),
    sa.Column('floating_network_id', sa.String(length=36), nullable=False),
    sa.Column('floating_port_id', sa.String(length=36), nullable=False),
    sa.Column('fixed_port_id', sa.String(length=36), nullable=True),
    sa.Column('fixed_ip_address', sa.String(length=64), nullable=True),
    sa.Column('router_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('dns_name', sa.String(length=255), nullable=False),
    sa.Column('dns_domain', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('revision_number', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['fixed_port_id'], ['ports.id'], name=op.f('fk_floatingips_fixed_port_id_ports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['floating_network_id'], ['networks.id'], name=op.f('fk_floatingips_floating_network_id_networks')),
    sa.ForeignKeyConstraint(['floating_port_id'], ['ports.id'], name=op.f('fk_floatingips_floating_port_id_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['router_id'], ['routers.id'], name=op.f('fk_floatingips_router_id_routers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_floatingips')),
    sa.UniqueConstraint('floating_network_id', 'floating_ip_address', name='uq_floatingips_network_address'),
    sa.UniqueConstraint('floating_port_id', name=op.f('uq_floatingips_floating_port_id'))
    )
    with op.batch_alter_table('floatingips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_floatingips_fixed_port_id'), ['fixed_port_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_floatingips_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_floatingips_router_id'), ['router_id'], unique=False)

    op.create_table('router_routes',
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('nexthop', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['router_id'], ['routers.id'], name=op.f('fk_router_routes_router_id_routers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('router_id', 'destination', 'nexthop', name=op.f('pk_router_routes'))
    )
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tunnel_ip', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('network_node', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.drop_column('network_node')
        batch_op.drop_column('tunnel_ip')

    op.drop_table('router_routes')
    with op.batch_alter_table('floatingips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_floatingips_router_id'))
        batch_op.drop_index(batch_op.f('ix_floatingips_project_id'))
        batch_op.drop_index(batch_op.f('ix_floatingips_fixed_port_id'))

    op.drop_table('floatingips')
    with op.batch_alter_table('routers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routers_project_id'))
        batch_op.drop_index(batch_op.f('ix_routers_host_id'))

    op.drop_table('routers')
    with op.batch_alter_table('port_security_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_port_security_groups_security_group_id'))

    op.drop_table('port_security_groups')
    with op.batch_alter_table('ip_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ip_allocations_network_id'))

    op.drop_table('ip_allocations')
    with op.batch_alter_table('subnets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subnets_subnetpool_id'))
        batch_op.drop_index(batch_op.f('ix_subnets_project_id'))
        batch_op.drop_index(batch_op.f('ix_subnets_network_id'))

    op.drop_table('subnets')
    with op.batch_alter_table('security_group_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_group_rules_security_group_id'))
        batch_op.drop_index(batch_op.f('ix_security_group_rules_remote_group_id'))
        batch_op.drop_index(batch_op.f('ix_security_group_rules_project_id'))

    op.drop_table('security_group_rules')
    with op.batch_alter_table('ports', schema=None) as batch_op:
        batch_op.drop_index('ix_ports_project')
        batch_op.drop_index(batch_op.f('ix_ports_network_id'))
        batch_op.drop_index('ix_ports_device')
        batch_op.drop_index('ix_ports_binding_host')

    op.drop_table('ports')
    op.drop_table('default_security_groups')
    with op.batch_alter_table('subnetpools', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subnetpools_project_id'))

    op.drop_table('subnetpools')
    with op.batch_alter_table('security_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_groups_project_id'))

    op.drop_table('security_groups')
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.drop_index('ix_networks_project')

    op.drop_table('networks')
    with op.batch_alter_table('network_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_network_tags_tag'))

    op.drop_table('network_tags')
    op.drop_table('network_quotas')
