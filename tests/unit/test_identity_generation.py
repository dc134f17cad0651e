"""The identity generation (db.generation): bumped in the same transaction by every kind of write
to an identity table — a flushed row or a bulk statement — and by nothing else."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, update

from sausage.db import generation
from sausage.db.models import compute as cm
from sausage.db.models import identity as m
from sausage.db.session import Database


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'g.db'}")
    database.migrate()
    yield database
    database.dispose()


def now(db: Database) -> int | None:
    with db.transaction() as s:
        return generation.current(s)


def test_added_changed_and_deleted_rows_each_bump_it_once_committed(db: Database) -> None:
    start = now(db)
    assert start is not None
    with db.transaction() as s:
        domain = m.Domain(name="d")
        s.add(domain)
    assert now(db) == start + 1
    with db.transaction() as s:
        s.get(m.Domain, domain.id).enabled = False  # type: ignore[union-attr]
    assert now(db) == start + 2
    with db.transaction() as s:
        s.delete(s.get(m.Domain, domain.id))
    assert now(db) == start + 3


def test_bulk_statements_on_identity_tables_bump_it_and_others_do_not(db: Database) -> None:
    start = now(db)
    assert start is not None
    with db.transaction() as s:
        s.execute(delete(m.Assignment).where(m.Assignment.actor_id == "nobody"))
    assert now(db) == start + 1
    with db.transaction() as s:
        s.execute(update(cm.Host).where(cm.Host.name == "nowhere").values(enabled=False))
    assert now(db) == start + 1


def test_a_write_that_rolls_back_leaves_it_as_it_was(db: Database) -> None:
    start = now(db)
    with pytest.raises(RuntimeError):
        with db.transaction() as s:
            s.add(m.Domain(name="gone"))
            s.flush()
            raise RuntimeError("the request failed")
    assert now(db) == start
