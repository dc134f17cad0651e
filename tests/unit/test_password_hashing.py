"""Argon2 hashing checks passwords and yields the CPU to everything else of its process."""

from __future__ import annotations

import os
import threading

from sausage.services.identity import passwords


def test_a_hash_verifies_its_secret_and_nothing_else() -> None:
    stored = passwords.hash_secret("s3cret")
    assert passwords.verify_secret(stored, "s3cret")
    assert not passwords.verify_secret(stored, "S3cret")
    assert not passwords.verify_secret(None, "s3cret")
    assert not passwords.verify_secret("not a hash", "s3cret")


def test_argon2_runs_in_threads_of_lower_cpu_priority_than_the_caller() -> None:
    def nice_of_this_thread() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    hashing = passwords._pool.submit(nice_of_this_thread).result()
    assert hashing == min(19, nice_of_this_thread() + passwords.NICE)
