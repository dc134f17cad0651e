"""VXLAN segment (VNI) allocation for tenant networks.

The lowest VNI not in use is taken; the ``uq_networks_segment`` unique key decides races
between concurrent creates: the loser's SAVEPOINT rolls back and it tries the next VNI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm

__all__ = ["VNI_MIN", "VNI_MAX", "free_vni", "claim"]

VNI_MIN, VNI_MAX = 1, 16777215
ATTEMPTS = 20

T = TypeVar("T")


def free_vni(s: Session, skip: set[int] | None = None) -> int:
    """The lowest VXLAN id not used by any network (nor in ``skip``)."""
    used = set(s.scalars(select(nm.Network.segmentation_id).where(
        nm.Network.network_type == "vxlan", nm.Network.segmentation_id.is_not(None))))
    used |= skip or set()
    vni = VNI_MIN
    while vni in used:
        vni += 1
    if vni > VNI_MAX:
        raise errors.Conflict("Unable to create the network. No tenant network is available "
                              "for allocation.", kind="NoNetworkAvailable")
    return vni


def claim(s: Session, network: nm.Network) -> None:
    """Insert ``network`` (vxlan, no segmentation id yet) with the lowest free VNI, retrying
    with the next one when a concurrent create took it first. Raises Conflict when none is
    left."""
    tried: set[int] = set()
    for _ in range(ATTEMPTS):
        vni = free_vni(s, tried)
        network.segmentation_id = vni
        try:
            with s.begin_nested():
                s.add(network)
                s.flush()
            return
        except IntegrityError:
            tried.add(vni)
            # The rolled-back savepoint expunged the pending row; add it again next round.
            if network in s:
                s.expunge(network)
    raise errors.Conflict("Unable to create the network: segment allocation kept conflicting.",
                          kind="NoNetworkAvailable")
