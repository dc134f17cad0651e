"""The agent's keyed job runner: jobs per key, and the loop woken when one ends."""

from __future__ import annotations

import threading

from sausage.agent.jobs import JobRunner


def test_a_job_is_known_by_its_keys_until_collected_after_it_ended() -> None:
    woken = threading.Event()
    runner = JobRunner(2, "test", woken.set)
    go = threading.Event()
    runner.submit(("vol-1", "snap-1"), lambda: go.wait(5) and None)
    assert runner.running() == {"vol-1", "snap-1"}
    assert runner.collect() == {"vol-1", "snap-1"}
    go.set()
    assert woken.wait(5)
    runner.close()
    assert runner.running() == frozenset()
    assert runner.keys() == {"vol-1", "snap-1"}  # ended, not yet seen by a pass
    assert runner.collect() == frozenset() and runner.keys() == frozenset()


def test_a_job_that_raises_still_wakes_the_loop_and_ends() -> None:
    woken = threading.Event()
    runner = JobRunner(1, "test", woken.set)

    def boom() -> None:
        raise RuntimeError("boom")

    runner.submit(("s1",), boom)
    assert woken.wait(5)
    runner.close()
    assert runner.collect() == frozenset()
