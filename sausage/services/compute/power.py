"""Nova's server state machine, kept true by what the agents observe.

The user's requests set the *desired* state (``power`` and one-shot counters) and a
``task_state``; an agent's report says what the host really runs. When a report shows every
counter applied, the task is over and ``vm_state`` follows the observation. A VM that stops by
itself while it should run becomes SHUTOFF (its desired power follows), as Nova's power-state
sync does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage.contract import host as contract
from sausage.db.models import compute as m
from sausage.db.models.base import utcnow

__all__ = ["status", "desired_power", "apply_observation", "POWER_STATES", "finish_action"]

# nova.compute.power_state
POWER_STATES = {"building": 0, "running": 1, "paused": 3, "stopped": 4, "suspended": 7,
                "error": 0, "absent": 0}

_BASE = {"building": "BUILD", "active": "ACTIVE", "stopped": "SHUTOFF", "paused": "PAUSED",
         "suspended": "SUSPENDED", "error": "ERROR", "resized": "VERIFY_RESIZE",
         "deleted": "DELETED"}
_TASKS = {"rebooting": "REBOOT", "reboot_pending": "REBOOT", "reboot_started": "REBOOT",
          "rebooting_hard": "HARD_REBOOT", "reboot_pending_hard": "HARD_REBOOT",
          "reboot_started_hard": "HARD_REBOOT", "rebuilding": "REBUILD",
          "rebuild_spawning": "REBUILD", "resize_prep": "RESIZE",
          "resize_migrating": "RESIZE", "resize_finish": "RESIZE",
          "resize_reverting": "REVERT_RESIZE"}
RESIZING = ("resize_prep", "resize_migrating", "resize_finish")


def status(srv: m.Server) -> str:
    if srv.deleted:
        return "DELETED"
    if srv.vm_state in ("active", "stopped") and srv.task_state in _TASKS:
        return _TASKS[srv.task_state]
    return _BASE.get(srv.vm_state, "UNKNOWN")


def desired_power(srv: m.Server) -> contract.Power:
    value = srv.power
    if value in ("running", "stopped", "paused", "suspended"):
        return value  # type: ignore[return-value]
    return "running"


def finish_action(s: Session, srv: m.Server, result: str = "Success",
                  message: str | None = None) -> None:
    """Close the server's open instance actions and their events."""
    now = utcnow()
    for action in s.scalars(select(m.InstanceAction).where(
            m.InstanceAction.server_id == srv.id, m.InstanceAction.finish_time.is_(None))):
        action.finish_time = now
        action.updated_at = now
        if result != "Success":
            action.message = "Error"
        for event in s.scalars(select(m.InstanceActionEvent).where(
                m.InstanceActionEvent.action_id == action.id,
                m.InstanceActionEvent.finish_time.is_(None))):
            event.finish_time = now
            event.result = result
            if message:
                event.traceback = message


def apply_observation(srv: m.Server, o: contract.ObservedServer,
                      s: Session | None = None) -> bool:
    """Update ``srv`` from one observation; True when anything the user sees changed."""
    before = (srv.vm_state, srv.task_state, srv.power, srv.power_state)
    kept: dict[str, Any] = {k: v for k, v in o.items() if k != "console_tail"}
    srv.observed = {**srv.observed, **kept}
    if "console_tail" in o:
        srv.console_tail = o["console_tail"]
    if o.get("busy"):
        # The agent is still acting: a stopped VM mid-reboot, or a QMP socket not there yet
        # while QEMU starts, is not news.
        return False
    state = o["state"]
    now = utcnow()
    if state == "error":
        srv.vm_state, srv.task_state, srv.power_state = "error", None, 0
        srv.fault = {"code": 500, "message": o.get("error") or "The host failed this server.",
                     "created": now.isoformat()}
        if s is not None:
            finish_action(s, srv, "Error", o.get("error"))
        srv.updated_at = now
        return True
    applied = (o["power_seq"] >= srv.power_seq and o["reboot_seq"] >= srv.reboot_seq
               and o["rebuild_seq"] >= srv.rebuild_seq and o["resize_seq"] >= srv.resize_seq)
    srv.power_state = POWER_STATES.get(state, 0)
    if applied and state in ("running", "stopped", "paused", "suspended"):
        if state == "running":
            if srv.task_state in RESIZING:
                srv.vm_state = "resized"
            elif srv.vm_state != "resized" or srv.task_state == "resize_reverting":
                srv.vm_state = "active"
            if srv.launched_at is None:
                srv.launched_at = now
        elif state == "stopped":
            if srv.power == "running" and srv.task_state is None and srv.vm_state == "active":
                # Stopped outside our control: show SHUTOFF and do not restart it.
                srv.power = "stopped"
            srv.vm_state = "stopped" if srv.task_state not in RESIZING else "resized"
        else:
            srv.vm_state = state
        if srv.task_state != "image_uploading":
            if srv.task_state is not None and s is not None:
                finish_action(s, srv)
            srv.task_state = None
        srv.progress = 100
    changed = before != (srv.vm_state, srv.task_state, srv.power, srv.power_state)
    if changed:
        srv.updated_at = now
    return changed
