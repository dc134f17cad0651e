"""What the nameserver should publish: zones and their record sets as plain frozen values.

Pure types, the input of ``plan`` and ``reconciler``. Names are absolute (trailing dot); record
data is in zone-file presentation form (``10 mail.example.org.`` for MX, ``"text"`` for TXT).
A zone's SOA and apex NS record sets are built from its own fields, the way Designate's look,
and are never part of ``rrsets``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RRset", "Zone", "HeldZone", "ACCOUNT", "REFRESH", "RETRY", "EXPIRE", "MINIMUM",
           "rname", "soa_data"]

# The SOA timers of every zone: Designate's defaults (refresh its lowest, minimum the
# negative-caching TTL).
REFRESH = 3500
RETRY = 600
EXPIRE = 86400
MINIMUM = 3600


@dataclass(frozen=True)
class RRset:
    """The records of one name and type: ``RRset("www.example.org.", "A", 300, ("192.0.2.1",))``."""

    name: str
    type: str
    ttl: int
    records: tuple[str, ...]


@dataclass(frozen=True)
class Zone:
    """One zone as it must be served: its SOA fields, apex nameservers and other record sets.

    ``email`` is the zone's contact, as an address (``hostmaster@example.org``) or already in
    SOA form (``hostmaster.example.org.``)."""

    name: str
    serial: int
    ttl: int
    email: str
    primary_ns: str
    nameservers: tuple[str, ...]
    rrsets: tuple[RRset, ...]

    @property
    def soa(self) -> RRset:
        return RRset(self.name, "SOA", self.ttl,
                     (soa_data(self.primary_ns, self.email, self.serial),))

    @property
    def ns(self) -> RRset:
        return RRset(self.name, "NS", self.ttl, self.nameservers or (self.primary_ns,))

    def published(self) -> tuple[RRset, ...]:
        """Every record set the server holds for this zone: SOA, apex NS, then ``rrsets``
        (those without records are left out: an empty record set does not exist in DNS)."""
        return (self.soa, self.ns, *(r for r in self.rrsets if r.records))


def soa_data(primary_ns: str, email: str, serial: int) -> str:
    """An SOA record's data, as every zone of the cloud has it."""
    return f"{primary_ns} {rname(email)} {serial} {REFRESH} {RETRY} {EXPIRE} {MINIMUM}"


def rname(email: str) -> str:
    """An SOA RNAME from a contact: ``first.last@example.org`` → ``first\\.last.example.org.``;
    a value without ``@`` is taken as already in SOA form (a trailing dot is added)."""
    if "@" not in email:
        return email if email.endswith(".") else email + "."
    local, _, domain = email.rpartition("@")
    return local.replace(".", "\\.") + "." + domain.rstrip(".") + "."


ACCOUNT = "sausage"  # the PowerDNS ``account`` that marks the zones the cloud manages


@dataclass(frozen=True)
class HeldZone:
    """A zone as PowerDNS holds it. ``rrsets`` is None when it was not read (a zone that is
    not ours: its records are none of our business)."""

    name: str
    account: str
    rrsets: tuple[RRset, ...] | None

    @property
    def ours(self) -> bool:
        return self.account == ACCOUNT
