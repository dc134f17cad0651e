"""The agent's own record of what it has applied to each server: the applied counters, the
snapshots done (and why some failed), and the error a failed action left.

Written by the compute reconciler (``sausage.agent.compute``) as it acts, read when it plans
(through ``sausage.agent.observe``) and reports. One JSON file per server,
``<state dir>/servers/<server id>.json``, written atomically (a temp file renamed over it), so an
agent killed at any point finds either the old or the new record. The QEMU driver keeps what is
the driver's (process, disk, boot spec) in its own ``record.json``.

Upgrade: agents before this store kept these fields in the driver's ``record.json``. A server
with no file here takes them from there (``legacy``) on first read, so an upgraded agent neither
redoes a reboot or a rebuild nor forgets an error.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Applied", "Store", "KEEP_SNAPSHOT_SEQS"]

log = logging.getLogger(__name__)

KEEP_SNAPSHOT_SEQS = 32
FIELDS = frozenset({"power_seq", "reboot_seq", "rebuild_seq", "resize_seq", "snapshots_done",
                    "snapshot_errors", "error"})


@dataclasses.dataclass(frozen=True)
class Applied:
    """What the agent has applied to one server (see ``sausage.contract.host``)."""

    power_seq: int = 0
    reboot_seq: int = 0
    rebuild_seq: int = 0
    resize_seq: int = 0
    snapshots_done: tuple[int, ...] = ()
    snapshot_errors: tuple[tuple[int, str], ...] = ()
    error: str | None = None  # a failed action's message; sticky until something recovers it

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Applied:
        """From a stored document (unknown keys ignored: an old ``record.json`` has more)."""
        return cls(
            power_seq=int(data.get("power_seq", 0)), reboot_seq=int(data.get("reboot_seq", 0)),
            rebuild_seq=int(data.get("rebuild_seq", 0)),
            resize_seq=int(data.get("resize_seq", 0)),
            snapshots_done=tuple(int(s) for s in data.get("snapshots_done", ())),
            snapshot_errors=tuple((int(s), str(m)) for s, m in data.get("snapshot_errors", ())),
            error=None if data.get("error") is None else str(data["error"]))


class Store:
    """``Applied`` per server under ``root``. ``legacy(server_id)`` is the old driver record's
    document ({} when none): read when a server has no file here yet."""

    def __init__(self, root: pathlib.Path,
                 legacy: Callable[[str], dict[str, Any]] = lambda _: {}) -> None:
        self.root = root
        self.legacy = legacy
        self._lock = threading.RLock()

    def path(self, server_id: str) -> pathlib.Path:
        if not server_id or "/" in server_id or server_id.startswith("."):
            raise ValueError(f"Invalid server id {server_id!r}.")
        return self.root / f"{server_id}.json"

    def get(self, server_id: str) -> Applied:
        with self._lock:
            try:
                return Applied.from_mapping(json.loads(self.path(server_id).read_text()))
            except FileNotFoundError:
                pass
            except (ValueError, TypeError, AttributeError) as e:
                log.warning("server %s: unreadable %s (%s); starting afresh", server_id,
                            self.path(server_id), e)
                return Applied()
            try:
                old = self.legacy(server_id)
                applied = Applied.from_mapping(old)
            except (ValueError, TypeError, AttributeError):
                return Applied()
            if FIELDS & old.keys():
                # Taken over from an older agent's record: kept here from now on (the driver
                # no longer writes these fields, so its next write drops them).
                self._write(server_id, applied)
                log.info("server %s: applied counters taken over from the driver's record",
                         server_id)
            return applied

    def update(self, server_id: str, **changes: Any) -> Applied:
        """Change fields of the server's record (written atomically); returns the new one."""
        with self._lock:
            applied = dataclasses.replace(self.get(server_id), **changes)
            self._write(server_id, applied)
            return applied

    def _write(self, server_id: str, applied: Applied) -> None:
        path = self.path(server_id)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(applied.to_json())
        os.replace(tmp, path)

    def snapshot_done(self, server_id: str, seq: int, error: str | None) -> Applied:
        """Record a snapshot as done (failed, with ``error``); the last few are kept."""
        with self._lock:
            applied = self.get(server_id)
            changes: dict[str, Any] = {
                "snapshots_done": (*applied.snapshots_done, seq)[-KEEP_SNAPSHOT_SEQS:]}
            if error is not None:
                changes["snapshot_errors"] = (*applied.snapshot_errors,
                                              (seq, error))[-KEEP_SNAPSHOT_SEQS:]
            return self.update(server_id, **changes)

    def remove(self, server_id: str) -> None:
        """Forget the server (it was destroyed)."""
        with self._lock:
            self.path(server_id).unlink(missing_ok=True)
