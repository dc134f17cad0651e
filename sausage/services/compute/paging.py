"""Marker/limit paging over an already ordered, small list (flavors, keypairs), as Nova does."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from sausage import errors

__all__ = ["page"]

T = TypeVar("T")


def page(rows: Sequence[T], filters: Mapping[str, str], key: Callable[[T], str]) -> list[T]:
    """The rows after ``marker`` (by ``key``), at most ``limit`` of them.

    Raises BadRequest for a marker that is not in the list or a limit that is not an integer.
    """
    out = list(rows)
    if "marker" in filters:
        keys = [key(r) for r in out]
        if filters["marker"] not in keys:
            raise errors.BadRequest(f"marker [{filters['marker']}] not found")
        out = out[keys.index(filters["marker"]) + 1:]
    if "limit" in filters:
        try:
            out = out[:max(0, int(filters["limit"]))]
        except ValueError as e:
            raise errors.BadRequest("limit must be an integer") from e
    return out
