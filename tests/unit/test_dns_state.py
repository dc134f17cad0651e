"""What the DNS publisher reports (services/dns/state): a zone answered at its serial turns
ACTIVE with its pending recordsets, an older serial changes nothing, an error is kept, and
deleted rows go once they are unpublished."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from sausage.db.models import dns as m
from sausage.db.session import Database
from sausage.services.context import Context
from sausage.services.dns import recordsets, state, zones
from sausage.services.dns.common import Scope

MEMBER = Context(user_id="u", project_id="p", roles=frozenset({"member"}))
NONE = Scope()


@pytest.fixture
def db(tmp_path: pathlib.Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'dns.db'}")
    database.migrate()
    yield database
    database.dispose()


def new_zone(db: Database) -> tuple[str, int]:
    with db.transaction() as s:
        zone = zones.create(s, MEMBER, NONE, {"name": "example.org.", "email": "a@b.org"})
        return zone.id, zone.serial


def zone_row(db: Database, zone_id: str) -> tuple[str, str, int, str | None] | None:
    with db.transaction() as s:
        zone = s.get(m.DnsZone, zone_id)
        return None if zone is None else (zone.status, zone.action, zone.serial, zone.error)


def recordset_states(db: Database) -> set[tuple[str, str, str]]:
    with db.transaction() as s:
        return {(rs.type, rs.status, rs.action) for rs in s.query(m.DnsRecordset)}


def test_a_new_zone_is_pending_until_the_server_answers_its_serial(db: Database) -> None:
    zone_id, serial = new_zone(db)
    with db.transaction() as s:
        assert state.pending(s) == [zone_id]
        assert state.mark_published(s, zone_id, serial - 1) is False
    assert zone_row(db, zone_id) == ("PENDING", "CREATE", serial, None)
    with db.transaction() as s:
        assert state.mark_published(s, zone_id, serial) is True
        assert state.pending(s) == []
    assert zone_row(db, zone_id) == ("ACTIVE", "NONE", serial, None)
    assert recordset_states(db) == {("SOA", "ACTIVE", "NONE"), ("NS", "ACTIVE", "NONE")}


def test_an_error_keeps_the_reason_and_a_later_publish_clears_it(db: Database) -> None:
    zone_id, serial = new_zone(db)
    with db.transaction() as s:
        assert state.mark_error(s, zone_id, "pdns said 422") is True
    assert zone_row(db, zone_id) == ("ERROR", "CREATE", serial, "pdns said 422")
    with db.transaction() as s:
        state.mark_published(s, zone_id, serial)
    assert zone_row(db, zone_id) == ("ACTIVE", "NONE", serial, None)


def test_deleted_recordsets_go_once_unpublished_and_the_rest_stay(db: Database) -> None:
    zone_id, _ = new_zone(db)
    with db.transaction() as s:
        rs = recordsets.create(s, MEMBER, NONE, zone_id, {
            "name": "www.example.org.", "type": "A", "records": ["192.0.2.1"]})
        recordsets.delete(s, MEMBER, NONE, zone_id, rs.recordset.id)
    with db.transaction() as s:
        zone = s.get(m.DnsZone, zone_id)
        assert zone is not None
        assert state.mark_published(s, zone_id, zone.serial) is True
    assert ("A", "PENDING", "DELETE") in recordset_states(db)
    with db.transaction() as s:
        assert state.finish_deletes(s, zone_id) is True
        assert state.finish_deletes(s, zone_id) is False
    assert {t for t, _, _ in recordset_states(db)} == {"SOA", "NS"}
    with db.transaction() as s:
        assert s.query(m.DnsRecord).count() == 2


def test_a_deleted_zone_goes_with_all_its_rows(db: Database) -> None:
    zone_id, serial = new_zone(db)
    with db.transaction() as s:
        zones.delete(s, MEMBER, NONE, zone_id)
        assert state.mark_published(s, zone_id, serial) is False
    assert zone_row(db, zone_id) == ("PENDING", "DELETE", serial, None)
    with db.transaction() as s:
        assert state.finish_deletes(s, zone_id) is True
    assert zone_row(db, zone_id) is None
    assert recordset_states(db) == set()
    with db.transaction() as s:
        assert state.finish_deletes(s, "missing") is False
        assert state.mark_published(s, "missing", 1) is False
        assert state.mark_error(s, "missing", "x") is False
