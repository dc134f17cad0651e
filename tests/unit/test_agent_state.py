"""The agent's own record of what it applied to each server, and taking it over from the QEMU
driver's record.json of an older agent."""

from __future__ import annotations

import json
import pathlib

from sausage.agent import state
from sausage.agent.drivers import qemu

OLD_RECORD = {"host_id": "h1", "image_id": "img-1", "root_gb": 1, "root_volume": None,
              "power_seq": 3, "reboot_seq": 2, "rebuild_seq": 1, "resize_seq": 0,
              "snapshots_done": [1], "snapshot_errors": [[1, "upload failed"]], "intent": "running",
              "started": True, "error": None, "vcpus": 1, "memory_mb": 256, "log_offset": 0}


def old_host(tmp_path: pathlib.Path) -> qemu.QemuDriver:
    driver = qemu.QemuDriver(tmp_path)
    driver.dir("s1").mkdir(parents=True)
    (driver.dir("s1") / "record.json").write_text(json.dumps(OLD_RECORD))
    return driver


def test_an_upgraded_agent_takes_the_applied_counters_from_the_drivers_old_record(
        tmp_path: pathlib.Path) -> None:
    driver = old_host(tmp_path)
    store = state.Store(tmp_path / "servers", driver.document)
    assert store.get("s1") == state.Applied(power_seq=3, reboot_seq=2, rebuild_seq=1,
                                            snapshots_done=(1,),
                                            snapshot_errors=((1, "upload failed"),))
    # The driver's next write drops the old fields; the store kept them.
    driver.update("s1", intent="stopped")
    assert "power_seq" not in json.loads((driver.dir("s1") / "record.json").read_text())
    assert driver.record("s1").host_id == "h1" and driver.record("s1").image_id == "img-1"
    assert store.get("s1").reboot_seq == 2
    assert state.Store(tmp_path / "servers").get("s1").reboot_seq == 2


def test_the_stores_own_record_wins_over_the_old_one(tmp_path: pathlib.Path) -> None:
    driver = old_host(tmp_path)
    store = state.Store(tmp_path / "servers", driver.document)
    store.update("s1", reboot_seq=5, error="boom")
    assert store.get("s1").reboot_seq == 5 and store.get("s1").error == "boom"
    assert store.get("s1").power_seq == 3


def test_a_new_server_starts_from_nothing_and_writes_nothing_until_updated(
        tmp_path: pathlib.Path) -> None:
    store = state.Store(tmp_path / "servers")
    assert store.get("s1") == state.Applied()
    assert not (tmp_path / "servers").exists()
    store.update("s1", power_seq=1)
    assert json.loads(store.path("s1").read_text())["power_seq"] == 1
    assert [p.name for p in (tmp_path / "servers").iterdir()] == ["s1.json"]  # no temp left
    store.remove("s1")
    assert store.get("s1") == state.Applied()


def test_only_the_last_snapshots_are_kept(tmp_path: pathlib.Path) -> None:
    store = state.Store(tmp_path / "servers")
    for seq in range(1, state.KEEP_SNAPSHOT_SEQS + 3):
        store.snapshot_done("s1", seq, "failed" if seq % 2 else None)
    applied = store.get("s1")
    assert applied.snapshots_done == tuple(range(3, state.KEEP_SNAPSHOT_SEQS + 3))
    assert applied.snapshot_errors[-1] == (state.KEEP_SNAPSHOT_SEQS + 1, "failed")


def test_an_unreadable_record_starts_afresh(tmp_path: pathlib.Path) -> None:
    store = state.Store(tmp_path / "servers")
    store.path("s1").parent.mkdir()
    store.path("s1").write_text("{not json")
    assert store.get("s1") == state.Applied()
