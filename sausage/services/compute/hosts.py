"""Hosts and their agents: registration, the desired-state document, observed-state reports.

This is the control plane's half of ``sausage.contract.host``. Every change to what should run
on a host bumps ``hosts.revision`` in the same transaction, so an agent long-polling for a newer
revision sees it; reports fold the agent's observations back into Nova's server states.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sausage import errors
from sausage.contract import host as contract
from sausage.db.models import compute as m
from sausage.db.models.base import utcnow
from sausage.services.compute import power
from sausage.services.network import changes
from sausage.services.network import desired as net_desired
from sausage.services.volume import attachments
from sausage.services.volume import desired as volume_desired

__all__ = ["register", "authenticate", "authenticate_token", "desired", "report", "bump", "ALIVE_SECONDS",
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


def bump(s: Session, host_id: str | None) -> None:
    """Tell the host's agent that its desired state changed."""
    if host_id is not None:
        s.execute(update(m.Host).where(m.Host.id == host_id)
                  .values(revision=m.Host.revision + 1))


def is_alive(row: m.Host, now: datetime.datetime | None = None) -> bool:
    if row.forced_down or row.last_seen is None:
        return False
    return ((now or utcnow()) - row.last_seen).total_seconds() < ALIVE_SECONDS


def _image_ref(base_url: str, image: Any) -> contract.ImageRef:
    return {"id": image.id, "disk_format": image.disk_format or "raw",
            "checksum": image.checksum, "size": image.size,
            "url": f"{base_url}/internal/v1/images/{image.id}/file"}


def _boot_refs(s: Session, base_url: str, image_ids: set[str]) -> dict[str, contract.ImageRef]:
    """ImageRefs for ``image_ids``; an image with kernel_id/ramdisk_id properties carries its
    kernel and ramdisk (and os_command_line) for a direct kernel boot."""
    from sausage.db.models import image as im

    props: dict[str, dict[str, str]] = {}
    for image_id, name, value in s.execute(select(
            im.ImageProperty.image_id, im.ImageProperty.name, im.ImageProperty.value).where(
            im.ImageProperty.image_id.in_(image_ids),
            im.ImageProperty.name.in_(("kernel_id", "ramdisk_id", "os_command_line")))):
        props.setdefault(image_id, {})[name] = value
    parts = {v for p in props.values() for k, v in p.items() if k != "os_command_line"}
    rows = {i.id: i for i in s.scalars(select(im.Image).where(
        im.Image.id.in_(image_ids | parts), im.Image.status == "active"))}
    refs: dict[str, contract.ImageRef] = {}
    for image_id in image_ids:
        if image_id not in rows:
            continue
        ref = _image_ref(base_url, rows[image_id])
        for prop, part in (("kernel_id", "kernel"), ("ramdisk_id", "ramdisk")):
            other = rows.get(props.get(image_id, {}).get(prop, ""))
            if other is not None:
                ref[part] = _image_ref(base_url, other)  # type: ignore[literal-required]
        if "kernel" in ref and props.get(image_id, {}).get("os_command_line"):
            ref["cmdline"] = props[image_id]["os_command_line"]
        refs[image_id] = ref
    return refs


def desired(s: Session, host: m.Host, base_url: str) -> contract.Desired:
    servers = list(s.scalars(select(m.Server).where(
        m.Server.host_id == host.id, m.Server.deleted.is_(False),
        m.Server.vm_state != "error").order_by(m.Server.created_at)))
    image_ids = {srv.image_id for srv in servers if srv.image_id}
    images = _boot_refs(s, base_url, image_ids)
    server_ids = [srv.id for srv in servers]
    volume_backed = attachments.bootable_root(s, server_ids)
    waiting = attachments.waiting_servers(s, server_ids)
    docs: list[contract.DesiredServer] = []
    for srv in servers:
        image = images.get(srv.image_id or "")
        if srv.id in waiting and srv.vm_state == "building":
            continue  # its volumes are still being made
        if image is None and srv.id not in volume_backed:
            continue
        snapshots: list[contract.Snapshot] = [
            {"seq": int(snap["seq"]), "image_id": snap["image_id"],
             "upload_url": f"{base_url}/internal/v1/images/{snap['image_id']}/file"}
            for snap in srv.observed.get("pending_snapshots", [])]
        docs.append({
            "id": srv.id, "name": srv.name, "hostname": srv.hostname,
            "power": power.desired_power(srv), "power_seq": srv.power_seq,
            "vcpus": srv.vcpus, "memory_mb": srv.memory_mb, "root_gb": srv.root_gb,
            "image": image,
            "reboot_seq": srv.reboot_seq, "reboot_kind": "hard" if srv.reboot_kind == "hard"
            else "soft",
            "rebuild_seq": srv.rebuild_seq, "resize_seq": srv.resize_seq,
            "snapshots": snapshots,
        })
    wiring = net_desired.build(s, host, [d["id"] for d in docs])
    plugged = attachments.server_volumes(s, [d["id"] for d in docs])
    for doc in docs:
        doc["nics"] = wiring.nics.get(doc["id"], [])
        doc["volumes"] = plugged.get(doc["id"], [])
    document: contract.Desired = {
        "version": contract.VERSION, "host_id": host.id, "revision": host.revision,
        "servers": docs, "networks": wiring.networks, "ports": wiring.ports,
        "routers": wiring.routers}
    if host.volume_backend:
        document["volumes"] = volume_desired.for_host(
            s, host, base_url, lambda ids: _boot_refs(s, base_url, set(ids)))
    return document


def report(s: Session, host: m.Host, observed: contract.Observed) -> list[tuple[str, str]]:
    """Fold an agent's report into the servers of its host; returns snapshot outcomes
    (image id, "" or error message) for the image service to finish."""
    if host.network_node and not is_alive(host):
        # A network node comes back: it may be the one routers and DHCP move (back) to.
        changes.changed(s, everywhere=True)
    host.last_seen = utcnow()
    host.revision_seen = observed["revision_seen"]
    host.vcpus, host.memory_mb, host.disk_gb = (
        observed["vcpus"], observed["memory_mb"], observed["disk_gb"])
    seen = {o["id"]: o for o in observed["servers"]}
    outcomes: list[tuple[str, str]] = []
    servers: Sequence[m.Server] = list(s.scalars(select(m.Server).where(
        m.Server.host_id == host.id, m.Server.deleted.is_(False))))
    changed = False
    for srv in servers:
        o = seen.get(srv.id)
        if o is None:
            continue
        changed |= power.apply_observation(srv, o, s)
        done = set(o.get("snapshots_done", []))
        failed = o.get("snapshot_errors", {})
        pending = srv.observed.get("pending_snapshots", [])
        if done and pending:
            keep = []
            for snap in pending:
                if int(snap["seq"]) in done:
                    outcomes.append((snap["image_id"], failed.get(str(snap["seq"]), "")))
                else:
                    keep.append(snap)
            srv.observed = {**srv.observed, "pending_snapshots": keep}
            if not keep and srv.task_state == "image_uploading":
                srv.task_state = None
            changed = True
    if "ports_up" in observed:
        net_desired.report_ports(s, host, observed["ports_up"])
    if "volumes" in observed:
        volumes_changed, uploaded = volume_desired.fold(s, host, observed["volumes"])
        changed |= volumes_changed
        outcomes += uploaded
    changed |= attachments.fold_servers(s, host, observed["servers"])
    if changed:
        bump(s, host.id)
    return outcomes


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
