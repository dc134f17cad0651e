"""The reconciler's loop: when it steps, and that nothing it meets ends it (no server: its
steps are replaced by a scripted one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sausage.nameserver.powerdns import PowerDNS
from sausage.nameserver.published import Zone
from sausage.nameserver.reconciler import Reconciler, ZoneResult

ZONE = Zone("example.org.", 2, 3600, "hostmaster@example.org", "ns1.sausage.test.", (), ())


class Scripted(Reconciler):
    """A reconciler whose step answers what ``answer`` says, and counts its steps."""

    def __init__(self, answer: Callable[[list[Zone]], dict[str, ZoneResult]]) -> None:
        super().__init__(PowerDNS("unused-key"), "127.0.0.1", 5354)
        self.answer = answer
        self.steps: list[float] = []

    def step(self, desired: list[Zone]) -> dict[str, ZoneResult]:
        self.steps.append(time.monotonic())
        return self.answer(desired)


class Loop:
    def __init__(self, reconciler: Scripted, get: Callable[[], list[Zone]],
                 interval: float) -> None:
        self.reconciler = reconciler
        self.reports: list[dict[str, ZoneResult]] = []
        self.wake, self.stopping = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=reconciler.run, args=(
            get, self.reports.append, self.wake, self.stopping, interval), daemon=True)
        self.thread.start()

    def steps_after(self, count: int, timeout: float = 5) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.reconciler.steps) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=5)


@pytest.fixture
def loops() -> Iterator[list[Loop]]:
    started: list[Loop] = []
    yield started
    for loop in started:
        loop.stop()


def test_a_published_zone_is_stepped_at_once_then_only_when_woken(loops: list[Loop]) -> None:
    loop = Loop(Scripted(lambda d: {z.name: ZoneResult(z.serial) for z in d}), lambda: [ZONE],
                interval=60)
    loops.append(loop)
    assert loop.steps_after(1)
    time.sleep(0.3)
    assert len(loop.reconciler.steps) == 1
    loop.wake.set()
    assert loop.steps_after(2)
    assert loop.reports[-1] == {"example.org.": ZoneResult(2)}


def test_a_zone_not_yet_answering_its_serial_is_retried_before_the_interval(
        loops: list[Loop]) -> None:
    loop = Loop(Scripted(lambda d: {z.name: ZoneResult(z.serial - 1) for z in d}),
                lambda: [ZONE], interval=60)
    loops.append(loop)
    assert loop.steps_after(2, timeout=3), "no retry within the backoff"


def test_a_failure_to_read_the_desired_zones_does_not_end_the_loop(loops: list[Loop]) -> None:
    calls: list[int] = []

    def flaky() -> list[Zone]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        return [ZONE]

    loop = Loop(Scripted(lambda d: {z.name: ZoneResult(z.serial) for z in d}), flaky,
                interval=60)
    loops.append(loop)
    assert loop.steps_after(1, timeout=3)
    assert loop.reports == [{"example.org.": ZoneResult(2)}]
    assert loop.thread.is_alive()


def test_stopping_ends_the_loop_at_once(loops: list[Loop]) -> None:
    loop = Loop(Scripted(lambda d: {}), lambda: [], interval=60)
    assert loop.steps_after(1)
    started = time.monotonic()
    loop.stop()
    assert not loop.thread.is_alive()
    assert time.monotonic() - started < 1
