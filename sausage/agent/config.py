"""The agent's settings: where its state lives, which API it reports to, what the host offers.

Built by the CLI (``sausage agent``, or ``sausage up`` for the all-in-one) with
``from_settings`` from the cloud's one settings object, or directly; read by
``sausage.agent.loop.run``. The agent's state dir is its own (``<state_dir>/agent`` by
default), apart from the API's image store: instances, the base image cache and the host
credential live there.
"""

from __future__ import annotations

import ipaddress
import pathlib
import socket
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sausage import config

__all__ = ["AgentConfig", "from_settings"]


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    state_dir: pathlib.Path = pathlib.Path(config.DEFAULT_STATE_DIR) / "agent"
    api_url: str = "http://127.0.0.1:8000"
    # The cloud's agent registration key (the API's ``<state_dir>/agent-key``), as a value or a
    # file to read it from; only needed until the host has its own credential.
    registration_key: str | None = None
    registration_key_file: pathlib.Path | None = None
    host_name: str = Field(default_factory=socket.gethostname)
    availability_zone: str | None = None
    # The network namespace the data plane (and so QEMU) runs in (`sausage up --netns NAME`).
    netns: str | None = None
    virt_type: Literal["auto", "kvm", "tcg"] = "auto"
    # Capacity reported to the scheduler; None: what the host has.
    vcpus: int | None = Field(default=None, ge=1)
    memory_mb: int | None = Field(default=None, ge=64)
    disk_gb: int | None = Field(default=None, ge=1)
    # A full observe/plan/report at least this often, changes or not (the long-poll's wait).
    resync_seconds: float = Field(default=10, gt=0, le=60)
    # How long a graceful stop waits for the guest to power off before QEMU is told to quit.
    stop_timeout: float = Field(default=30, ge=0)
    # Networking (DESIGN.md §6). The underlay address VXLAN peers reach this host at (unset:
    # no tunnels, one host).
    tunnel_ip: str | None = None
    # The host has the external network's bridge: routers and DHCP may be placed here.
    network_node: bool = False
    # physical network name → the host bridge of flat networks on it, e.g. {"public": "br-ex"}.
    bridge_mappings: dict[str, str] = Field(default_factory=dict)
    # An address (CIDR form) for the flat networks' bridge: in the all-in-one the host
    # namespace is "the outside" of the public network, e.g. "203.0.113.1/24".
    external_address: str | None = None
    # The block-storage backend whose volumes this host holds ("file": qcow2 files under
    # ``volumes_dir``); None: this host holds no volumes. `sausage up` sets "file".
    volume_backend: Literal["file"] | None = None
    # Servers acted on at the same time (a slow stop or download does not hold up the others).
    workers: int = Field(default=4, ge=1, le=64)

    @field_validator("tunnel_ip")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.ip_address(value))

    @field_validator("external_address")
    @classmethod
    def _interface(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.ip_interface(value))

    @property
    def instances_dir(self) -> pathlib.Path:
        return self.state_dir / "instances"

    @property
    def images_dir(self) -> pathlib.Path:
        return self.state_dir / "images"

    @property
    def volumes_dir(self) -> pathlib.Path:
        return self.state_dir / "volumes"

    @property
    def credential_file(self) -> pathlib.Path:
        return self.state_dir / "agent.yaml"

    def read_registration_key(self) -> str:
        """The registration key; '' when none is configured (the API will refuse)."""
        if self.registration_key is not None:
            return self.registration_key
        if self.registration_key_file is not None and self.registration_key_file.exists():
            return self.registration_key_file.read_text().strip()
        return ""


def from_settings(settings: config.Settings, **overrides: Any) -> AgentConfig:
    """The agent's settings for a cloud's settings: state under its state dir, its API, its
    netns, its registration key file.

    ``overrides`` (None values ignored) win. Raises ValueError (pydantic) on invalid values.
    """
    values: dict[str, Any] = {
        "state_dir": settings.state_dir / "agent",
        "api_url": settings.public_url,
        "netns": settings.netns,
        "tunnel_ip": settings.tunnel_ip,
        "registration_key_file": settings.state_dir / "agent-key",
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return AgentConfig(**values)
