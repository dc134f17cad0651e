"""The hotplug planner: what a running server's devices lack → a NIC or volume hotplug job."""

from __future__ import annotations

from sausage.agent.plan.hotplug import Devices, Due, due

NOW = 1000.0
TAPS = ("tap-a", "tap-b")


def test_nothing_is_due_when_qemu_has_the_desired_nics_and_volumes() -> None:
    devices = Devices("running", plugged=TAPS, attached=("v1",))
    assert due(TAPS, ["v1"], devices, NOW) == Due()
    assert not due(TAPS, ["v1"], devices, NOW)


def test_a_new_or_removed_nic_is_due() -> None:
    assert due(TAPS, [], Devices("running", plugged=("tap-a",)), NOW) == Due(nics=True)
    assert due(("tap-a",), [], Devices("running", plugged=TAPS), NOW) == Due(nics=True)


def test_nics_in_another_order_are_due() -> None:
    assert due(TAPS, [], Devices("running", plugged=TAPS[::-1]), NOW).nics


def test_nics_not_known_since_the_agent_started_are_asked_of_qemu() -> None:
    assert due((), [], Devices("running", plugged=None), NOW) == Due(nics=True)


def test_a_failed_nic_hotplug_waits_for_its_retry_time() -> None:
    devices = Devices("running", plugged=(), nic_retry_at=NOW + 1)
    assert not due(TAPS, [], devices, NOW).nics
    assert due(TAPS, [], devices, NOW + 1).nics


def test_a_volume_to_attach_or_detach_is_due_for_a_running_guest() -> None:
    assert due((), ["v1", "v2"], Devices("running", plugged=(), attached=("v1",)), NOW) == \
        Due(volumes=True)
    assert due((), [], Devices("running", plugged=(), attached=("v1",)), NOW).volumes


def test_only_a_running_guest_gets_its_volumes_synced() -> None:
    # A paused guest cannot release a disk (ACPI); it is synced once it runs again.
    assert not due((), [], Devices("paused", plugged=(), attached=("v1",)), NOW).volumes
    # QEMU did not say which volumes it has: nothing is decided on a guess.
    assert not due((), ["v1"], Devices("running", plugged=(), attached=None), NOW).volumes


def test_volumes_in_another_order_are_not_a_change() -> None:
    assert not due((), ["v2", "v1"], Devices("running", plugged=(), attached=("v1", "v2")),
                   NOW).volumes


def test_a_failed_volume_hotplug_waits_for_its_retry_time() -> None:
    devices = Devices("running", plugged=(), attached=(), volume_retry_at=NOW + 60)
    assert not due((), ["v1"], devices, NOW).volumes
    assert due((), ["v1"], devices, NOW + 60).volumes
