"""Designate's name rules: zone names, host names (records, recordset names), emails, TTLs.

A zone name is absolute (the trailing dot), each label 1..63 letters, digits, ``_`` or ``-``
(not at either end), the whole under 255 characters with the dot; zones need two labels.
Names are compared lower case. A recordset name may start with the ``*`` wildcard label.
Failures raise ``ValueError`` saying why; callers turn them into Designate's 400.
"""

from __future__ import annotations

import re

__all__ = ["zone_name", "host_name", "email", "ttl", "description", "MAX_TTL"]

_ZONE = re.compile(r"^(?!.{255,})(?:(?!-)[A-Za-z0-9_\-]{1,63}(?<!-)\.)+\Z")
_HOST = re.compile(r"^(?!.{255,})(?:(?:^\*|(?!-)[A-Za-z0-9_\-]{1,63})(?<!-)\.)+\Z")
MAX_TTL = 2147483647


def _name(value: object, what: str, pattern: re.Pattern[str]) -> str:
    """``value`` as an absolute name matching ``pattern``, lower case, or ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    if len(value) > 255:
        raise ValueError(f"{what} is too long")
    for label in value.split("."):
        if len(label) > 63:
            raise ValueError(f"{what} label {label[:70]} is too long")
    if not value.endswith("."):
        raise ValueError(f"{what} {value[:300]} does not end with a dot")
    if not pattern.match(value):
        raise ValueError(f"{what} {value[:300]} is invalid")
    return value.lower()


def zone_name(value: object, what: str = "Domain") -> str:
    """``value`` as a zone name (lower case), or ValueError."""
    return _name(value, what, _ZONE)


def host_name(value: object, what: str = "Host name") -> str:
    """``value`` as an absolute host name that may start with ``*``, lower case."""
    return _name(value, what, _HOST)


def email(value: object) -> str:
    if not isinstance(value, str) or len(value) > 255:
        raise ValueError("email must be a string of at most 255 characters")
    if value.count("@") != 1:
        raise ValueError(f"{value[:300]} is not an email")
    if not _ZONE.match(value.replace("@", ".") + "."):
        raise ValueError(f"Email {value[:300]} is invalid")
    return value


def ttl(value: object, field: str = "ttl") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be an integer")
    if value < 0:
        raise ValueError(f"Value must be >= 0 for field {field}")
    if value > MAX_TTL:
        raise ValueError(f"Value too high for {field}")
    return value


def description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("description must be a string")
    if len(value) > 160:
        raise ValueError("Value too long for description")
    return value
