"""What a column can store, checked before every flush (db.session.storable): the same answer on
SQLite, which would store anything, as on PostgreSQL, which fails mid-transaction."""

from __future__ import annotations

import sqlalchemy

from sausage.db.models import compute as cm
from sausage.db.models import image as im
from sausage.db.session import storable


def test_an_integer_column_holds_32_bits_and_a_big_integer_column_64() -> None:
    assert storable(cm.Flavor.__table__.c.ram, 2 ** 31 - 1) is None
    assert "2147483647" in str(storable(cm.Flavor.__table__.c.ram, 2 ** 31))
    assert storable(cm.Flavor.__table__.c.ram, -(2 ** 31)) is None
    assert storable(im.Image.__table__.c.size, 2 ** 40) is None
    assert storable(im.Image.__table__.c.size, 2 ** 63) is not None


def test_a_float_column_holds_only_finite_numbers() -> None:
    column = cm.Flavor.__table__.c.rxtx_factor
    assert storable(column, 1e300) is None
    assert storable(column, float("inf")) == "must be a finite number"
    assert storable(column, float("nan")) == "must be a finite number"


def test_a_string_column_holds_its_length_and_no_nul() -> None:
    column = sqlalchemy.Column("name", sqlalchemy.String(8))
    assert storable(column, "12345678") is None
    assert "at most 8" in str(storable(column, "123456789"))
    assert "NUL" in str(storable(column, "a\x00b"))
    assert storable(sqlalchemy.Column("t", sqlalchemy.Text()), "x" * 100_000) is None


def test_null_and_flags_are_always_storable() -> None:
    assert storable(cm.Flavor.__table__.c.ram, None) is None
    assert storable(cm.Flavor.__table__.c.is_public, True) is None
