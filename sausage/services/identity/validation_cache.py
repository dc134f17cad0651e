"""A per-process cache of validated tokens, good only while the identity generation stands.

``TokenProvider.validate`` (sausage/services/identity/tokens.py) always decrypts the token and
checks its expiry against the clock; only what follows — revocation events, the user, domains,
project, effective roles, application credential and catalog — is looked up here first. An entry
remembers the identity generation (sausage/db/generation.py) it was built under, and is used
only while the database still holds that same number: any committed write to an identity table,
by this process or another worker sharing the database, bumps the number and so retires every
entry at once. Failures are never cached. The entries hold ``Token`` values whose rows are
detached copies belonging to no session, so they never lazy-load and no request's session can
change them.
"""

from __future__ import annotations

import collections
import threading
from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from sausage.db import generation
from sausage.db.models.base import Base

__all__ = ["ValidationCache", "detached_copy", "MAX_ENTRIES"]

MAX_ENTRIES = 10_000
T = TypeVar("T")
Row = TypeVar("Row", bound=Base)


def detached_copy(row: Row) -> Row:
    """A new instance of ``row``'s class holding its column values, in no session."""
    mapper = inspect(type(row))
    return type(row)(**{a.key: getattr(row, a.key) for a in mapper.column_attrs})


class ValidationCache:
    """Least-recently-used map from (token id, with catalog?) to a validated value; thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[tuple[str, bool], tuple[int, object]] = (
            collections.OrderedDict())

    @staticmethod
    def generation(s: Session) -> int | None:
        return generation.current(s)

    def get(self, key: tuple[str, bool], current: int | None) -> object | None:
        if current is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] != current:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple[str, bool], current: int | None, value: object) -> None:
        if current is None:
            return
        with self._lock:
            self._entries[key] = (current, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
