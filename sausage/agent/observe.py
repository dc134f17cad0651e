"""Observation → the planner's view of the host, and → the report the API receives.

The compute reconciler (``sausage.agent.compute``) calls ``host_view`` with the QEMU driver's
statuses and the applied counters (``sausage.agent.state``) before planning, and
``server_report`` (with ``server_volumes``) for each server it reports. Pure functions except
``capacity`` (reads /proc and the state dir's file system) and ``ConsoleTracker`` (remembers
what was last sent).
"""

from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Iterable, Mapping, Sequence

from sausage.agent import config, state
from sausage.agent.drivers import qemu
from sausage.agent.plan import compute
from sausage.contract import host as contract

__all__ = ["host_view", "instance", "server_report", "server_volumes", "capacity",
           "ConsoleTracker"]


def instance(status: qemu.Status, applied: state.Applied) -> compute.Instance:
    """One server as the planner sees it: the driver's status and what the agent applied. An
    uncontrollable process counts as an error. A server recorded as booted from a volume has
    its root disk (the volume is not its own)."""
    r, a = status.record, applied
    return compute.Instance(
        id=status.id, state=status.state, has_disk=status.has_disk or r.root_volume is not None,
        image_id=r.image_id,
        power_seq=a.power_seq, reboot_seq=a.reboot_seq, rebuild_seq=a.rebuild_seq,
        resize_seq=a.resize_seq, snapshots_done=frozenset(a.snapshots_done),
        error=a.error or status.problem,
    )


def host_view(servers: Iterable[tuple[qemu.Status, state.Applied]], cached: frozenset[str],
              volumes: frozenset[str] = frozenset()) -> compute.Host:
    return compute.Host(tuple(instance(s, a) for s, a in servers), cached, volumes)


def server_volumes(desired: contract.DesiredServer | None, attached: Sequence[str] | None,
                   running: bool, present: frozenset[str],
                   failures: Mapping[str, str]) -> tuple[list[str] | None, dict[str, str]]:
    """(volumes, volume_errors) of a server's report.

    Running (a QEMU process): the volumes QEMU has (``attached``; None: it could not be asked,
    so nothing is said), in the desired order. Otherwise the desired ones on this host: they
    would be attached at the next start. Errors: a desired volume whose data is not on this
    host, and the hotplug ``failures`` that still matter (QEMU's disks still differ from the
    desired ones for that volume).
    """
    wanted = [v["volume_id"] for v in desired.get("volumes", [])] if desired is not None else []
    errors = {v: f"volume {v} is not on this host" for v in wanted if v not in present}
    volumes: list[str] | None
    if not running:
        volumes = [v for v in wanted if v in present]
    elif attached is None:
        volumes = None
    else:
        volumes = [v for v in wanted if v in attached]
        volumes += sorted(set(attached) - set(wanted))
    for volume_id, message in failures.items():
        if volumes is None or (volume_id in wanted) != (volume_id in volumes):
            errors.setdefault(volume_id, message)
    return volumes, errors


def server_report(server_id: str, status: qemu.Status | None,
                  desired: contract.DesiredServer | None, *, busy: bool,
                  console: str | None, volumes: list[str] | None = None,
                  volume_errors: Mapping[str, str] | None = None,
                  applied: state.Applied = state.Applied()) -> contract.ObservedServer:
    """What the API is told about one server.

    "building" until a desired server first runs; "error" with the message while an action's
    failure is unresolved; otherwise the observed power state. ``applied``: the counters,
    snapshots and error the agent recorded for it (``sausage.agent.state``). ``busy``: the
    agent is acting on it, so a transient state (stopped during a hard reboot) is not news.
    """
    record = status.record if status is not None else qemu.Record()
    report: contract.ObservedServer = {
        "id": server_id, "state": "building", "power_seq": applied.power_seq,
        "reboot_seq": applied.reboot_seq,
        "rebuild_seq": applied.rebuild_seq, "resize_seq": applied.resize_seq,
        "snapshots_done": list(applied.snapshots_done),
    }
    if applied.snapshot_errors:
        report["snapshot_errors"] = {str(seq): message
                                     for seq, message in applied.snapshot_errors}
    if busy:
        report["busy"] = True
    if volumes is not None:
        report["volumes"] = volumes
    if volume_errors:
        report["volume_errors"] = dict(volume_errors)
    if status is None:
        report["state"] = "building" if desired is not None else "absent"
        return report
    error = applied.error or status.problem
    if error:
        report["state"] = "error"
        report["error"] = error
    elif (status.state == "stopped" and not record.started and desired is not None
          and desired["power"] != "stopped"):
        report["state"] = "building"
    else:
        report["state"] = status.state
    if status.pid is not None:
        report["pid"] = status.pid
        if record.vcpus is not None and record.memory_mb is not None:
            report["vcpus"] = record.vcpus
            report["memory_mb"] = record.memory_mb
        report["ready"] = status.ready
    if console is not None:
        report["console_tail"] = console
    return report


def capacity(cfg: config.AgentConfig) -> tuple[int, int, int]:
    """(vcpus, memory_mb, disk_gb) the host offers: the config's overrides, else what it has."""
    vcpus = cfg.vcpus or os.cpu_count() or 1
    memory_mb = cfg.memory_mb
    if memory_mb is None:
        memory_mb = 1024
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_mb = int(line.split()[1]) // 1024
                break
    disk_gb = cfg.disk_gb
    if disk_gb is None:
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        disk_gb = shutil.disk_usage(cfg.state_dir).total >> 30
    return vcpus, memory_mb, disk_gb


class ConsoleTracker:
    """Which serial logs changed since the last report the API accepted.

    ``changed`` marks a log as about to be sent; ``commit`` (after a successful POST) makes
    that the new baseline, so a failed report sends the tail again next time.
    """

    def __init__(self) -> None:
        self._sent: dict[str, tuple[int, int]] = {}
        self._pending: dict[str, tuple[int, int]] = {}

    def changed(self, server_id: str, path: pathlib.Path) -> bool:
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        key = (st.st_size, st.st_mtime_ns)
        if self._sent.get(server_id) == key:
            return False
        self._pending[server_id] = key
        return True

    def commit(self, present: Iterable[str]) -> None:
        self._sent.update(self._pending)
        self._pending.clear()
        keep = set(present)
        for server_id in [s for s in self._sent if s not in keep]:
            del self._sent[server_id]

    def discard(self) -> None:
        self._pending.clear()
