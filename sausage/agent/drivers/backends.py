"""The block-storage backends an agent can hold volumes for, by name (``--volume-backend``).

Each backend implements ``storage.StorageDriver``; today there is one, ``file``
(``storage_file.py``). ``open_driver`` opens the one the agent's configuration names.
"""

from __future__ import annotations

from collections.abc import Callable

from sausage.agent import config as agent_config
from sausage.agent.drivers import storage_file
from sausage.agent.drivers.errors import DriverError
from sausage.agent.drivers.storage import StorageDriver

__all__ = ["BACKENDS", "open_driver"]


def _file(cfg: agent_config.AgentConfig) -> StorageDriver:
    return storage_file.FileDriver(cfg.volumes_dir)


# backend name → how to open it for an agent
BACKENDS: dict[str, Callable[[agent_config.AgentConfig], StorageDriver]] = {"file": _file}


def open_driver(cfg: agent_config.AgentConfig) -> StorageDriver:
    """The backend named by ``cfg.volume_backend``; DriverError when there is none such."""
    name = cfg.volume_backend
    if name is None or name not in BACKENDS:
        raise DriverError(f"No block-storage backend {name!r} (known: {sorted(BACKENDS)}).")
    return BACKENDS[name](cfg)
