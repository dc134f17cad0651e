"""The one settings object of a Sausage Cloud.

Read from ``<state_dir>/sausage.yaml`` when it exists, then from ``SAUSAGE_<FIELD>`` environment
variables, then from command-line flags (the CLI passes them as overrides). Everything else in the
cloud gets its settings from here, never from its own files or globals.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import re
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Settings", "load", "cores"]

DEFAULT_STATE_DIR = "/var/lib/sausage"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    state_dir: pathlib.Path = pathlib.Path(DEFAULT_STATE_DIR)
    # The API listens on loopback; put a TLS-terminating proxy in front for anything else.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Empty means SQLite in the state dir; set a postgresql+psycopg:// URL for several controllers.
    database_url: str = ""
    region: str = "RegionOne"
    # Keystone's default token lifetime is one hour; tokens are never stored, so this is cheap.
    token_expiration: int = Field(default=3600, ge=60)
    fernet_max_active_keys: int = Field(default=3, ge=2)
    fernet_rotation_seconds: int = Field(default=86400, ge=60)
    netns: str | None = None
    # Per-project image quotas (Glance's image_count_total and image_size_total).
    image_quota_count: int = Field(default=100, ge=0)
    image_quota_bytes: int = Field(default=1 << 40, ge=0)
    # The guest image `sausage up` registers as `sausage-test` (built by tools/testimage).
    test_image: pathlib.Path | None = None
    # The external network `public` that floating IPs come from. In the all-in-one its gateway
    # (the first address) sits on the host's external bridge, which is "the outside".
    public_cidr: str = "203.0.113.0/24"
    # Make `public`, demo's `private` network and its router `router1` at start (as devstack).
    network_bootstrap: bool = True
    # This host's underlay address for VXLAN tunnels (unset: one host, no tunnels).
    tunnel_ip: str | None = None
    log_level: str = "info"
    # Worker processes serving the API on the one port; unset means one per core.
    api_workers: int | None = Field(default=None, ge=1, le=256)
    # Password hashing (logins, password changes) waiting per worker beyond the hashes running
    # (also never more than about a second's worth); past that a login is answered 503 with
    # Retry-After at once instead of queueing.
    password_hash_backlog: int = Field(default=64, ge=0)
    # DNS as a service: the controller's PowerDNS answers DNS on this host:port (inside the
    # --netns namespace when one is set).
    dns_listen: str = "127.0.0.1:5354"
    # The port of PowerDNS's HTTP API, on loopback only (of the --netns namespace when set).
    dns_api_port: int = Field(default=8081, ge=1, le=65535)
    # The nameservers every zone's apex NS names; the first is the SOA's primary.
    dns_nameservers: list[str] = Field(default_factory=lambda: ["ns1.sausage.test."],
                                       min_length=1)
    # The DNS domain of the names ports get (Neutron's dns_domain option): a port's fqdn is its
    # hostname under its network's dns_domain, else under this one. A trailing dot is added.
    dns_domain: str = "openstacklocal."
    # Upstream resolvers the networks' internal DNS (dnsmasq) forwards other names to when the
    # subnets name none; empty: names outside the network are refused, nothing is forwarded.
    dns_resolvers: list[str] = Field(default_factory=list)

    @field_validator("public_cidr")
    @classmethod
    def _network(cls, value: str) -> str:
        net = ipaddress.ip_network(value, strict=True)  # ValueError → a clear config error
        if net.version != 4 or net.num_addresses < 8:
            raise ValueError("public_cidr must be an IPv4 prefix of /29 or larger")
        return str(net)

    @field_validator("dns_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        ipaddress.ip_address(host.strip("[]"))  # ValueError → a clear config error
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("dns_listen must be ADDRESS:PORT")
        return value

    @field_validator("dns_nameservers", "dns_resolvers", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        # SAUSAGE_DNS_NAMESERVERS=ns1.example.org.,ns2.example.org. (an env var is one string)
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) \
            else value

    @field_validator("dns_nameservers")
    @classmethod
    def _absolute(cls, value: list[str]) -> list[str]:
        return [name if name.endswith(".") else name + "." for name in value]

    @field_validator("dns_resolvers")
    @classmethod
    def _resolvers(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_address(v)) for v in value]

    @field_validator("tunnel_ip")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.ip_address(value))

    @field_validator("dns_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().lower()
        labels = value.rstrip(".").split(".")
        if not value.rstrip(".") or len(value.rstrip(".")) > 253 or not all(
                re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", label) for label in labels):
            raise ValueError(f"dns_domain {value!r} is not a domain name")
        return value if value.endswith(".") else value + "."

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'sausage.db'}"

    @property
    def workers(self) -> int:
        """How many API worker processes to run: ``api_workers``, else the usable cores."""
        return self.api_workers or cores()

    @property
    def password_hash_slots(self) -> int:
        """Hashes one worker runs at once: the cores shared out among the workers (at least 1),
        so a burst of logins keeps at most every core busy and never more."""
        return max(1, cores() // self.workers)

    @property
    def public_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def images_dir(self) -> pathlib.Path:
        return self.state_dir / "images"

    @property
    def fernet_key_dir(self) -> pathlib.Path:
        return self.state_dir / "fernet-keys"


def cores() -> int:
    """The CPUs this process may run on (its affinity, not the machine's total)."""
    return len(os.sched_getaffinity(0)) or 1


def load(state_dir: pathlib.Path | None = None, **overrides: Any) -> Settings:
    """Settings for a state dir: its sausage.yaml, then SAUSAGE_* env vars, then ``overrides``.

    Raises ValueError (from pydantic) when a value is not valid.
    """
    root = pathlib.Path(state_dir or os.environ.get("SAUSAGE_STATE_DIR") or DEFAULT_STATE_DIR)
    values: dict[str, Any] = {}
    config_file = root / "sausage.yaml"
    if config_file.exists():
        loaded = yaml.safe_load(config_file.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{config_file} must hold a mapping of settings")
        values.update(loaded)
    for name in Settings.model_fields:
        env = os.environ.get(f"SAUSAGE_{name.upper()}")
        if env is not None:
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["state_dir"] = root
    return Settings(**values)
