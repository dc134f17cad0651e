"""Devices of running servers: which NICs and volumes QEMU has, and making them the desired ones.

Used by the compute reconciler (``sausage.agent.compute``): each iteration it asks QEMU which
volumes the servers have (``attached``), asks the hotplug planner (``plan/hotplug.py``) with what
is known here (``devices``) whether a running server's devices must change, runs ``sync`` for
it on a worker thread under the server's lock, and reports the failures (``nic_messages``,
``volume_failures``). A failure is tried again after a while (``NIC_RETRY``, ``VOLUME_RETRY``):
the retry times are remembered here and decided on by the planner. The volume reconciler grows
volumes in use through ``resize_live``. The QMP work itself is in ``drivers/nics.py`` and
``drivers/blockdevs.py``.
"""

from __future__ import annotations

import logging
import pathlib
import time
from collections.abc import Callable, Iterable, Mapping

from sausage.agent.drivers import blockdevs, disks, nics, qemu
from sausage.agent.plan import hotplug as plan

__all__ = ["Hotplug", "NIC_RETRY", "VOLUME_RETRY"]

log = logging.getLogger("sausage.agent")

NIC_RETRY = 60.0  # seconds before a failed NIC hotplug is tried again
VOLUME_RETRY = 60.0  # seconds before a failed volume attach or detach is tried again
# A guest that is busy (booting, or starved of CPU under TCG) may take minutes to answer the
# ACPI eject. Like Nova's libvirt driver, keep asking (every DETACH_RETRY seconds) for up to
# DETACH_PATIENCE seconds before a detach is reported as failed.
DETACH_RETRY = 5.0
COPY_TIMEOUT = 3600.0  # a live copy of an in-use volume (snapshot, clone, upload)
DETACH_PATIENCE = 240.0


class Hotplug:
    def __init__(self, driver: qemu.QemuDriver, unplug_timeout: float = 30.0,
                 detach_patience: float = DETACH_PATIENCE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.driver = driver
        self.clock = clock
        self.unplug_timeout = unplug_timeout  # one wait for the guest to release a device
        self.detach_patience = detach_patience
        # server id → the taps its running QEMU has (absent: not known, ask QEMU)
        self._plugged: dict[str, tuple[str, ...]] = {}
        self._nic_errors: dict[str, tuple[float, str]] = {}  # server id → (retry at, message)
        # server id → (retry at, volume id → why its attach or detach failed)
        self._volume_errors: dict[str, tuple[float, dict[str, str]]] = {}
        # (server id, volume id) → when its detach was first asked of the guest
        self._detaching: dict[tuple[str, str], float] = {}

    # -- observing ---------------------------------------------------------------------------------
    def attached(self, statuses: Iterable[qemu.Status]) -> dict[str, list[str]]:
        """server id → the volumes its QEMU has, for the servers whose QEMU answers."""
        found: dict[str, list[str]] = {}
        for status in statuses:
            if status.pid is None or status.problem is not None:
                continue
            try:
                found[status.id] = blockdevs.attached(self._sock(status.id))
            except qemu.DriverError:
                pass  # exited meanwhile, or still starting: nothing to say this time
        return found

    def started(self, server_id: str, boot: qemu.Boot) -> None:
        """QEMU was (re)started with ``boot``'s devices."""
        self._plugged[server_id] = tuple(n.tap for n in boot.nics)

    def stopped(self, server_id: str) -> None:
        self._plugged.pop(server_id, None)

    # -- what the planner is told ------------------------------------------------------------------
    def devices(self, server_id: str, state: str, attached: list[str] | None) -> plan.Devices:
        """What is known of a running or paused server's devices (``attached``: the volumes its
        QEMU said it has), for the hotplug planner (``plan/hotplug.py``)."""
        plugged = self._plugged.get(server_id)
        nic_error = self._nic_errors.get(server_id)
        volume_error = self._volume_errors.get(server_id)
        return plan.Devices(
            state=state, plugged=plugged,
            attached=tuple(attached) if attached is not None else None,
            nic_retry_at=nic_error[0] if nic_error is not None else None,
            volume_retry_at=volume_error[0] if volume_error is not None else None)

    # -- acting (worker thread) --------------------------------------------------------------------
    def sync(self, server_id: str, wanted: tuple[qemu.Nic, ...] | None,
             disks: tuple[qemu.Disk, ...] | None) -> None:
        """Plug and unplug NICs (unless ``wanted`` is None) and volumes (unless ``disks`` is
        None) of a running server, under its lock. Volumes are plugged in the desired order:
        attach order is device order."""
        try:
            with self.driver.lock(server_id):
                if self.driver.pid(server_id) is None:
                    self._plugged.pop(server_id, None)
                    return
                if wanted is not None:
                    self._sync_nics(server_id, wanted)
                if disks is not None:
                    self._sync_volumes(server_id, disks)
        except qemu.DriverError as e:  # the lock itself
            log.error("server %s: %s", server_id, e.message)

    def _sync_nics(self, server_id: str, wanted: tuple[qemu.Nic, ...]) -> None:
        try:
            plugged, unplugged = nics.sync(self._sock(server_id), wanted)
            self._plugged[server_id] = tuple(n.tap for n in wanted)
            self._nic_errors.pop(server_id, None)
            if plugged or unplugged:
                log.info("server %s: NICs plugged %s, unplugged %s", server_id,
                         plugged or "-", unplugged or "-")
        except qemu.DriverError as e:
            log.error("server %s: NIC hotplug failed: %s", server_id, e.message)
            self._nic_errors[server_id] = (self.clock() + NIC_RETRY,
                                           f"server {server_id}: NIC hotplug: {e.message}")

    def _sync_volumes(self, server_id: str, disks: tuple[qemu.Disk, ...]) -> None:
        errors: dict[str, str] = {}
        try:
            plugged, unplugged = blockdevs.sync(self._sock(server_id), disks, errors,
                                                timeout=self.unplug_timeout)
        except qemu.DriverError as e:  # QEMU could not even be asked
            log.error("server %s: volume hotplug failed: %s", server_id, e.message)
            self._volume_errors[server_id] = (self.clock() + VOLUME_RETRY, {})
            return
        if plugged or unplugged:
            log.info("server %s: volumes attached %s, detached %s", server_id,
                     plugged or "-", unplugged or "-")
        now = self.clock()
        wanted = {disk.volume_id for disk in disks}
        for key in [k for k in self._detaching if k[0] == server_id
                    and (k[1] in wanted or k[1] in unplugged)]:
            del self._detaching[key]
        patient = False
        for volume_id in [v for v in errors if v not in wanted]:  # detaches the guest ignores
            since = self._detaching.setdefault((server_id, volume_id), now)
            if now - since < self.detach_patience:
                log.warning("server %s: volume %s: the guest has not released it yet "
                            "(%.0f s); asking again", server_id, volume_id, now - since)
                del errors[volume_id]
                patient = True
            else:
                del self._detaching[(server_id, volume_id)]
        for volume_id, message in errors.items():
            log.error("server %s: volume %s: %s", server_id, volume_id, message)
        if errors:
            self._volume_errors[server_id] = (now + VOLUME_RETRY, errors)
        elif patient:
            self._volume_errors[server_id] = (now + DETACH_RETRY, {})
        else:
            self._volume_errors.pop(server_id, None)

    def resize_live(self, volume_id: str, size_bytes: int) -> bool:
        """Grow a volume a running QEMU of ours has open, through that QEMU (the guest sees the
        new size); False when none has it (the backend grows it itself). Called by the volume
        reconciler's workers. Raises DriverError when QEMU refuses."""
        sid = self._holder(volume_id)
        if sid is None:
            return False
        blockdevs.resize(self._sock(sid), volume_id, size_bytes)
        log.info("server %s: volume %s grown live to %d bytes", sid, volume_id, size_bytes)
        return True

    def copy_live(self, volume_id: str, target: pathlib.Path, fmt: str) -> bool:
        """Have the running QEMU of ours that has the volume write a point-in-time copy of it
        to ``target`` (QMP ``drive-backup`` of its node: consistent while the guest writes);
        False when none has it. Called by the volume reconciler's workers for snapshots,
        clones and uploads of in-use volumes. Raises DriverError when the copy fails."""
        sid = self._holder(volume_id)
        if sid is None:
            return False
        disks.copy_running(self._sock(sid), target, COPY_TIMEOUT,
                           device=blockdevs.Disk(volume_id, {}).node, fmt=fmt)
        log.info("server %s: volume %s copied live to %s", sid, volume_id, target.name)
        return True

    def _holder(self, volume_id: str) -> str | None:
        """The server whose running QEMU has the volume attached, if any."""
        for sid in self.driver.server_ids():
            if self.driver.pid(sid) is None:
                continue
            try:
                if volume_id in blockdevs.attached(self._sock(sid)):
                    return sid
            except qemu.DriverError:
                continue  # exited meanwhile
        return None

    # -- reporting ---------------------------------------------------------------------------------
    def nic_messages(self, servers: Mapping[str, object]) -> list[str]:
        """The NIC hotplug failures of the desired ``servers``, for the operator."""
        return [m for sid, (_, m) in self._nic_errors.items() if sid in servers]

    def volume_failures(self, server_id: str) -> dict[str, str]:
        """volume id → why its last attach or detach on the server failed."""
        return self._volume_errors.get(server_id, (0.0, {}))[1]

    def forget(self, keep: Iterable[str]) -> None:
        """Drop what is remembered of servers no longer desired."""
        kept = set(keep)
        for sid in [s for s in self._volume_errors if s not in kept]:
            del self._volume_errors[sid]
        for key in [k for k in self._detaching if k[0] not in kept]:
            del self._detaching[key]

    def _sock(self, server_id: str) -> pathlib.Path:
        return self.driver.dir(server_id) / "qmp.sock"
