"""Marking hosts changed (services/hosts/changes): each touched host's revision moves once, when
the transaction commits, and not at all when it rolls back."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from sausage.db.models import compute as cm
from sausage.db.session import Database
from sausage.services.hosts import changes


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'h.db'}")
    database.migrate()
    with database.transaction() as s:
        for name, node in (("alpha", False), ("beta", False), ("node", True)):
            s.add(cm.Host(id=name + "-id", name=name, vcpus=1, memory_mb=1, disk_gb=1,
                          revision=1, network_node=node, token_hash=""))
    yield database
    database.dispose()


def revisions(db: Database) -> dict[str, int]:
    with db.transaction() as s:
        return {h.name: h.revision for h in s.query(cm.Host)}


def test_a_host_marked_three_times_in_one_transaction_moves_once(db: Database) -> None:
    with db.transaction() as s:
        changes.changed(s, ["alpha-id"])
        changes.changed(s, ["alpha-id", None])
        changes.changed(s, names=["alpha"])
        assert revisions(db)["alpha"] == 1  # not before the commit
    assert revisions(db) == {"alpha": 2, "beta": 1, "node": 1}


def test_a_rolled_back_transaction_moves_no_revision(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as s:
        changes.changed(s, ["alpha-id"], everywhere=True)
        raise RuntimeError("the change failed")
    assert revisions(db) == {"alpha": 1, "beta": 1, "node": 1}


def test_a_network_change_reaches_the_network_node_and_everywhere_reaches_all(
        db: Database) -> None:
    with db.transaction() as s:
        changes.changed(s, networks=["some-network"])
    assert revisions(db) == {"alpha": 1, "beta": 1, "node": 2}
    with db.transaction() as s:
        changes.changed(s, network_nodes=True)  # a router, wherever its networks are
    assert revisions(db) == {"alpha": 1, "beta": 1, "node": 3}
    with db.transaction() as s:
        changes.changed(s, ["beta-id"])
        changes.changed(s, everywhere=True)
    assert revisions(db) == {"alpha": 2, "beta": 2, "node": 4}


def test_a_transaction_that_marks_nothing_moves_nothing(db: Database) -> None:
    with db.transaction() as s:
        changes.changed(s, [None])
    assert revisions(db) == {"alpha": 1, "beta": 1, "node": 1}
