"""IP address management: allocation pools of a subnet and atomic address allocation.

``allocate`` takes a given address or the lowest free one in the subnet's pools and inserts
its ``IPAllocation`` inside a SAVEPOINT; the ``(subnet_id, ip_address)`` unique key decides
races, so two concurrent ports never get one address: the loser retries with the next free
address (or, for an address the caller asked for, gets 409 IpAddressAlreadyAllocated).
IPv6 SLAAC/stateless subnets derive the address from the MAC (EUI-64) instead.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm

__all__ = ["default_pools", "check_pools", "allocate", "eui64", "is_slaac", "in_subnet",
           "host_range", "ATTEMPTS"]

ATTEMPTS = 64

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Addr = ipaddress.IPv4Address | ipaddress.IPv6Address


def host_range(cidr: Net) -> tuple[int, int]:
    """First and last assignable address of ``cidr`` as integers (IPv4 skips network and
    broadcast; IPv6 skips only the subnet-router anycast address)."""
    first, last = int(cidr.network_address), int(cidr.broadcast_address)
    if cidr.version == 4:
        if cidr.prefixlen >= 31:
            return first, last
        return first + 1, last - 1
    if cidr.prefixlen >= 127:
        return first, last
    return first + 1, last


def default_pools(cidr: Net, gateway: str | None) -> list[dict[str, str]]:
    """The whole host range of ``cidr`` minus the gateway, as Neutron makes it."""
    lo, hi = host_range(cidr)
    ranges = [(lo, hi)]
    if gateway is not None:
        gw = int(ipaddress.ip_address(gateway))
        if lo <= gw <= hi:
            ranges = [(a, b) for a, b in ((lo, gw - 1), (gw + 1, hi)) if a <= b]
    kind = type(cidr.network_address)
    return [{"start": str(kind(a)), "end": str(kind(b))} for a, b in ranges if a <= b]


def check_pools(cidr: Net, pools: Sequence[dict[str, str]], gateway: str | None) -> None:
    """Raise for pools that are malformed, outside ``cidr``, overlapping, or holding the
    gateway (Neutron's InvalidAllocationPool, OutOfBoundsAllocationPool,
    OverlappingAllocationPools, GatewayConflictWithAllocationPools)."""
    spans: list[tuple[int, int, str]] = []
    for pool in pools:
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise errors.BadRequest(f"Invalid input for allocation_pools. Reason: {pool} is "
                                    "not a valid allocation pool.", kind="InvalidInput")
        text = f"{pool['start']}-{pool['end']}"
        try:
            start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        except (ValueError, TypeError) as e:
            raise errors.BadRequest(f"The allocation pool {text} is not valid.",
                                    kind="InvalidAllocationPool") from e
        if start.version != cidr.version or end.version != cidr.version or \
                int(start) > int(end):
            raise errors.BadRequest(f"The allocation pool {text} is not valid.",
                                    kind="InvalidAllocationPool")
        lo, hi = int(cidr.network_address), int(cidr.broadcast_address)
        if not (lo <= int(start) and int(end) <= hi):
            raise errors.BadRequest(f"The allocation pool {text} spans beyond the subnet "
                                    f"cidr {cidr}.", kind="OutOfBoundsAllocationPool")
        spans.append((int(start), int(end), text))
    spans.sort()
    for (a1, b1, t1), (a2, b2, t2) in zip(spans, spans[1:]):
        if a2 <= b1:
            raise errors.BadRequest(f"Found overlapping allocation pools: {t1} and {t2} for "
                                    f"subnet {cidr}.", kind="OverlappingAllocationPools")
    if gateway is not None:
        gw = int(ipaddress.ip_address(gateway))
        for a, b, text in spans:
            if a <= gw <= b:
                raise errors.Conflict(f"Gateway ip {gateway} conflicts with allocation pool "
                                      f"{text}.", kind="GatewayConflictWithAllocationPools")


def is_slaac(subnet: nm.Subnet) -> bool:
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in ("slaac", "dhcpv6-stateless")


def eui64(cidr: str, mac: str) -> str:
    """The modified EUI-64 address of ``mac`` in the /64 ``cidr``."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    iid = octets[:3] + [0xFF, 0xFE] + octets[3:]
    net = ipaddress.ip_network(cidr, strict=False)
    return str(ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(bytes(iid),
                                                                                  "big")))


def in_subnet(subnet: nm.Subnet, address: str) -> bool:
    """Whether ``address`` is an assignable address of the subnet."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    cidr = ipaddress.ip_network(subnet.cidr)
    if ip.version != cidr.version or ip not in cidr:
        return False
    lo, hi = host_range(cidr)
    return lo <= int(ip) <= hi


def _candidates(subnet: nm.Subnet, used: set[int]) -> Iterator[int]:
    for pool in sorted(subnet.allocation_pools,
                       key=lambda p: int(ipaddress.ip_address(p["start"]))):
        a, b = int(ipaddress.ip_address(pool["start"])), int(ipaddress.ip_address(pool["end"]))
        n = a
        while n <= b:
            if n not in used:
                yield n
            n += 1


def _insert(s: Session, port_id: str, subnet: nm.Subnet, address: str) -> bool:
    try:
        with s.begin_nested():
            s.add(nm.IPAllocation(port_id=port_id, subnet_id=subnet.id, ip_address=address,
                                  network_id=subnet.network_id))
            s.flush()
        return True
    except IntegrityError:
        return False


def allocate(s: Session, subnet: nm.Subnet, port_id: str, address: str | None = None,
             mac: str = "") -> str:
    """Give ``port_id`` an address on ``subnet`` (``address``, or the lowest free one in the
    pools, or the EUI-64 of ``mac`` on SLAAC subnets) and return it.

    Raises BadRequest InvalidIpForSubnet for an address outside the subnet, Conflict
    IpAddressAlreadyAllocated when it is taken, Conflict IpAddressGenerationFailure when the
    pools are exhausted.
    """
    if address is None and is_slaac(subnet) and mac:
        address = eui64(subnet.cidr, mac)
    if address is not None:
        if not in_subnet(subnet, address):
            raise errors.BadRequest(f"IP address {address} is not a valid IP for the specified "
                                    "subnet.", kind="InvalidIpForSubnet")
        address = str(ipaddress.ip_address(address))
        if not _insert(s, port_id, subnet, address):
            raise errors.Conflict(f"IP address {address} already allocated in subnet "
                                  f"{subnet.id}", kind="IpAddressAlreadyAllocated")
        return address
    kind = ipaddress.IPv4Address if subnet.ip_version == 4 else ipaddress.IPv6Address
    used = {int(ipaddress.ip_address(a)) for a in s.scalars(
        select(nm.IPAllocation.ip_address).where(nm.IPAllocation.subnet_id == subnet.id))}
    for attempt, n in enumerate(_candidates(subnet, used)):
        if attempt >= ATTEMPTS:
            break
        text = str(kind(n))
        if _insert(s, port_id, subnet, text):
            return text
    raise errors.Conflict(f"No more IP addresses available on network {subnet.network_id}.",
                          kind="IpAddressGenerationFailure")
