"""Removing a port's row with everything hanging off it, for every service that removes ports
(the port API, networks, routers, floating IPs, compute's interfaces).

Below both ``networks`` and ``ports`` (a network's deletion removes its ports; a port's
creation finds its network), so neither has to import the other lazily.
"""

from __future__ import annotations

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from sausage.db.models import network as nm
from sausage.services.hosts import changes
from sausage.services.network import dns_sync, standard

__all__ = ["delete_port_row"]


def delete_port_row(s: Session, port: nm.Port) -> None:
    """Remove the port, its addresses, groups and tags; tell the hosts."""
    changes.changed(s, networks=[port.network_id])
    dns_sync.touch(s, floatingips=s.scalars(select(nm.FloatingIP.id).where(
        nm.FloatingIP.fixed_port_id == port.id)))
    s.execute(sql_update(nm.FloatingIP).where(nm.FloatingIP.fixed_port_id == port.id).values(
        fixed_port_id=None, fixed_ip_address=None, router_id=None)
              .execution_options(synchronize_session=False))
    s.execute(sql_delete(nm.IPAllocation).where(nm.IPAllocation.port_id == port.id))
    s.execute(sql_delete(nm.PortSecurityGroup).where(nm.PortSecurityGroup.port_id == port.id))
    standard.drop_tags(s, [port.id])
    s.delete(port)
    s.flush()
