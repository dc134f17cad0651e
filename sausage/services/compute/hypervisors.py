"""Nova's admin views of the compute hosts (os-hypervisors, os-services, os-availability-zone
detail): the hosts registry read and toggled under compute's policy. Rendering stays in
``api/compute``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sausage.db.models import compute as m
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import registry

__all__ = ["list_hosts", "set_enabled", "zone_hosts"]


def list_hosts(s: Session, ctx: Context) -> list[m.Host]:
    """Every compute host; Forbidden unless admin."""
    policy.enforce(ctx, "os_compute_api:os-hypervisors")
    return registry.list_hosts(s)


def set_enabled(s: Session, ctx: Context, name: str, enabled: bool,
                reason: str | None) -> m.Host:
    """Enable or disable a host for scheduling; Forbidden unless admin, NotFound for no host."""
    policy.enforce(ctx, "os_compute_api:os-hypervisors")
    row = registry.get_host(s, name)
    registry.set_enabled(s, row, enabled, reason)
    return row


def zone_hosts(s: Session, ctx: Context, detail: bool) -> list[m.Host]:
    """The hosts behind the availability zones; their detail is an admin's to see."""
    if detail:
        policy.enforce(ctx, "os_compute_api:os-availability-zone:detail")
    return registry.list_hosts(s)
