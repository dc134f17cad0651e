"""Waiting for an exclusive ``flock`` with a deadline: how the drivers keep two agents (or two
threads' downloads) from acting on the same instance or cached image at once."""

from __future__ import annotations

import fcntl
import time

__all__ = ["acquire"]


def acquire(fd: int, timeout: float, poll: float = 0.1) -> bool:
    """Take an exclusive lock on ``fd``; False if it is still held elsewhere after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(poll)
