"""Password and secret hashing with Argon2id (OWASP's minimum parameters: 19 MiB, t=2, p=1)."""

from __future__ import annotations

import argon2

__all__ = ["hash_secret", "verify_secret"]

_hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_secret(secret: str) -> str:
    return str(_hasher.hash(secret))


def verify_secret(stored: str | None, secret: str) -> bool:
    """True when ``secret`` matches ``stored``; False for a mismatch or no stored hash."""
    if not stored:
        return False
    try:
        return bool(_hasher.verify(stored, secret))
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False
