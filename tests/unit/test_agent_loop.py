"""The agent loop on a fake host and a fake API: restarts, lost reports, repeats, failures and
changes that arrive while a server is being acted on. No QEMU, no network (``agent_fakes``)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from sausage.agent import compute, loop
from sausage.agent.drivers import qemu, qmp
from tests.unit.agent_fakes import HOST_ID, FakeQmp, Harness, Killed, Vm, server


@pytest.fixture
def h(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setattr(loop, "BUSY_POLL", 0.01)
    harness = Harness(tmp_path)
    monkeypatch.setattr(qmp, "execute", FakeQmp(harness.host).execute)
    yield harness
    harness.close()


# -- (a) the agent restarts in the middle of an operation -----------------------------------------

def test_an_agent_killed_right_after_starting_a_server_does_not_start_it_twice(h: Harness) -> None:
    h.api.want(server())
    started = h.host.hold("started")
    h.iterate()
    assert started.reached.wait(5)
    started.kill()  # QEMU runs, but the agent died before it recorded the power request
    h.restart()
    report = h.settle()
    assert h.host.count("start") == 1
    assert h.host.count("create_disk") == 1
    assert h.api.last("s1")["state"] == "running"
    assert h.api.last("s1")["power_seq"] == 1
    assert report["revision_seen"] == h.api.revision


def test_an_agent_killed_after_creating_a_disk_starts_the_server_without_a_new_disk(
        h: Harness) -> None:
    h.api.want(server())
    created = h.host.hold("disk created")
    h.iterate()
    assert created.reached.wait(5)
    created.kill()  # the disk exists; its counters and the start never happened
    h.restart()
    h.settle()
    assert h.host.count("create_disk") == 1
    assert h.host.count("start") == 1
    assert h.api.last("s1")["state"] == "running"
    assert h.api.last("s1")["power_seq"] == 1


def test_a_restarted_agent_does_not_redo_a_reboot_it_had_recorded(h: Harness) -> None:
    h.api.want(server())
    h.settle()
    h.api.want(server(reboot_seq=1))
    h.settle()
    assert h.host.count("reboot") == 1
    h.restart()
    h.settle()
    h.settle()
    assert h.host.count("reboot") == 1
    assert h.api.last("s1")["reboot_seq"] == 1


# -- (b) a lost report ----------------------------------------------------------------------------

def test_a_report_the_api_did_not_take_is_sent_again_with_nothing_missing(h: Harness) -> None:
    h.api.want(server())
    h.iterate()  # the build is handed out, reported busy
    h.wait_idle()  # the guest has booted and written to its console
    h.api.report_failures.append("POST /observed: connection reset")
    assert h.iterate() is None
    assert h.delays[-1] > 0  # the loop backs off
    report = h.iterate()
    assert report is not None
    s1 = report["servers"][0]
    assert s1["state"] == "running" and s1["power_seq"] == 1 and "busy" not in s1
    # The console tail went out only in the lost report: it comes again.
    assert s1["console_tail"].startswith("boot ")
    assert "console_tail" not in h.iterate()["servers"][0]  # type: ignore[index]


# -- (c) the same desired document twice ----------------------------------------------------------

def test_the_same_desired_state_again_changes_nothing_on_the_host(h: Harness) -> None:
    h.api.want(server(), server("s2", power="stopped"))
    first = h.settle()
    calls = list(h.host.calls)
    again = h.iterate()
    h.iterate()
    assert h.host.calls == calls
    assert again is not None
    assert [(s["id"], s["state"]) for s in again["servers"]] == \
        [(s["id"], s["state"]) for s in first["servers"]] == [("s1", "running"), ("s2", "stopped")]
    assert not any(s.get("busy") for s in again["servers"])


# -- (d) driver errors ----------------------------------------------------------------------------

def test_a_destroy_that_fails_is_tried_again_on_the_next_iteration(h: Harness) -> None:
    h.api.want(server())
    h.settle()
    h.host.fail("destroy", "Could not remove the instance dir.")
    h.api.want()
    h.settle()
    assert h.host.count("destroy") == 2
    assert "s1" not in h.host.vms
    assert h.api.reports[-1]["servers"] == []


def test_a_server_that_fails_to_start_is_in_error_and_not_started_again(h: Harness) -> None:
    h.host.fail("start", "QEMU refused to start server s1: no memory")
    h.api.want(server())
    h.settle()
    for _ in range(3):
        h.iterate()
    assert h.host.count("start") == 1
    s1 = h.api.last("s1")
    assert s1["state"] == "error"
    assert s1["error"] == "QEMU refused to start server s1: no memory"
    assert s1["power_seq"] == 1  # the request counts as handled


def test_a_new_power_request_recovers_a_server_in_error(h: Harness) -> None:
    h.host.fail("start", "QEMU refused to start server s1: no memory")
    h.api.want(server())
    h.settle()
    h.api.want(server(power_seq=2))
    h.settle()
    assert h.host.count("start") == 2
    assert h.api.last("s1")["state"] == "running"
    assert "error" not in h.api.last("s1")


def test_a_failed_snapshot_is_the_snapshots_fault_not_the_servers(h: Harness) -> None:
    h.api.want(server())
    h.settle()
    h.host.fail("snapshot", "qemu-img convert failed")
    snap = {"seq": 1, "image_id": "img-snap", "upload_url": "/internal/v1/images/x/file"}
    snap2 = {"seq": 2, "image_id": "img-snap2", "upload_url": "/internal/v1/images/y/file"}
    h.api.want(server(snapshots=[snap, snap2]))
    h.settle()
    s1 = h.api.last("s1")
    assert s1["state"] == "running"
    assert s1["snapshots_done"] == [1, 2]
    assert s1["snapshot_errors"] == {"1": "qemu-img convert failed"}
    assert h.api.uploads == ["/internal/v1/images/y/file"]


# -- (e) a change while a server is being acted on ------------------------------------------------

def test_a_new_wish_for_a_server_being_started_waits_for_the_start_to_end(h: Harness) -> None:
    h.api.want(server())
    starting = h.host.hold("starting")
    h.iterate()
    assert starting.reached.wait(5)
    h.api.want(server(power="stopped", power_seq=2))
    report = h.iterate()
    assert report is not None and report["revision_seen"] == h.api.revision
    assert h.api.last("s1")["busy"] is True
    assert h.host.count("stop") == 0
    starting.release()
    h.settle()
    assert h.host.count("start") == 1 and h.host.count("stop") == 1
    assert h.api.last("s1")["state"] == "stopped"
    assert h.api.last("s1")["power_seq"] == 2


def test_other_servers_are_acted_on_while_one_is_busy(h: Harness) -> None:
    h.api.want(server())
    starting = h.host.hold("starting")
    h.iterate()
    assert starting.reached.wait(5)
    h.api.want(server(), server("s2"))
    for _ in range(50):
        h.iterate()
        if h.host.count("start", "s2"):
            break
    assert h.host.vms["s2"].state == "running"
    starting.release()
    h.settle()
    assert h.api.last("s1")["state"] == "running"


# -- time -----------------------------------------------------------------------------------------

def test_a_server_whose_root_volume_never_comes_goes_to_error_after_the_wait(h: Harness) -> None:
    volume = {"volume_id": "v1", "backend": "file", "connection": {}, "serial": "v1",
              "read_only": False, "boot_index": 0}
    h.api.want(server(image=None, root_gb=0, volumes=[volume]))
    h.settle()
    assert h.api.last("s1")["state"] == "building"
    h.clock.advance(compute.ROOT_VOLUME_WAIT - 1)
    h.settle()
    assert h.api.last("s1")["state"] == "building"
    h.clock.advance(2)
    h.iterate()  # the wait is over: recorded as failed, reported from the next pass on
    h.iterate()
    s1 = h.api.last("s1")
    assert s1["state"] == "error"
    assert "Volume v1 did not finish being created" in s1["error"]
    assert h.host.count("start") == 0


def test_killed_is_not_an_exception_the_agent_could_swallow() -> None:
    assert not issubclass(Killed, Exception)


# -- upgrade --------------------------------------------------------------------------------------

def test_an_upgraded_agent_does_not_redo_what_the_old_one_recorded_in_the_drivers_record(
        h: Harness) -> None:
    h.api.want(server(reboot_seq=2, rebuild_seq=1))
    vm = h.host.vms["s1"] = Vm(state="running", pid=42, disk=True, nics=[])
    h.host.dir("s1").mkdir(parents=True)
    vm.record = qemu.Record(host_id=HOST_ID, image_id="img-1", intent="running", started=True)
    vm.document = {"host_id": HOST_ID, "power_seq": 1, "reboot_seq": 2, "rebuild_seq": 1,
                   "resize_seq": 0, "snapshots_done": [], "snapshot_errors": [], "error": None}
    h.settle()
    assert h.host.calls == []
    s1 = h.api.last("s1")
    assert (s1["state"], s1["power_seq"], s1["reboot_seq"], s1["rebuild_seq"]) == \
        ("running", 1, 2, 1)
