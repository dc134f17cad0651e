"""Per-type record data, checked as Designate's ``rrdata_*`` objects check it.

``check(type, data)`` answers the record in presentation form (host names lower case,
numbers as the client sent them when valid) or raises ``ValueError``; ``TYPES`` are the
types a user may create. SOA is the cloud's own (managed) and never written by users.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from sausage.services.dns import names

__all__ = ["check", "srv_name_ok", "TYPES"]

_SSHFP_FP = re.compile(r"^([0-9A-Fa-f]{10,40}|[0-9A-Fa-f]{64})\Z")
_SRV_NAME = re.compile(r"^(?:_[A-Za-z0-9_\-]{1,63}\.){2}")
_KVP = re.compile(r"^\s[A-Za-z0-9]+=[A-Za-z0-9]+")
_URL_MAIL = re.compile(r"^mailto:[A-Za-z0-9_\-]+(\+[A-Za-z0-9_\-]+)?@.*")
_URL_HTTP = re.compile(r"^http(s)?://.*/")
_DIGITS = re.compile(r"^[0-9]+\Z")


def _int(text: str, low: int, high: int, what: str) -> int:
    if not _DIGITS.match(text):
        raise ValueError(f"{what} must be an integer")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}")
    return value


def _parts(data: str, count: int) -> list[str]:
    parts = data.split(" ")
    if len(parts) != count or any(not p for p in parts):
        raise ValueError(f"expected {count} fields")
    return parts


def _a(data: str) -> str:
    return str(ipaddress.IPv4Address(data))


def _aaaa(data: str) -> str:
    return str(ipaddress.IPv6Address(data))


def _domain(data: str) -> str:
    return names.zone_name(data, "Domain")


def _mx(data: str) -> str:
    priority, exchange = _parts(data, 2)
    _int(priority, 0, 65535, "priority")
    return f"{int(priority)} {_domain(exchange)}"


def _srv(data: str) -> str:
    priority, weight, port, target = _parts(data, 4)
    for value, what in ((priority, "priority"), (weight, "weight"), (port, "port")):
        _int(value, 0, 65535, what)
    return f"{int(priority)} {int(weight)} {int(port)} {_domain(target)}"


def _sshfp(data: str) -> str:
    algorithm, fp_type, fingerprint = _parts(data, 3)
    _int(algorithm, 0, 4, "algorithm")
    _int(fp_type, 0, 2, "fingerprint type")
    if not _SSHFP_FP.match(fingerprint):
        raise ValueError("not an SSHFP fingerprint")
    return f"{int(algorithm)} {int(fp_type)} {fingerprint.lower()}"


def _txt_string(value: str) -> None:
    if len(value) > 255:
        raise ValueError("Any TXT record string exceeding 255 characters has to be split.")
    if "\n" in value:
        raise ValueError("TXT record must not contain a literal newline character.")
    starts, ends = value.startswith('"'), value.endswith('"') and len(value) > 1
    if starts != ends:
        raise ValueError("TXT record is missing a double quote either at beginning or at end.")
    if not starts:
        if any(c.isspace() for c in value):
            raise ValueError("Empty spaces are not allowed in TXT record, unless wrapped in "
                             "double quotes.")
        return
    inner = value[1:-1]
    for index, char in enumerate(inner):
        if char == '"' and (index == 0 or inner[index - 1] != "\\"):
            raise ValueError("Quotation marks should be escaped with backslash.")


def _txt(data: str) -> str:
    if data.endswith("\\"):
        raise ValueError("Do NOT put '\\' into end of TXT record")
    if len(data) > 255:
        inner = data.strip('"')
        if not (data.startswith('"') and data.endswith('"')) and '" "' not in inner:
            raise ValueError("TXT record strings over 255 characters have to be split into "
                             "multiple strings wrapped in double quotes.")
        for piece in inner.split('" "'):
            _txt_string(f'"{piece}"')
    else:
        _txt_string(data)
    return data


def _caa(data: str) -> str:
    flags, tag, value = (data.split(" ", 2) + ["", ""])[:3]
    _int(flags, 0, 1, "flags")  # Designate's range
    if tag in ("issue", "issuewild"):
        entries = value.split(";")
        domain = entries[0]
        if domain:
            _domain(domain + "." if not domain.endswith(".") else domain)
        for entry in entries[1:]:
            if not _KVP.match(entry):
                raise ValueError(f"{entry} is not a valid key-value pair")
    elif tag == "iodef":
        if _URL_MAIL.match(value):
            _domain(value.split("@", 1)[1] + ".")
        elif _URL_HTTP.match(value):
            _domain(value.split("/")[2] + ".")
        else:
            raise ValueError(f"{value} is not a valid URL")
    else:
        raise ValueError("Property tag must be 'issue', 'issuewild' or 'iodef'")
    return f"{int(flags)} {tag} {value}"


TYPES: dict[str, Callable[[str], str]] = {
    "A": _a, "AAAA": _aaaa, "CNAME": _domain, "MX": _mx, "TXT": _txt, "SPF": _txt,
    "SRV": _srv, "PTR": _domain, "NS": _domain, "SSHFP": _sshfp, "CAA": _caa,
}


def check(rtype: str, data: object) -> str:
    """``data`` as a valid record of ``rtype``; ValueError naming what is wrong."""
    if not isinstance(data, str):
        raise ValueError(f"'{str(data)[:100]}' is not a '{rtype}' Record")
    try:
        return TYPES[rtype](data)
    except (ValueError, IndexError) as e:
        raise ValueError(f"'{data[:300]}' is not a '{rtype}' Record") from e


def srv_name_ok(name: str) -> bool:
    """An SRV recordset is named ``_service._proto.name.``."""
    return bool(_SRV_NAME.match(name))
