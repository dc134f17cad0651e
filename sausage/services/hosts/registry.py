"""Hosts and their agents: registration, credentials, liveness, the operator's switches.

The control plane's record of each host (``db.models.compute.Host``): an agent registers with
the cloud's agent key and gets a host token; a host is alive while it reports; an operator may
disable it (``openstack compute service set --disable``). Building each host's document and
folding its reports is ``sausage.services.hosts.document``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.contract import host as contract
from sausage.db.models import compute as m
from sausage.db.models.base import utcnow
from sausage.services.hosts import changes

__all__ = ["register", "authenticate", "authenticate_token", "ALIVE_SECONDS", "VOLUME_BACKENDS",
           "is_alive", "list_hosts", "get_host", "set_enabled"]

# The block-storage backends an agent can hold volumes for.
VOLUME_BACKENDS = ("file",)

# A host that has not reported for this long is down: the scheduler avoids it.
ALIVE_SECONDS = 60


def _hash(token: str) -> str:
    # Host tokens are 256 random bits, so a fast hash is enough (and cheap per long-poll).
    return hashlib.sha256(token.encode()).hexdigest()


def register(s: Session, reg: contract.Registration, registration_key: str, presented: str
             ) -> contract.RegistrationReply:
    """Register (or re-register) a host; the presented key must be the cloud's agent key."""
    if not hmac.compare_digest(registration_key.encode(), presented.encode()):
        raise errors.Unauthorized("Wrong agent registration key.")
    tunnel_ip = reg.get("tunnel_ip") or None
    if tunnel_ip is not None:
        try:
            if not isinstance(tunnel_ip, str):
                raise ValueError(tunnel_ip)
            tunnel_ip = str(ipaddress.ip_address(tunnel_ip))
        except ValueError as e:
            raise errors.BadRequest(f"tunnel_ip {tunnel_ip!r} is not an IP address.") from e
    token = secrets.token_urlsafe(32)
    row = s.scalars(select(m.Host).where(m.Host.name == reg["name"])).first()
    if row is None:
        row = m.Host(id=str(uuid.uuid4()), name=reg["name"], revision=1)
        s.add(row)
    row.vcpus, row.memory_mb, row.disk_gb = reg["vcpus"], reg["memory_mb"], reg["disk_gb"]
    row.virt_type = reg["virt_type"]
    row.availability_zone = reg.get("availability_zone") or row.availability_zone or "nova"
    row.token_hash = _hash(token)
    row.last_seen = utcnow()
    backend = reg.get("volume_backend") or None
    if backend is not None and backend not in VOLUME_BACKENDS:
        raise errors.BadRequest(f"volume_backend {backend!r} is not one of "
                                f"{', '.join(VOLUME_BACKENDS)}.")
    row.volume_backend = backend
    node = bool(reg.get("network_node", False))
    if (tunnel_ip, node) != (row.tunnel_ip, row.network_node):
        # Peers' VXLAN flood entries, or where routers and DHCP live, change for everyone.
        row.tunnel_ip, row.network_node = tunnel_ip, node
        s.flush()
        changes.changed(s, everywhere=True)
    s.flush()
    return {"host_id": row.id, "token": token}


def authenticate(s: Session, host_id: str, token: str) -> m.Host:
    row = s.get(m.Host, host_id)
    if row is None or not hmac.compare_digest(row.token_hash, _hash(token)):
        raise errors.Unauthorized("Unknown host or wrong host token.")
    return row


def authenticate_token(s: Session, token: str) -> m.Host:
    row = s.scalars(select(m.Host).where(m.Host.token_hash == _hash(token))).first()
    if row is None:
        raise errors.Unauthorized("Unknown host token.")
    return row


def is_alive(row: m.Host, now: datetime.datetime | None = None) -> bool:
    if row.forced_down or row.last_seen is None:
        return False
    return ((now or utcnow()) - row.last_seen).total_seconds() < ALIVE_SECONDS


def list_hosts(s: Session) -> list[m.Host]:
    return list(s.scalars(select(m.Host).order_by(m.Host.name)))


def get_host(s: Session, name_or_id: str) -> m.Host:
    row = s.get(m.Host, name_or_id) or s.scalars(
        select(m.Host).where(m.Host.name == name_or_id)).first()
    if row is None:
        raise errors.NotFound(f"Compute host {name_or_id} could not be found.")
    return row


def set_enabled(s: Session, host: m.Host, enabled: bool, reason: str | None = None) -> None:
    host.enabled = enabled
    host.disabled_reason = None if enabled else reason
    host.updated_at = utcnow()
