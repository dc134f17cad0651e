"""The password-hashing lane of one API worker: requests that hash a password (a login, a new
password, an application credential) run here instead of in the shared request thread pool.

Argon2 is made to be slow (tens of ms of CPU each), so a burst of logins in the shared pool would
hold every thread and database connection while token validations and every other call wait
behind them. Here at most ``slots`` such requests run at once, in their own threads; more wait
for a slot, at most ``backlog`` of them and only while the expected wait (from a running mean
of how long one takes) stays under ``MAX_WAIT_SECONDS``; anything beyond that is refused at once
with ``ServiceUnavailable`` (503 + Retry-After) instead of queueing without bound. ``wire``
calls ``run``; ``app.build`` makes one lane per app.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import time
from collections.abc import Callable
from typing import TypeVar

from sausage import errors

__all__ = ["Lane"]

T = TypeVar("T")

# A login that would wait longer than this for a hashing slot is told to come back instead.
MAX_WAIT_SECONDS = 1.0


class Lane:
    def __init__(self, slots: int, backlog: int, max_wait: float = MAX_WAIT_SECONDS) -> None:
        self.slots = slots
        self.backlog = backlog
        self.max_wait = max_wait
        self._pool = concurrent.futures.ThreadPoolExecutor(slots, thread_name_prefix="hashing")
        self._admitted = 0  # running + waiting; only touched on the event loop's thread
        self._seconds = 0.05  # a running mean of one request's time: the expected waits

    @property
    def admitted(self) -> int:
        return self._admitted

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a hashing thread once a slot is free.

        Raises ServiceUnavailable without running it when ``slots + backlog`` requests are
        already admitted, or when it would wait longer than ``max_wait`` for a slot; whatever
        ``work`` raises otherwise.
        """
        # The queue drains at ``slots`` per mean time: a newcomer waits for those ahead of it.
        wait = self._seconds * (self._admitted - self.slots + 1) / self.slots
        if self._admitted >= self.slots + self.backlog or (
                self._admitted >= self.slots and wait > self.max_wait):
            raise errors.ServiceUnavailable(
                "The server is busy checking passwords; retry shortly.",
                retry_after=max(1, math.ceil(wait / 2)))
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, self._timed, work)
        finally:
            self._admitted -= 1

    def _timed(self, work: Callable[[], T]) -> T:
        started = time.monotonic()
        try:
            return work()
        finally:
            self._seconds = 0.9 * self._seconds + 0.1 * (time.monotonic() - started)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
