"""The volume planner: desired volumes + what the backend holds → actions (no I/O)."""

from __future__ import annotations

from typing import Any

from sausage.agent.plan import volume as plan
from sausage.agent.plan.volume import (Create, Delete, DeleteSnapshot, Extend, Fail,
                                       Observation, Snapshot, Upload)
from sausage.contract import host as contract

GiB = plan.GiB
IMAGE: contract.ImageRef = {"id": "img-1", "disk_format": "qcow2", "checksum": None,
                            "size": None, "url": "/internal/v1/images/img-1/file"}


def vol(volume_id: str, size_gb: int = 1, source: contract.VolumeSource | None = None,
        snapshots: list[str] | None = None,
        uploads: list[contract.VolumeUpload] | None = None) -> contract.DesiredVolume:
    return {"id": volume_id, "backend": "file", "size_gb": size_gb,
            "source": source or {"type": "blank"}, "snapshots": snapshots or [],
            "uploads": uploads or []}


def upload(seq: int, fmt: Any = "qcow2") -> contract.VolumeUpload:
    return {"seq": seq, "image_id": f"img-{seq}", "disk_format": fmt,
            "upload_url": f"/internal/v1/images/img-{seq}/file"}


def test_a_new_blank_volume_is_created_at_its_size() -> None:
    assert plan.plan([vol("a", 2)], Observation()) == [Create("a", {"type": "blank"}, 2 * GiB)]


def test_a_volume_from_an_image_is_created_from_it() -> None:
    source: contract.VolumeSource = {"type": "image", "image": IMAGE}
    assert plan.plan([vol("a", 1, source)], Observation()) == [Create("a", source, GiB)]


def test_a_volume_that_exists_at_its_size_needs_nothing() -> None:
    assert plan.plan([vol("a", 1)], Observation(volumes={"a": GiB})) == []


def test_a_volume_cloned_from_another_waits_until_its_source_exists() -> None:
    clone = vol("b", 1, {"type": "volume", "id": "a"})
    assert plan.plan([vol("a"), clone], Observation()) == [Create("a", {"type": "blank"}, GiB)]
    assert plan.plan([vol("a"), clone], Observation(volumes={"a": GiB})) == [
        Create("b", {"type": "volume", "id": "a"}, GiB)]


def test_a_clone_waits_while_its_source_is_busy_with_another_job() -> None:
    clone = vol("b", 1, {"type": "volume", "id": "a"})
    seen = Observation(volumes={"a": GiB}, busy=frozenset({"a"}))
    assert plan.plan([vol("a"), clone], seen) == []


def test_a_source_read_by_a_clone_is_not_extended_in_the_same_pass() -> None:
    clone = vol("b", 1, {"type": "volume", "id": "a"})
    actions = plan.plan([vol("a", 2), clone], Observation(volumes={"a": GiB}))
    assert actions == [Create("b", {"type": "volume", "id": "a"}, GiB)]


def test_a_volume_from_a_snapshot_waits_until_the_snapshot_is_taken() -> None:
    wanted = [vol("a", snapshots=["s"]), vol("b", 1, {"type": "snapshot", "id": "s"})]
    assert plan.plan(wanted, Observation(volumes={"a": GiB})) == [Snapshot("a", "s")]
    assert plan.plan(wanted, Observation(volumes={"a": GiB}, snapshots=frozenset({"s"}))) == [
        Create("b", {"type": "snapshot", "id": "s"}, GiB)]


def test_a_copy_of_a_source_that_is_not_on_this_host_fails() -> None:
    assert plan.plan([vol("b", 1, {"type": "volume", "id": "elsewhere"})], Observation()) == [
        Fail("b", "The source volume elsewhere is not on this host.")]
    assert plan.plan([vol("b", 1, {"type": "snapshot", "id": "gone"})], Observation()) == [
        Fail("b", "The source snapshot gone is not on this host.")]


def test_a_copy_of_a_source_whose_creation_failed_fails_too() -> None:
    seen = Observation(failed_creates=frozenset({"a"}))
    assert plan.plan([vol("a"), vol("b", 1, {"type": "volume", "id": "a"})], seen) == [
        Fail("b", "The source volume a is not on this host.")]


def test_a_failed_creation_is_not_retried_while_still_listed() -> None:
    assert plan.plan([vol("a")], Observation(failed_creates=frozenset({"a"}))) == []


def test_a_volume_being_created_is_left_to_its_job() -> None:
    seen = Observation(incomplete=frozenset({"a"}), busy=frozenset({"a"}))
    assert plan.plan([vol("a")], seen) == []


def test_a_half_made_volume_nobody_works_on_is_made_again() -> None:
    seen = Observation(incomplete=frozenset({"a"}))
    assert plan.plan([vol("a")], seen) == [Create("a", {"type": "blank"}, GiB)]


def test_a_half_made_volume_that_is_no_longer_wanted_is_removed() -> None:
    assert plan.plan([], Observation(incomplete=frozenset({"a"}))) == [Delete("a")]


def test_a_smaller_volume_is_extended_and_a_larger_one_never_shrunk() -> None:
    assert plan.plan([vol("a", 3)], Observation(volumes={"a": GiB})) == [Extend("a", 3 * GiB)]
    assert plan.plan([vol("a", 1)], Observation(volumes={"a": 3 * GiB})) == []


def test_a_failed_extend_is_not_retried_for_the_same_size_but_is_for_another() -> None:
    seen = Observation(volumes={"a": GiB}, failed_extends={"a": 3 * GiB})
    assert plan.plan([vol("a", 3)], seen) == []
    assert plan.plan([vol("a", 4)], seen) == [Extend("a", 4 * GiB)]


def test_each_listed_snapshot_is_taken_once_one_job_per_volume_at_a_time() -> None:
    wanted = [vol("a", snapshots=["s1", "s2"])]
    assert plan.plan(wanted, Observation(volumes={"a": GiB})) == [Snapshot("a", "s1")]
    seen = Observation(volumes={"a": GiB}, snapshots=frozenset({"s1"}))
    assert plan.plan(wanted, seen) == [Snapshot("a", "s2")]
    seen = Observation(volumes={"a": GiB}, snapshots=frozenset({"s1", "s2"}))
    assert plan.plan(wanted, seen) == []


def test_a_snapshot_that_failed_is_not_taken_again() -> None:
    seen = Observation(volumes={"a": GiB}, failed_snapshots=frozenset({"s"}))
    assert plan.plan([vol("a", snapshots=["s"])], seen) == []


def test_an_upload_runs_once_per_seq() -> None:
    wanted = [vol("a", uploads=[upload(1, "raw"), upload(2)])]
    assert plan.plan(wanted, Observation(volumes={"a": GiB})) == [
        Upload("a", 1, "img-1", "raw", "/internal/v1/images/img-1/file")]
    seen = Observation(volumes={"a": GiB}, uploads_done={"a": frozenset({1})})
    assert plan.plan(wanted, seen) == [
        Upload("a", 2, "img-2", "qcow2", "/internal/v1/images/img-2/file")]
    seen = Observation(volumes={"a": GiB}, uploads_done={"a": frozenset({1, 2})})
    assert plan.plan(wanted, seen) == []


def test_uploads_wait_until_the_volume_exists() -> None:
    assert plan.plan([vol("a", uploads=[upload(1)])], Observation()) == [
        Create("a", {"type": "blank"}, GiB)]


def test_volumes_and_snapshots_not_listed_are_deleted() -> None:
    seen = Observation(volumes={"a": GiB, "old": GiB}, snapshots=frozenset({"s", "s-old"}))
    assert plan.plan([vol("a", snapshots=["s"])], seen) == [DeleteSnapshot("s-old"),
                                                            Delete("old")]


def test_a_volume_not_listed_waits_for_its_running_job_before_it_is_deleted() -> None:
    seen = Observation(volumes={"old": GiB}, busy=frozenset({"old"}))
    assert plan.plan([], seen) == []


def test_a_source_still_to_be_copied_is_kept_until_its_copy_is_made() -> None:
    clone = vol("b", 1, {"type": "snapshot", "id": "s"})
    seen = Observation(volumes={"a": GiB}, snapshots=frozenset({"s"}))
    # the snapshot is no longer listed (being deleted) but "b" still reads from it
    assert plan.plan([vol("a"), clone], seen) == [Create("b", {"type": "snapshot", "id": "s"},
                                                         GiB)]
    seen = Observation(volumes={"a": GiB, "b": GiB}, snapshots=frozenset({"s"}))
    assert plan.plan([vol("a"), clone], seen) == [DeleteSnapshot("s")]


def test_different_volumes_are_worked_on_in_the_same_pass() -> None:
    seen = Observation(volumes={"a": GiB})
    actions = plan.plan([vol("a", 2), vol("b"), vol("c")], seen)
    assert actions == [Create("b", {"type": "blank"}, GiB), Create("c", {"type": "blank"}, GiB),
                       Extend("a", 2 * GiB)]
