"""The token key repository rotates like Keystone's: staged, primary, secondaries."""

from __future__ import annotations

import pathlib

import pytest
from cryptography import fernet

from sausage.services.identity.fernet import KeyRepository


def names(path: pathlib.Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_setup_creates_a_staged_and_a_primary_key_readable_only_by_root(
        tmp_path: pathlib.Path) -> None:
    repo = KeyRepository(tmp_path / "keys")
    repo.setup()
    assert names(tmp_path / "keys") == ["0", "1"]
    assert (tmp_path / "keys" / "1").stat().st_mode & 0o077 == 0


def test_rotation_keeps_at_most_max_active_keys_and_old_tokens_valid(
        tmp_path: pathlib.Path) -> None:
    repo = KeyRepository(tmp_path, max_active=3)
    repo.setup()
    token = repo.load().encrypt(b"hello")
    repo.rotate()
    assert names(tmp_path) == ["0", "1", "2"]
    assert repo.load().decrypt(token) == b"hello"
    repo.rotate()
    assert names(tmp_path) == ["0", "2", "3"]
    with pytest.raises(fernet.InvalidToken):
        repo.load().decrypt(token)


def test_the_staged_key_already_validates_before_it_becomes_primary(
        tmp_path: pathlib.Path) -> None:
    repo = KeyRepository(tmp_path)
    repo.setup()
    staged = fernet.Fernet((tmp_path / "0").read_bytes())
    assert repo.load().decrypt(staged.encrypt(b"x")) == b"x"


def test_rotate_if_older_than_leaves_fresh_keys_alone(tmp_path: pathlib.Path) -> None:
    repo = KeyRepository(tmp_path)
    repo.setup()
    assert repo.rotate_if_older_than(3600) is False
    assert repo.rotate_if_older_than(0) is True
