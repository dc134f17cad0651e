"""Neutron's rules (its own action names: ``create_network``, ``get_port`` …), roles
admin / member / reader.

- admin: everything, in every project;
- a project's members: write their own project's resources; readers read them, write nothing;
- shared and external networks (and their subnets) are readable by every project, and a
  network's owner may see and address the ports and subnets others put on it;
- provider attributes, ``shared``/``router:external``/``is_default``, bindings, MAC and
  chosen addresses are admin's (or the network owner's) to set; provider attributes and
  bindings are shown to admins only (``context_is_admin``).
"""

from __future__ import annotations

from sausage.services.context import Context
from sausage.services.policy.rules import (Check, Rule, Target, Wording, admin, all_of, any_of,
                                           in_project, network_owner, project_member, public,
                                           rule)

__all__ = ["WORDING", "RULES"]

WORDING = Wording("(rule:{action}) is disallowed by policy", kind="PolicyNotAuthorized")

_RESOURCES = ("network", "subnet", "port", "router", "floatingip", "subnetpool",
              "security_group", "security_group_rule")

_writer = any_of(admin, project_member)
_net_owner = any_of(admin, network_owner)


def _port_of_the_same_project(_ctx: Context, t: Target) -> bool:
    return t.get("project_id") is not None and t.get("port_project_id") == t.get("project_id")


_CHECKS: dict[str, Check] = {
    **{f"{verb}_{name}": _writer for name in _RESOURCES
       for verb in ("create", "update", "delete")},
    **{f"update_{name}:tags": _writer for name in _RESOURCES[:-1]},
    "get_network": any_of(admin, public, in_project),
    "get_subnet": any_of(admin, public, in_project, network_owner),
    "get_port": any_of(admin, in_project, network_owner),
    "get_router": any_of(admin, in_project),
    "get_floatingip": any_of(admin, in_project),
    "get_subnetpool": any_of(admin, public, in_project),
    "get_security_group": any_of(admin, public, in_project),
    "get_security_group_rule": any_of(admin, in_project),
    "get_quota": any_of(admin, in_project),
    "update_quota": admin,
    "delete_quota": admin,
    # A subnet goes on a network of the caller's own project.
    "create_subnet": any_of(admin, all_of(project_member, network_owner)),
    "add_router_interface": _writer,
    "remove_router_interface": _writer,
    "create_port:network:external": any_of(admin, network_owner, public),
    "create_port:mac_address": _net_owner,
    "create_port:fixed_ips:ip_address": _net_owner,
    "create_port:device_owner": _net_owner,
    "update_port:fixed_ips:ip_address": _net_owner,
    # A floating IP points only at a port of its own project.
    "update_floatingip:port_id": any_of(admin, _port_of_the_same_project),
    # The default group goes only with its project (cleanup, as Tempest does).
    "delete_security_group:default": admin,
}

_ADMIN_ONLY = (
    "create_network:project_id", "create_network:shared", "create_network:router:external",
    "create_network:is_default", "create_network:provider:network_type",
    "create_network:provider:physical_network", "create_network:provider:segmentation_id",
    "update_network:shared", "update_network:router:external", "update_network:is_default",
    "update_network:provider:network_type", "update_network:provider:physical_network",
    "update_network:provider:segmentation_id",
    "create_subnet:project_id",
    "create_port:project_id", "create_port:binding:host_id", "create_port:binding:profile",
    "update_port:binding:host_id", "update_port:binding:profile", "update_port:mac_address",
    "create_router:distributed", "create_router:ha",
    "update_router:external_gateway_info:enable_snat",
    "update_router:external_gateway_info:external_fixed_ips",
    "create_floatingip:floating_ip_address",
    "create_subnetpool:project_id", "create_subnetpool:shared", "create_subnetpool:is_default",
    "update_subnetpool:is_default",
)

RULES: dict[str, Rule] = {action: rule(check) for action, check in _CHECKS.items()}
RULES.update({action: rule(admin) for action in _ADMIN_ONLY})
