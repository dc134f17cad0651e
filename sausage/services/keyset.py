"""Keyset paging over a model's columns, shared by the services that page with a marker row
(images, volumes): the sort key of a column (nullable ones compared through a default, so NULLs
sort like it) and the condition for "strictly after the marker" in a multi-key order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_

__all__ = ["key", "after"]


def key(model: Any, name: str, nullable: Mapping[str, Any]) -> Any:
    """The expression to sort ``model`` by ``name`` (``nullable``: column → its NULL stand-in)."""
    column = getattr(model, name)
    return func.coalesce(column, nullable[name]) if name in nullable else column


def after(model: Any, marker: Any, order: list[tuple[str, str]],
          nullable: Mapping[str, Any]) -> ColumnElement[bool]:
    """Rows strictly after ``marker`` in the (key, "asc"|"desc") ``order``."""
    def value(name: str) -> Any:
        found = getattr(marker, name)
        return nullable.get(name) if found is None else found

    clauses: list[ColumnElement[bool]] = []
    for i, (name, direction) in enumerate(order):
        equal_before = [key(model, k, nullable) == value(k) for k, _ in order[:i]]
        column = key(model, name, nullable)
        step = column > value(name) if direction == "asc" else column < value(name)
        clauses.append(and_(*equal_before, step))
    return or_(*clauses)
