"""The compute planner: (desired servers, what the host has) → actions, with plain data."""

from __future__ import annotations

import dataclasses
from typing import Any

from sausage.agent.plan import compute
from sausage.agent.plan.compute import (
    ClearError, CreateDisk, Destroy, EnsureBaseImage, Host, Instance, Kill, Pause, Reboot, Rebuild,
    RecordPower, RecordReboot, Resize, Resume, ResumeSuspended, Snapshot, Start, Stop, Suspend,
)
from sausage.contract import host as contract

SID = "8c1d7c2e-0a39-4a53-9d0e-4b1c5a0f6a11"
OTHER = "1f0e2d3c-4b5a-4697-8877-665544332211"
IMAGE: contract.ImageRef = {"id": "img-1", "disk_format": "qcow2", "checksum": None,
                            "size": None, "url": "/internal/v1/images/img-1/file"}
IMAGE_2: contract.ImageRef = {**IMAGE, "id": "img-2", "url": "/internal/v1/images/img-2/file"}


def server(**changes: Any) -> contract.DesiredServer:
    base: contract.DesiredServer = {
        "id": SID, "name": "vm", "hostname": "vm", "power": "running", "power_seq": 1,
        "vcpus": 2, "memory_mb": 512, "root_gb": 1, "image": IMAGE, "reboot_seq": 0,
        "reboot_kind": "soft", "rebuild_seq": 0, "resize_seq": 0, "snapshots": [],
    }
    base.update(changes)  # type: ignore[typeddict-item]
    return base


def instance(**changes: Any) -> Instance:
    fields: dict[str, Any] = {"id": SID, "state": "running", "image_id": "img-1", "power_seq": 1}
    fields.update(changes)
    return Instance(**fields)


def host(*instances: Instance, images: tuple[str, ...] = ("img-1",)) -> Host:
    return Host(instances, frozenset(images))


def start(d: contract.DesiredServer | None = None) -> Start:
    d = d or server()
    return Start(d["id"], d["name"], d["vcpus"], d["memory_mb"], d["image"])


def plan(desired: list[contract.DesiredServer], h: Host) -> list[compute.Action]:
    return compute.plan(desired, h)


# -- building and destroying ---------------------------------------------------------------------

def test_a_new_server_gets_its_image_a_disk_and_is_started() -> None:
    assert plan([server()], host(images=())) == [
        EnsureBaseImage(SID, IMAGE), CreateDisk(SID, IMAGE, 1, 0, 0, 0), start(),
        RecordPower(SID, 1),
    ]


def test_an_image_already_in_the_cache_is_not_fetched_again() -> None:
    assert plan([server()], host())[0] == CreateDisk(SID, IMAGE, 1, 0, 0, 0)


def test_a_kernel_image_is_fetched_when_its_kernel_is_not_cached() -> None:
    kernel: contract.ImageRef = {**IMAGE, "id": "k-1", "disk_format": "aki"}
    image: contract.ImageRef = {**IMAGE, "kernel": kernel}
    assert plan([server(image=image)], host())[0] == EnsureBaseImage(SID, image)
    assert not any(isinstance(a, EnsureBaseImage)
                   for a in plan([server(image=image)], host(images=("img-1", "k-1"))))


def test_a_new_server_records_the_counters_it_is_created_with() -> None:
    d = server(reboot_seq=3, rebuild_seq=2, resize_seq=1)
    actions = plan([d], host())
    assert actions[0] == CreateDisk(SID, IMAGE, 1, 3, 2, 1)
    assert not any(isinstance(a, (Reboot, Rebuild, Resize)) for a in actions)


def test_a_new_server_desired_stopped_gets_a_disk_but_no_process() -> None:
    assert plan([server(power="stopped")], host()) == [
        CreateDisk(SID, IMAGE, 1, 0, 0, 0), RecordPower(SID, 1)]


def test_a_new_server_desired_paused_is_started_then_paused() -> None:
    assert plan([server(power="paused")], host())[-3:] == [start(), Pause(SID),
                                                           RecordPower(SID, 1)]


def test_a_server_without_a_disk_but_with_a_process_is_killed_before_the_disk_is_made() -> None:
    actions = plan([server()], host(instance(has_disk=False, state="paused")))
    assert actions[:2] == [Kill(SID), CreateDisk(SID, IMAGE, 1, 0, 0, 0)]


def test_a_server_that_is_not_desired_is_destroyed() -> None:
    assert plan([], host(instance())) == [Destroy(SID)]


def test_destroys_come_before_the_work_on_desired_servers() -> None:
    actions = plan([server(id=OTHER)], host(instance()))
    assert actions[0] == Destroy(SID)
    assert all(a.server_id == OTHER for a in actions[1:])


def test_a_server_in_error_that_is_not_desired_is_still_destroyed() -> None:
    assert plan([], host(instance(error="boom"))) == [Destroy(SID)]


def test_the_whole_desired_document_is_accepted_as_well_as_its_server_list() -> None:
    doc: contract.Desired = {"version": 1, "host_id": "h", "revision": 7, "servers": [server()]}
    assert compute.plan(doc, host()) == compute.plan([server()], host())


def test_an_empty_host_with_nothing_desired_needs_nothing() -> None:
    assert plan([], host()) == []


# -- power -----------------------------------------------------------------------------------------

def test_a_server_in_its_desired_state_needs_nothing() -> None:
    assert plan([server()], host(instance())) == []


def test_a_stop_request_powers_the_guest_off_gracefully() -> None:
    d = server(power="stopped", power_seq=2)
    assert plan([d], host(instance())) == [Stop(SID, graceful=True), RecordPower(SID, 2)]


def test_a_start_request_starts_a_stopped_server() -> None:
    d = server(power_seq=2)
    assert plan([d], host(instance(state="stopped"))) == [start(d), RecordPower(SID, 2)]


def test_a_server_that_stopped_by_itself_stays_stopped_until_the_next_power_request() -> None:
    assert plan([server()], host(instance(state="stopped"))) == []


def test_a_power_request_for_the_state_it_is_already_in_is_only_recorded() -> None:
    assert plan([server(power_seq=5)], host(instance())) == [RecordPower(SID, 5)]


def test_pause_and_unpause() -> None:
    assert plan([server(power="paused", power_seq=2)], host(instance())) == [
        Pause(SID), RecordPower(SID, 2)]
    assert plan([server(power_seq=2)], host(instance(state="paused"))) == [
        Resume(SID), RecordPower(SID, 2)]


def test_suspend_and_resume() -> None:
    assert plan([server(power="suspended", power_seq=2)], host(instance())) == [
        Suspend(SID), RecordPower(SID, 2)]
    assert plan([server(power_seq=2)], host(instance(state="suspended"))) == [
        ResumeSuspended(SID), RecordPower(SID, 2)]


def test_a_paused_server_is_suspended_without_running_it_first() -> None:
    assert plan([server(power="suspended", power_seq=2)], host(instance(state="paused"))) == [
        Suspend(SID), RecordPower(SID, 2)]


def test_stopping_a_paused_or_suspended_server_kills_it_as_it_cannot_shut_down() -> None:
    for state in ("paused", "suspended"):
        assert plan([server(power="stopped", power_seq=2)], host(instance(state=state))) == [
            Kill(SID), RecordPower(SID, 2)]


def test_a_start_fetches_a_kernel_that_left_the_cache() -> None:
    kernel: contract.ImageRef = {**IMAGE, "id": "k-1", "disk_format": "aki"}
    image: contract.ImageRef = {**IMAGE, "kernel": kernel}
    d = server(image=image, power_seq=2)
    actions = plan([d], host(instance(state="stopped")))
    assert actions == [EnsureBaseImage(SID, image), start(d), RecordPower(SID, 2)]


# -- reboot ----------------------------------------------------------------------------------------

def test_a_soft_reboot_is_done_once_when_its_counter_moves_on() -> None:
    d = server(reboot_seq=1)
    assert plan([d], host(instance())) == [Reboot(SID, "soft", 1, start(d))]
    assert plan([d], host(instance(reboot_seq=1))) == []


def test_a_hard_reboot_keeps_its_kind() -> None:
    d = server(reboot_seq=4, reboot_kind="hard")
    assert plan([d], host(instance(reboot_seq=3))) == [Reboot(SID, "hard", 4, start(d))]


def test_a_paused_server_is_rebooted_hard_and_stays_running() -> None:
    d = server(power="paused", reboot_seq=1)
    assert plan([d], host(instance(state="paused"))) == [Reboot(SID, "hard", 1, start(d))]


def test_a_reboot_of_a_stopped_server_is_only_recorded() -> None:
    d = server(reboot_seq=1)
    assert plan([d], host(instance(state="stopped"))) == [RecordReboot(SID, 1)]


def test_a_reboot_that_comes_with_a_start_request_starts_the_server() -> None:
    d = server(reboot_seq=1, reboot_kind="hard", power_seq=2)
    assert plan([d], host(instance(state="stopped"))) == [
        RecordReboot(SID, 1), start(d), RecordPower(SID, 2)]


# -- rebuild and resize ---------------------------------------------------------------------------

def test_a_running_server_is_stopped_rebuilt_and_started_again() -> None:
    d = server(rebuild_seq=1, image=IMAGE_2)
    assert plan([d], host(instance())) == [
        Stop(SID), EnsureBaseImage(SID, IMAGE_2), Rebuild(SID, IMAGE_2, 1, 1), start(d)]


def test_a_stopped_server_stays_stopped_after_a_rebuild() -> None:
    d = server(rebuild_seq=1)
    assert plan([d], host(instance(state="stopped"))) == [Rebuild(SID, IMAGE, 1, 1)]


def test_a_paused_server_is_paused_again_after_a_rebuild() -> None:
    d = server(rebuild_seq=1, power="paused")
    assert plan([d], host(instance(state="paused"))) == [
        Kill(SID), Rebuild(SID, IMAGE, 1, 1), start(d), Pause(SID)]


def test_a_resize_stops_grows_the_disk_and_starts_with_the_new_flavor() -> None:
    d = server(resize_seq=1, vcpus=4, memory_mb=2048, root_gb=10)
    assert plan([d], host(instance())) == [Stop(SID), Resize(SID, 10, 1), start(d)]


def test_a_resize_of_a_stopped_server_does_not_start_it() -> None:
    d = server(resize_seq=1, root_gb=10)
    assert plan([d], host(instance(state="stopped"))) == [Resize(SID, 10, 1)]


def test_a_reboot_due_with_a_rebuild_is_only_recorded_as_the_rebuild_restarts() -> None:
    d = server(rebuild_seq=1, reboot_seq=1)
    assert plan([d], host(instance())) == [
        Stop(SID), Rebuild(SID, IMAGE, 1, 1), RecordReboot(SID, 1), start(d)]


def test_rebuild_and_resize_together_stop_the_server_once() -> None:
    d = server(rebuild_seq=1, resize_seq=1)
    assert plan([d], host(instance())) == [
        Stop(SID), Rebuild(SID, IMAGE, 1, 1), Resize(SID, 1, 1), start(d)]


# -- snapshots -------------------------------------------------------------------------------------

def snap(seq: int) -> contract.Snapshot:
    return {"seq": seq, "image_id": f"snap-{seq}", "upload_url": f"/internal/v1/u/{seq}"}


def test_pending_snapshots_are_taken_in_order_and_done_ones_are_skipped() -> None:
    d = server(snapshots=[snap(3), snap(1), snap(2)])
    assert plan([d], host(instance(snapshots_done=frozenset({1})))) == [
        Snapshot(SID, 2, "snap-2", "/internal/v1/u/2"),
        Snapshot(SID, 3, "snap-3", "/internal/v1/u/3")]


def test_a_snapshot_is_taken_before_a_rebuild_replaces_the_disk() -> None:
    d = server(snapshots=[snap(1)], rebuild_seq=1)
    actions = plan([d], host(instance()))
    assert actions[0] == Snapshot(SID, 1, "snap-1", "/internal/v1/u/1")
    assert isinstance(actions[2], Rebuild)


def test_a_snapshot_of_a_paused_server_leaves_it_paused() -> None:
    d = server(power="paused", snapshots=[snap(1)])
    assert plan([d], host(instance(state="paused"))) == [
        Snapshot(SID, 1, "snap-1", "/internal/v1/u/1")]


# -- errors ----------------------------------------------------------------------------------------

def test_a_server_in_error_is_left_alone() -> None:
    assert plan([server()], host(instance(state="stopped", error="QEMU refused"))) == []


def test_a_server_in_error_still_gets_its_snapshots_attempted() -> None:
    d = server(snapshots=[snap(1)])
    assert plan([d], host(instance(error="boom"))) == [
        Snapshot(SID, 1, "snap-1", "/internal/v1/u/1")]


def test_a_hard_reboot_recovers_a_server_in_error() -> None:
    d = server(reboot_seq=1, reboot_kind="hard")
    assert plan([d], host(instance(error="boom"))) == [
        ClearError(SID), Reboot(SID, "hard", 1, start(d))]


def test_a_stop_request_recovers_a_server_in_error() -> None:
    d = server(power="stopped", power_seq=2)
    assert plan([d], host(instance(error="boom"))) == [
        ClearError(SID), Stop(SID), RecordPower(SID, 2)]


def test_a_server_whose_build_failed_is_built_again_by_a_rebuild() -> None:
    d = server(rebuild_seq=1)
    actions = plan([d], host(instance(state="stopped", has_disk=False, error="no image")))
    assert actions == [ClearError(SID), CreateDisk(SID, IMAGE, 1, 0, 1, 0), start(d),
                       RecordPower(SID, 1)]


def test_one_server_in_error_does_not_hold_up_another() -> None:
    other = server(id=OTHER)
    actions = plan([server(), other], host(instance(state="stopped", error="boom")))
    assert [a.server_id for a in actions] == [OTHER, OTHER, OTHER]


def test_actions_are_immutable_records() -> None:
    stop = Stop(SID)
    assert dataclasses.is_dataclass(stop)
    try:
        stop.graceful = False  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        return
    raise AssertionError("actions must be frozen")


def test_a_failed_build_consumes_the_requests_it_carried_so_it_is_not_retried() -> None:
    d = server(reboot_seq=2, rebuild_seq=3, resize_seq=4, power_seq=5)
    actions = plan([d], host(images=()))
    assert compute.consumed(actions) == {"reboot_seq": 2, "rebuild_seq": 3, "resize_seq": 4,
                                         "power_seq": 5}
    failed = instance(state="stopped", has_disk=False, error="bad checksum", reboot_seq=2,
                      rebuild_seq=3, resize_seq=4, power_seq=5)
    assert plan([d], host(failed)) == []


def test_a_failed_reboot_consumes_the_reboot_but_not_a_snapshot() -> None:
    d = server(reboot_seq=1, snapshots=[snap(1)])
    actions = plan([d], host(instance()))
    assert compute.consumed(actions) == {"reboot_seq": 1}
    assert compute.consumed([Stop(SID), Kill(SID), start()]) == {}


# -- boot from volume ------------------------------------------------------------------------------

ROOT = "0b5e1c7a-3f0e-4b8e-9a57-2b1f3c4d5e6f"
DATA = "7d2a9e41-6c3b-4f0a-8e15-9a8b7c6d5e4f"


def volume(volume_id: str, boot_index: int | None = None) -> contract.ServerVolume:
    return {"volume_id": volume_id, "backend": "file", "connection": {},
            "serial": volume_id[:20], "read_only": False, "boot_index": boot_index}


def from_volume(**changes: Any) -> contract.DesiredServer:
    fields: dict[str, Any] = {"image": None, "root_gb": 0,
                              "volumes": [volume(ROOT, 0), volume(DATA)]}
    return server(**{**fields, **changes})


def built_on_volume(**changes: Any) -> Instance:
    return instance(image_id=None, **changes)


def on_host(*instances: Instance, volumes: tuple[str, ...] = (ROOT, DATA)) -> Host:
    return Host(instances, frozenset(), frozenset(volumes))


def test_a_server_booted_from_a_volume_waits_for_its_root_volume_without_error() -> None:
    assert plan([from_volume()], on_host(volumes=(DATA,))) == []
    assert plan([from_volume(volumes=[])], on_host()) == []
    assert compute.waiting_for_volume(from_volume(), None, frozenset())
    assert not compute.waiting_for_volume(server(), None, frozenset())


def test_once_its_root_volume_is_there_it_is_built_on_it_and_started_without_any_image() -> None:
    d = from_volume(reboot_seq=2)
    assert plan([d], on_host()) == [
        compute.CreateFromVolume(SID, ROOT, 2, 0, 0), start(d), RecordPower(SID, 1)]


def test_the_root_volume_is_the_boot_index_0_one_wherever_it_is_listed() -> None:
    d = from_volume(volumes=[volume(DATA), volume(ROOT, 0)])
    assert compute.root_volume(d) == ROOT
    assert plan([d], on_host())[0] == compute.CreateFromVolume(SID, ROOT, 0, 0, 0)
    assert compute.root_volume(server()) is None


def test_a_built_server_on_a_volume_is_never_given_an_image_or_a_disk() -> None:
    d = from_volume(power="stopped", power_seq=2)
    assert plan([d], on_host(built_on_volume())) == [Stop(SID), RecordPower(SID, 2)]
    d = from_volume(power_seq=2)
    assert plan([d], on_host(built_on_volume(state="stopped"))) == [start(d), RecordPower(SID, 2)]
    # Once built, a start does not wait on the volume list either: a missing volume is the
    # start's error to report.
    assert plan([d], on_host(built_on_volume(state="stopped"), volumes=())) == [
        start(d), RecordPower(SID, 2)]


def test_a_rebuild_or_resize_of_a_server_on_a_volume_only_restarts_it() -> None:
    d = from_volume(rebuild_seq=1, resize_seq=1)
    assert plan([d], on_host(built_on_volume())) == [
        Stop(SID), compute.RecordRebuild(SID, 1), compute.RecordResize(SID, 1), start(d)]
    actions = plan([from_volume(rebuild_seq=1)], on_host(built_on_volume()))
    assert not any(isinstance(a, (EnsureBaseImage, CreateDisk, Rebuild, Resize)) for a in actions)


def test_a_failed_build_on_a_volume_consumes_its_counters() -> None:
    actions = plan([from_volume(reboot_seq=1, rebuild_seq=2, resize_seq=3)], on_host())
    assert compute.consumed(actions) == {"reboot_seq": 1, "rebuild_seq": 2, "resize_seq": 3,
                                         "power_seq": 1}
    assert compute.consumed([compute.RecordRebuild(SID, 4), compute.RecordResize(SID, 5)]) == {
        "rebuild_seq": 4, "resize_seq": 5}


def test_a_server_on_a_volume_in_error_is_left_alone_until_something_recovers_it() -> None:
    assert plan([from_volume()], on_host(built_on_volume(error="boom"))) == []
    d = from_volume(reboot_seq=1, reboot_kind="hard")
    assert plan([d], on_host(built_on_volume(error="boom", state="stopped"))) == [
        ClearError(SID), RecordReboot(SID, 1)]
