"""Password and secret hashing with Argon2id (OWASP's minimum parameters: 19 MiB, t=2, p=1).

The Argon2 computation itself (tens of ms of CPU, without the GIL) runs in threads of lower CPU
priority, so that when the cores are busy, every other request of the process (token
validations first) is scheduled before it; a login then waits, nothing else does. Callers
(identity's tokens, users and application credentials) see plain blocking functions.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading

import argon2

__all__ = ["hash_secret", "verify_secret"]

_hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

# How much nicer (Linux nice) the hashing threads are than the rest of their process.
NICE = 10


def _lower_priority() -> None:
    me = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + NICE))
    except OSError:
        pass  # not allowed here: hash at the normal priority


_pool = concurrent.futures.ThreadPoolExecutor(
    max_workers=os.cpu_count() or 1, thread_name_prefix="argon2", initializer=_lower_priority)


def hash_secret(secret: str) -> str:
    return str(_pool.submit(_hasher.hash, secret).result())


def _verify(stored: str, secret: str) -> bool:
    try:
        return bool(_hasher.verify(stored, secret))
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def verify_secret(stored: str | None, secret: str) -> bool:
    """True when ``secret`` matches ``stored``; False for a mismatch or no stored hash."""
    if not stored:
        return False
    return _pool.submit(_verify, stored, secret).result()
