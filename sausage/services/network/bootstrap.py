"""The networks a fresh cloud starts with, as devstack leaves them (run by ``Cloud.prepare``,
idempotent: what exists by name is kept as it is):

- the admin project's external network ``public`` (flat on physical network ``public``, MTU
  1500, not shared) with ``public-subnet`` = ``Settings.public_cidr``: gateway the first
  address, floating IPs from the 10th address to the last usable one, no DHCP;
- the ``demo`` project's ``private`` network with ``private-subnet`` 10.0.0.0/26 and the
  router ``router1``: gateway on ``public``, an interface on ``private-subnet``.

Everything is made through the network services, as an administrator would through the API.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage.db.models import identity as im
from sausage.db.models import network as nm
from sausage.services.context import Context
from sausage.services.network import networks, routers, subnets

__all__ = ["bootstrap", "PUBLIC", "PRIVATE", "PRIVATE_CIDR", "ROUTER"]

PUBLIC = "public"
PRIVATE = "private"
PRIVATE_CIDR = "10.0.0.0/26"
ROUTER = "router1"


def _project(s: Session, name: str) -> str | None:
    return s.scalars(select(im.Project.id).where(im.Project.name == name)).first()


def _network(s: Session, project_id: str, name: str) -> nm.Network | None:
    return s.scalars(select(nm.Network).where(nm.Network.project_id == project_id,
                                              nm.Network.name == name)).first()


def _subnet(s: Session, network_id: str, name: str) -> nm.Subnet | None:
    return s.scalars(select(nm.Subnet).where(nm.Subnet.network_id == network_id,
                                             nm.Subnet.name == name)).first()


def bootstrap(s: Session, public_cidr: str) -> None:
    """Make whatever of public, private and router1 is missing."""
    ctx = Context.system()
    admin_project, demo_project = _project(s, "admin"), _project(s, "demo")
    if admin_project is None:
        return
    # The external network on physical network `public`, whatever it was renamed to.
    public = s.scalars(select(nm.Network).where(
        nm.Network.external.is_(True), nm.Network.network_type == "flat",
        nm.Network.physical_network == PUBLIC)).first() or _network(s, admin_project, PUBLIC)
    if public is None:
        public = networks.create(s, ctx, {
            "name": PUBLIC, "router:external": True, "shared": False, "mtu": 1500,
            "provider:network_type": "flat", "provider:physical_network": PUBLIC},
            project_id=admin_project)
    has_subnet = s.scalars(select(nm.Subnet.id).where(
        nm.Subnet.network_id == public.id)).first() is not None
    if not has_subnet:
        net = ipaddress.ip_network(public_cidr)
        subnets.create(s, ctx, {
            "name": f"{PUBLIC}-subnet", "network_id": public.id, "ip_version": net.version,
            "cidr": str(net), "gateway_ip": str(net[1]), "enable_dhcp": False,
            "allocation_pools": [{"start": str(net[10]), "end": str(net[-2])}]},
            project_id=admin_project)
    if demo_project is None:
        return
    private = _network(s, demo_project, PRIVATE)
    if private is None:
        private = networks.create(s, ctx, {"name": PRIVATE}, project_id=demo_project)
    private_subnet = _subnet(s, private.id, f"{PRIVATE}-subnet")
    if private_subnet is None:
        private_subnet = subnets.create(s, ctx, {
            "name": f"{PRIVATE}-subnet", "network_id": private.id, "ip_version": 4,
            "cidr": PRIVATE_CIDR}, project_id=demo_project)
    router = s.scalars(select(nm.Router).where(nm.Router.project_id == demo_project,
                                               nm.Router.name == ROUTER)).first()
    if router is None:
        made = routers.create(s, ctx, {"name": ROUTER,
                                       "external_gateway_info": {"network_id": public.id}},
                              project_id=demo_project)
        router_id = made.found.rows[0].id
        routers.add_interface(s, ctx, router_id, {"subnet_id": private_subnet.id})
