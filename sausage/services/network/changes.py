"""Tell the agents that the network part of their desired state changed.

Every service function that changes what a host must wire (ports, subnets, DHCP, security
groups, routers, floating IPs) calls ``changed`` in the same transaction: it bumps the revision
of each host that serves the affected networks (the network nodes, which run DHCP and routers)
or has ports on them, so their long-polling agents wake up and converge.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sausage.db.models import compute as cm
from sausage.db.models import network as nm

__all__ = ["changed"]


def changed(s: Session, network_ids: Iterable[str] = (), *, everywhere: bool = False) -> None:
    """Bump the hosts concerned by ``network_ids`` (or every host with ``everywhere``, for
    changes such as a security group rule whose reach is cheaper to resync than to compute)."""
    nets = sorted(set(network_ids))
    stmt = update(cm.Host).values(revision=cm.Host.revision + 1)
    if not everywhere:
        if not nets:
            return
        bound = select(cm.Host.id).join(
            nm.Port, nm.Port.binding_host_id == cm.Host.name).where(
            nm.Port.network_id.in_(nets))
        stmt = stmt.where(or_(cm.Host.network_node.is_(True), cm.Host.id.in_(bound)))
    s.execute(stmt.execution_options(synchronize_session=False))
