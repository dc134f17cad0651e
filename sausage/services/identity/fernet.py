"""Rotating Fernet keys kept in the state dir, as Keystone's key repository does it.

Files are named by integer: ``0`` is the staged key (the next primary), the highest number is the
primary that signs new tokens, and every key in between still validates. Rotation promotes the
staged key, stages a new one and drops the oldest beyond ``max_active``, so a token outlives one
rotation and a restart never invalidates it.

Several API workers share the repository: rotation takes an exclusive lock on ``.lock`` so only
one process rotates, files change by atomic renames, and readers take no lock (``version`` tells
them when to reload). Because the staged key validates before it signs, a worker that has not
reloaded yet still accepts tokens signed after a rotation by another.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import time
from collections.abc import Iterator

from cryptography import fernet

__all__ = ["KeyRepository"]


class KeyRepository:
    def __init__(self, path: pathlib.Path, max_active: int = 3) -> None:
        self.path = path
        self.max_active = max_active

    def _indexes(self) -> list[int]:
        if not self.path.is_dir():
            return []
        return sorted(int(p.name) for p in self.path.iterdir() if p.name.isdigit())

    def _write(self, index: int, key: bytes) -> None:
        tmp = self.path / f".{index}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        os.replace(tmp, self.path / str(index))

    def setup(self) -> None:
        """Create the repository with a staged and a primary key, if it has none."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self._indexes():
            self._write(0, fernet.Fernet.generate_key())
            self._write(1, fernet.Fernet.generate_key())

    def rotate(self) -> None:
        """Promote the staged key to primary, stage a fresh one, prune the oldest."""
        indexes = self._indexes()
        if not indexes:
            self.setup()
            return
        new_primary = max(indexes) + 1
        os.replace(self.path / "0", self.path / str(new_primary))
        self._write(0, fernet.Fernet.generate_key())
        secondaries = [i for i in self._indexes() if i not in (0, new_primary)]
        while len(secondaries) + 2 > self.max_active:
            (self.path / str(secondaries.pop(0))).unlink()

    def rotate_if_older_than(self, seconds: float) -> bool:
        """Rotate when the primary key is ``seconds`` old; only one process at a time decides."""
        with self._locked():
            indexes = self._indexes()
            if not indexes:
                self.setup()
                return True
            primary = self.path / str(max(indexes))
            if time.time() - primary.stat().st_mtime < seconds:
                return False
            self.rotate()
            return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def version(self) -> int:
        """Changes whenever a key is added, promoted or removed (the directory's mtime)."""
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def load(self) -> fernet.MultiFernet:
        """Primary first (it signs), then the others, staged key included (they validate)."""
        for _ in range(3):
            indexes = self._indexes()
            if not indexes:
                raise FileNotFoundError(f"no Fernet keys in {self.path}")
            ordered = sorted(indexes, reverse=True)
            try:
                return fernet.MultiFernet(
                    [fernet.Fernet((self.path / str(i)).read_bytes().strip()) for i in ordered])
            except FileNotFoundError:
                continue  # another process rotated between listing and reading: list again
        raise FileNotFoundError(f"the Fernet keys in {self.path} keep changing")
