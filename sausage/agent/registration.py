"""The agent's registration: the host's credential, kept in its state dir, or a new one.

Called by the agent loop (``sausage.agent.loop``) before its first request and again when the
API refuses the credential. The saved credential is reused while the facts the API placed the
host by (tunnel IP, network node, volume backend) are unchanged; otherwise the host registers
again rather than keep a stale record.
"""

from __future__ import annotations

import logging
import os
import pathlib

import yaml

from sausage.agent import config as agent_config
from sausage.agent.client import Client, ClientError, CredentialRefused
from sausage.contract import host as contract

__all__ = ["register"]

log = logging.getLogger("sausage.agent")


def register(cfg: agent_config.AgentConfig, client: Client, virt_type: str,
             capacity: tuple[int, int, int]) -> str:
    """The host id; sets ``client.token``. Raises ClientError (a refused key included)."""
    path = cfg.credential_file
    facts = {"tunnel_ip": cfg.tunnel_ip, "network_node": cfg.network_node,
             "volume_backend": cfg.volume_backend}
    if path.exists():
        saved = yaml.safe_load(path.read_text()) or {}
        if saved.get("host_id") and saved.get("token") and saved.get("facts") == facts:
            client.token = str(saved["token"])
            log.info("host %s: using the credential in %s", saved["host_id"], path)
            return str(saved["host_id"])
    vcpus, memory_mb, disk_gb = capacity
    registration: contract.Registration = {
        "name": cfg.host_name, "vcpus": vcpus, "memory_mb": memory_mb,
        "disk_gb": disk_gb, "virt_type": "kvm" if virt_type == "kvm" else "tcg",
    }
    if cfg.availability_zone:
        registration["availability_zone"] = cfg.availability_zone
    if cfg.tunnel_ip:
        registration["tunnel_ip"] = cfg.tunnel_ip
    registration["network_node"] = cfg.network_node
    if cfg.volume_backend:
        registration["volume_backend"] = cfg.volume_backend
    try:
        reply = client.register(registration, cfg.read_registration_key())
    except CredentialRefused as e:
        # Not worth an immediate retry: back off like any API failure.
        raise ClientError(f"the API refused the registration key ({e.message}); point "
                          f"registration_key_file at the API's agent-key", e.status) from e
    client.token = reply["token"]
    _write_private(path, yaml.safe_dump({"host_id": reply["host_id"], "token": reply["token"],
                                         "name": cfg.host_name, "api_url": cfg.api_url,
                                         "facts": facts}))
    log.info("registered as host %s (%s); credential kept in %s", reply["host_id"],
             cfg.host_name, path)
    return reply["host_id"]


def _write_private(path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
