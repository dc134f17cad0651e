"""What PowerDNS must do to serve exactly the desired zones: a pure diff, no I/O.

Input: the desired ``Zone``s and the ``HeldZone``s read from PowerDNS. Output: a ``Plan`` of
zone creations (with every record set), record-set replacements and deletions, and deletions
of zones we manage that are no longer wanted. Zones PowerDNS holds under another ``account``
are an operator's: never changed or deleted, and a desired zone of the same name is reported
as a conflict instead. Record data is compared after normalising what PowerDNS rewrites
(case of names, spacing, address spelling), so a converged server plans nothing; anything
else that differs (a record changed or deleted behind our back, a different SOA serial, the
whole data lost) is planned back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sausage.nameserver.published import HeldZone, RRset, Zone

__all__ = ["CreateZone", "UpdateZone", "DeleteZone", "Action", "Plan", "converge", "same"]


@dataclass(frozen=True)
class CreateZone:
    """Create the zone, marked ours, with all of its record sets."""

    zone: Zone


@dataclass(frozen=True)
class UpdateZone:
    """Replace record sets (``replace``) and remove others (``delete``: (name, type)) of a zone
    we manage, in one atomic change."""

    name: str
    replace: tuple[RRset, ...]
    delete: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DeleteZone:
    """Delete a zone we manage that is not wanted any more."""

    name: str


Action = CreateZone | UpdateZone | DeleteZone


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    # desired zones that PowerDNS holds for someone else: (zone name, why it is not served)
    conflicts: tuple[tuple[str, str], ...] = ()


def converge(desired: Sequence[Zone], held: Iterable[HeldZone]) -> Plan:
    """The actions that turn ``held`` into ``desired`` (zones in the order given)."""
    held_by_name = {_name(z.name): z for z in held}
    wanted = {_name(z.name) for z in desired}
    actions: list[Action] = []
    conflicts: list[tuple[str, str]] = []
    for zone in desired:
        have = held_by_name.get(_name(zone.name))
        if have is None:
            actions.append(CreateZone(zone))
        elif not have.ours:
            conflicts.append((zone.name, f"PowerDNS holds {zone.name} for account "
                                         f"{have.account!r}, not for the cloud"))
        else:
            update = _update(zone, have.rrsets)
            if update is not None:
                actions.append(update)
    for name, have in held_by_name.items():
        if have.ours and name not in wanted:
            actions.append(DeleteZone(have.name))
    return Plan(tuple(actions), tuple(conflicts))


def _update(zone: Zone, held: tuple[RRset, ...] | None) -> UpdateZone | None:
    want = {(_name(r.name), r.type.upper()): r for r in zone.published()}
    if held is None:  # unknown contents: publish every record set again
        return UpdateZone(zone.name, tuple(want.values()), ())
    have = {(_name(r.name), r.type.upper()): r for r in held}
    replace = tuple(r for key, r in want.items() if key not in have or not same(r, have[key]))
    delete = tuple((have[key].name, have[key].type) for key in have if key not in want)
    if not replace and not delete:
        return None
    return UpdateZone(zone.name, replace, delete)


def same(a: RRset, b: RRset) -> bool:
    """The two record sets publish the same thing (TTL and records, normalised)."""
    return (a.ttl == b.ttl and a.type.upper() == b.type.upper()
            and _records(a.type, a.records) == _records(b.type, b.records))


# types whose data holds only numbers and domain names: compared without regard to case
_NAME_DATA = frozenset({"CNAME", "NS", "PTR", "MX", "SRV", "SOA", "DNAME", "NAPTR"})


def _records(rtype: str, records: Iterable[str]) -> frozenset[str]:
    return frozenset(_content(rtype.upper(), r) for r in records)


def _content(rtype: str, content: str) -> str:
    text = content.strip()
    if rtype in ("A", "AAAA"):
        try:
            return ipaddress.ip_address(text).compressed
        except ValueError:
            return text
    if '"' not in text:
        text = " ".join(text.split())
    return text.lower() if rtype in _NAME_DATA else text


def _name(name: str) -> str:
    name = name.lower()
    return name if name.endswith(".") else name + "."
