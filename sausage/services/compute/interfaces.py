"""``os-interface`` and ``/servers/{id}/ips``: a server's NICs listed, shown, attached and
detached while it lives, and its addresses by network, under compute's rules (the server is
loaded as ``servers`` loads it; a reader changes nothing).

Called by ``api/compute/interfaces.py``; the Neutron side of each operation (ports made,
bound, unbound, the hosts to wake) is ``networking.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import compute as m
from sausage.db.models import network as nm
from sausage.services.compute import networking, servers
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.network import ports

__all__ = ["Interface", "load_server", "list_interfaces", "show_interface", "add_interface",
           "remove_interface", "server_addresses"]


@dataclasses.dataclass
class Interface:
    port: nm.Port
    fixed_ips: list[tuple[str, str]]  # (subnet id, address)


ATTACHABLE = ("active", "paused", "stopped", "suspended")


def load_server(s: Session, ctx: Context, server_id: str, write: bool) -> m.Server:
    """The server ``ctx`` may see (``write``: may change), as ``servers`` loads it."""
    return servers.load_for_change(s, ctx, server_id) if write else \
        servers.get(s, ctx, server_id)


def _interfaces(s: Session, port_list: Sequence[nm.Port]) -> list[Interface]:
    ips = ports.fixed_ips(s, [p.id for p in port_list])
    return [Interface(p, ips[p.id]) for p in port_list]


def list_interfaces(s: Session, ctx: Context, server_id: str) -> list[Interface]:
    server = load_server(s, ctx, server_id, False)
    return _interfaces(s, networking.server_ports(s, [server.id])[server.id])


def show_interface(s: Session, ctx: Context, server_id: str, port_id: str) -> Interface:
    server = load_server(s, ctx, server_id, False)
    found = [p for p in networking.server_ports(s, [server.id])[server.id] if p.id == port_id]
    if not found:
        raise errors.NotFound(f"Port {port_id} is not attached")
    return _interfaces(s, found)[0]


def _host_name(s: Session, server: m.Server) -> str:
    host = s.get(m.Host, server.host_id) if server.host_id else None
    return host.name if host is not None else ""


def _check_state(server: m.Server, action: str) -> None:
    if server.vm_state not in ATTACHABLE or server.task_state is not None:
        state = server.task_state or server.vm_state
        raise errors.Conflict(f"Cannot '{action}' instance {server.id} while it is in "
                              f"{'task_state' if server.task_state else 'vm_state'} {state}")


def add_interface(s: Session, ctx: Context, server_id: str, values: Mapping[str, Any]
                  ) -> Interface:
    """POST /servers/{id}/os-interface; the host's agent hot-plugs the new NIC."""
    server = load_server(s, ctx, server_id, True)
    _check_state(server, "attach_interface")
    port = networking.attach_interface(s, ctx, server, _host_name(s, server), values)
    networking.group_members_changed(s, [port.id])
    changes.changed(s, [server.host_id])
    return _interfaces(s, [port])[0]


def remove_interface(s: Session, ctx: Context, server_id: str, port_id: str) -> None:
    """DELETE /servers/{id}/os-interface/{port_id}; the agent unplugs the NIC."""
    server = load_server(s, ctx, server_id, True)
    _check_state(server, "detach_interface")
    networking.detach_interface(s, server, port_id)
    changes.changed(s, [server.host_id])


def server_addresses(s: Session, ctx: Context, server_id: str
                     ) -> dict[str, list[dict[str, Any]]]:
    """GET /servers/{id}/ips: {network name: [addresses]}."""
    server = load_server(s, ctx, server_id, False)
    return networking.addresses(s, [server.id])[server.id]
