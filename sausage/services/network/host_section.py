"""Network's section of each host's document (``sausage.services.hosts.document.Section``).

``build`` gives each server listed so far its NICs (its ports, in PCI order) and adds the
networks, ports and routers the host must wire (``desired.build``); ``fold`` turns the ports
the agent reports wired into Neutron's port and floating IP statuses (``desired.report_ports``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sausage.contract import host as contract
from sausage.db.models import compute as cm
from sausage.services.hosts.document import Folded
from sausage.services.network import desired

__all__ = ["NetworkSection"]


class NetworkSection:
    def build(self, s: Session, host: cm.Host, base_url: str,
              document: contract.Desired) -> None:
        servers = document["servers"]
        wiring = desired.build(s, host, [d["id"] for d in servers])
        for doc in servers:
            doc["nics"] = wiring.nics.get(doc["id"], [])
        document["networks"] = wiring.networks
        document["ports"] = wiring.ports
        document["routers"] = wiring.routers

    def fold(self, s: Session, host: cm.Host, observed: contract.Observed) -> Folded:
        if "ports_up" in observed:
            desired.report_ports(s, host, observed["ports_up"])
        return Folded()
