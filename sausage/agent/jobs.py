"""The agent's keyed job runner and the shape every reconciler has.

``JobRunner``: a small thread pool that runs at most one job per key at a time (a server, a
volume, a snapshot) and calls ``on_done`` whenever a job ends, so the loop wakes at once rather
than at its next poll. The compute reconciler (``sausage.agent.compute``, keys: server ids, for
its actions and its hotplug jobs) and the volume reconciler (``sausage.agent.volumes``, keys:
volume and snapshot ids) each have one. A job's outcome is the job's own business (it records
it before it ends); an exception that escapes it is kept in its future, never raised here.

``Reconciler``: one section of the desired document, as the agent loop (``sausage.agent.loop``)
drives it each iteration: ``reconcile`` observes, plans and hands out jobs (never waiting for
one); ``report`` writes its section of the observed document; ``reported`` hears whether the API
took that document; ``busy`` says whether jobs of its are unfinished (the loop then polls
rather than long-polls); ``close`` waits for the jobs in flight.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from sausage.contract import host as contract

__all__ = ["JobRunner", "Reconciler"]


class Reconciler(Protocol):
    def reconcile(self, desired: contract.Desired) -> object: ...

    def report(self, observed: contract.Observed) -> None: ...

    def reported(self, accepted: bool) -> None: ...

    def busy(self) -> bool: ...

    def close(self) -> None: ...


class JobRunner:
    def __init__(self, workers: int, name: str,
                 on_done: Callable[[], None] | None = None) -> None:
        self.on_done = on_done
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._jobs: dict[str, concurrent.futures.Future[None]] = {}  # key → its job
        self._lock = threading.Lock()

    def submit(self, keys: Iterable[str], job: Callable[[], None]) -> None:
        """Run ``job`` on a worker, as the job of each of ``keys`` (the caller checks first that
        none of them has one in flight: ``running``)."""
        future = self._pool.submit(job)
        with self._lock:
            for key in keys:
                self._jobs[key] = future
        if self.on_done is not None:
            on_done = self.on_done
            future.add_done_callback(lambda _: on_done())

    def collect(self) -> frozenset[str]:
        """Forget the jobs that ended; the keys whose jobs are still running."""
        with self._lock:
            self._jobs = {k: f for k, f in self._jobs.items() if not f.done()}
            return frozenset(self._jobs)

    def keys(self) -> frozenset[str]:
        """The keys with a job not yet collected (running, or ended since ``collect``)."""
        with self._lock:
            return frozenset(self._jobs)

    def running(self) -> frozenset[str]:
        """The keys whose jobs run now."""
        with self._lock:
            return frozenset(k for k, f in self._jobs.items() if not f.done())

    def close(self) -> None:
        """Wait for the jobs that run (none is interrupted half-way); drop those not started."""
        self._pool.shutdown(wait=True, cancel_futures=True)
