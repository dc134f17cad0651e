"""Nova's rules (``os_compute_api:*``), roles admin / member / reader.

- admin: every project's servers, flavors, quotas, usage, hosts and forced placement;
- a project's members: make and change their project's servers, groups and their own keypairs;
  readers read, and are refused with the messages Nova's users see;
- another project's server or server group is invisible (the service raises NotFound).
"""

from __future__ import annotations

from sausage.services.context import Context
from sausage.services.policy.rules import (Check, Rule, Target, Wording, admin, all_of, any_of,
                                           in_project, member, owner, public, rule, scoped,
                                           steps)

__all__ = ["WORDING", "RULES"]

WORDING = Wording("Policy doesn't allow {action} to be performed.")

_reader = any_of(admin, in_project)


def _not_locked_by_admin(_ctx: Context, t: Target) -> bool:
    return t.get("locked_by") != "admin"


_ADMIN_ONLY = (
    "os_compute_api:servers:create:forced_host", "os_compute_api:servers:index:get_all_tenants",
    "os_compute_api:os-lock-server:unlock:unlock_override",
    "os_compute_api:os-server-groups:index:all_projects", "os_compute_api:os-flavor-manage",
    "os_compute_api:os-quota-sets:update", "os_compute_api:os-quota-sets:delete",
    "os_compute_api:os-simple-tenant-usage:list", "os_compute_api:os-hypervisors",
    "os_compute_api:os-availability-zone:detail", "os_compute_api:os-volumes-attachments:swap",
)

_CHECKS: dict[str, Check] = {
    "os_compute_api:servers:show": _reader,
    "os_compute_api:os-server-groups:show": _reader,
    "os_compute_api:os-quota-sets:show": _reader,
    "os_compute_api:os-simple-tenant-usage:show": _reader,
    "os_compute_api:servers:create": all_of(member, scoped),
    **{action: admin for action in _ADMIN_ONLY},
}

RULES: dict[str, Rule] = {action: rule(check) for action, check in _CHECKS.items()}
RULES.update({
    # Every change to a server (Nova names one rule per action; ours say the same thing).
    "os_compute_api:servers:update": rule(
        member, "Policy does not allow a read-only role to change servers."),
    "os_compute_api:servers:allow_all_filters": rule(
        admin, "Only administrators may filter servers by host."),
    "os_compute_api:os-lock-server:lock": rule(
        member, "A read-only role cannot lock servers."),
    "os_compute_api:os-lock-server:unlock": steps(
        (member, "A read-only role cannot unlock servers."),
        (any_of(admin, _not_locked_by_admin), "The server was locked by an administrator.")),
    "os_compute_api:os-server-groups:create": rule(
        all_of(member, scoped), "A read-only role cannot create server groups."),
    "os_compute_api:os-server-groups:delete": rule(
        member, "A read-only role cannot delete server groups."),
    "os_compute_api:os-keypairs": rule(
        any_of(admin, owner), "Policy doesn't allow {action} to be performed for another user."),
    "os_compute_api:os-keypairs:create": rule(member, "A read-only role cannot create keypairs."),
    "os_compute_api:os-keypairs:delete": rule(member, "A read-only role cannot delete keypairs."),
    # A server joins an external network only when it is also shared (or for an admin).
    "network:attach_external_network": rule(
        any_of(admin, public),
        "It is not allowed to create an interface on external network {network_id}"),
})
