"""Hostile values and how they reach the wire: the JSON encoder that can write what ``json.dumps``
refuses to (``1e999``, lone surrogates, bytes that are not UTF-8, nesting 10,000 deep), and the
hypothesis strategies that mutate a valid body, query string, path id or header into them.

Used by ``harness`` (which sends) and ``test_fuzz`` (which draws).
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from typing import Any

from hypothesis import strategies as st

__all__ = ["Raw", "BadBytes", "encode", "values", "mutated", "body_bytes", "query_string",
           "path_segment", "header_value", "CONTENT_TYPES"]


@dataclasses.dataclass(frozen=True)
class Raw:
    """JSON text written as is: ``1e999``, ``NaN``, a 10,000-deep array."""
    text: str


@dataclasses.dataclass(frozen=True)
class BadBytes:
    """A JSON string whose bytes are not UTF-8 (``"\\xff"``, an encoded surrogate)."""
    data: bytes


def encode(value: Any) -> bytes:
    """``value`` as JSON bytes, writing ``Raw`` and ``BadBytes`` verbatim. Strings use ``\\u``
    escapes, so a lone surrogate goes out as ``"\\ud800"`` -- valid JSON text, invalid Unicode."""
    if isinstance(value, Raw):
        return value.text.encode()
    if isinstance(value, BadBytes):
        return b'"' + value.data + b'"'
    if isinstance(value, dict):
        return b"{" + b",".join(encode(str(k)) + b":" + encode(v) for k, v in value.items()) + b"}"
    if isinstance(value, (list, tuple)):
        return b"[" + b",".join(encode(v) for v in value) + b"]"
    return json.dumps(value, ensure_ascii=True).encode()


def _deep(depth: int, kind: str) -> Raw:
    if kind == "array":
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


NUMBERS = [Raw("1e999"), Raw("-1e999"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"),
           2 ** 63, 2 ** 63 - 1, 2 ** 64, -(2 ** 63) - 1, -1, 0, 10 ** 100, -(10 ** 30), 1.5,
           -0.0, 1e308, Raw("1E400"), Raw("-0"), 2 ** 31, 4294967296]
STRINGS = ["", " ", "\ud800", "a\udfffb", "\udbff\udc00x\ud800", "\x00", "a\x00b", "\u202e",
           "x" * 256, "x" * 65536, "notadate", "gt:notadate", "lt:2020-13-45T25:61:61",
           "1e999", "NaN", "-1", "9223372036854775808", "abc", "../../etc/passwd", "%00", "%ff",
           "true", "null", "10.0.0.1/33", "::/129", "0.0.0.0/0", "256.1.1.1", "fe80::1%eth0",
           "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-fffffffffffff",
           "' OR 1=1 --", "\U0001f32d", "ü" * 300, "\t", "a,b", "{}", "[]"]
BAD_BYTES = [BadBytes(b"\xff"), BadBytes(b"\xc3\x28"), BadBytes(b"\xed\xa0\x80"),
             BadBytes(b"a\x80b"), BadBytes(b"\xf4\x90\x80\x80")]
SHAPES: list[Any] = [None, True, False, [], {}, ["x"], [1, 2], [None], {"a": "b"}, {"": None},
                     [[]], [{}], {"x": {"y": {"z": []}}}]
DEEP = [_deep(10_000, "array"), _deep(10_000, "object"), _deep(100, "array"), _deep(1_000, "object"),
        _deep(200_000, "array")]


# What a parser that trusts types trips on: the wrong JSON type, or the right one out of range.
TYPE_SWAPS: list[Any] = [None, True, False, 0, 1, -1, "", "abc", "0", "-1", "true", [], {}, ["x"],
                         [None], [{}], [[]], {"a": 1}, {"": ""}, 2 ** 31, 2 ** 63 - 1, 1.5,
                         "00000000-0000-0000-0000-000000000000", "10.0.0.1", "x" * 300]


def values() -> st.SearchStrategy[Any]:
    """One hostile JSON value: a wrong type, an edge number, a nasty string, deep nesting."""
    return st.one_of(
        st.sampled_from(NUMBERS), st.sampled_from(STRINGS), st.sampled_from(SHAPES),
        st.sampled_from(BAD_BYTES), st.sampled_from(DEEP),
        st.integers(), st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
        st.lists(st.sampled_from(STRINGS + NUMBERS[5:]), max_size=3),
        st.dictionaries(st.sampled_from(["name", "id", "", "\ud800", "x" * 300]),
                        st.sampled_from(STRINGS[:6] + SHAPES[:4]), max_size=2),
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``value`` a mutation can touch (the root is ``()``)."""
    found: list[tuple[Any, ...]] = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    return [_replace(v, rest, new) if i == head else v for i, v in enumerate(value)]


def _drop(value: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return value
    if len(path) == 1:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k != path[0]}
        return [v for i, v in enumerate(value) if i != path[0]]
    head = path[0]
    if isinstance(value, dict):
        return {**value, head: _drop(value[head], path[1:])}
    return [_drop(v, path[1:]) if i == head else v for i, v in enumerate(value)]


def _add(value: Any, key: str, new: Any) -> Any:
    if isinstance(value, dict):
        return {**value, key: new}
    if isinstance(value, list):
        return [*value, new]
    return value


@st.composite
def mutated(draw: st.DrawFn, valid: Any) -> Any:
    """``valid`` with one to three hostile changes: a value replaced, a key dropped, an unknown
    key added, or an inner object given a hostile key."""
    value = valid
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        places = _paths(value)
        # Mostly inside the body, where the service's own checks run; sometimes the whole.
        inner = places[1:] if len(places) > 1 and draw(st.integers(0, 9)) else places
        where = inner[draw(st.integers(0, len(inner) - 1))]
        how = draw(st.sampled_from(["replace", "replace", "replace", "drop", "add", "add_key"]))
        if how == "replace":
            value = _replace(value, where, draw(st.one_of(st.sampled_from(TYPE_SWAPS), values())))
        elif how == "drop":
            value = _drop(value, where)
        else:
            inner: Any = value
            for step in where:
                inner = inner[step]
            key = (draw(st.sampled_from(["unknown", "\ud800", "", "x" * 300, "id", "tenant_id"]))
                   if how == "add_key" else draw(st.text(max_size=8)))
            value = _replace(value, where, _add(inner, key, draw(values())))
    return value


# A raw body that is not JSON at all, or JSON cut short, or a JSON value that is not an object.
RAW_BODIES = [b"", b" ", b"{", b"[", b'{"a":', b"null", b"[]", b"1", b'"x"', b"{}}", b"\xff\xfe",
              b'{"a": "\xff"}', b"\x00", b"{'a': 1}", b"[" * 100_000, b'{"a": 1, "a": 2}',
              b"\xef\xbb\xbf{}", "{\"\ud800\": 1}".encode("utf-8", "surrogatepass"),
              b"x" * (2 << 20), b'{"a": "' + b"x" * (1 << 20) + b'"}']


@st.composite
def body_bytes(draw: st.DrawFn, valid: Any | None) -> bytes:
    """The bytes of a request body: the valid example, a mutation of it, or raw garbage."""
    choice = draw(st.integers(0, 9))
    if valid is None or choice == 0:
        if draw(st.booleans()):
            return draw(st.sampled_from(RAW_BODIES))
        return encode(draw(values()))
    if choice <= 2:
        return encode(valid)
    return encode(draw(mutated(valid)))


CONTENT_TYPES = ["application/json", "application/json", "application/json",
                 "text/plain", "multipart/form-data; boundary=x",
                 "application/x-www-form-urlencoded", "application/json; charset=latin-1",
                 "application/octet-stream", "application/openstack-images-v2.1-json-patch",
                 "", "application/json\x00", "*/*", "application/jsonx", "json"]

QUERY_VALUES = ["", "-1", "0", "1", "2", "abc", "9223372036854775807", "9223372036854775808",
                "18446744073709551616", "1e999", "NaN", "-Infinity", "1.5", "true", "False",
                "notadate", "gt:notadate", "lt:2020-01-01T00:00:00Z", "gte:", "in:a,b",
                "2020-13-45T25:61:61Z", "asc", "desc", "sideways", "name:asc", "id:up",
                "created_at", "updated_at", "nonexistent_key", "%ff", "%ed%a0%80", "%00",
                "%c3%28", "x" * 5000, "00000000-0000-0000-0000-000000000000", "a,b,,",
                "name,id", "\U0001f32d", "{}", "[]", "null", "public", "private", "shared"]
QUERY_KEYS = ["limit", "marker", "sort_key", "sort_dir", "sort", "name", "status", "id",
              "project_id", "tenant_id", "all_tenants", "all_projects", "fields", "tags",
              "tags-any", "not-tags", "created_at", "updated_at", "changes-since",
              "changes-before", "page_reverse", "visibility", "member_status", "owner",
              "is_public", "minDisk", "minRam", "flavor", "image", "ip", "deleted", "host",
              "domain_id", "enabled", "user_id", "role.id", "scope.project.id", "effective",
              "include_names", "parent_id", "is_domain", "router:external", "shared",
              "admin_state_up", "network_id", "device_id", "fixed_ips", "cidr", "ip_version",
              "with_count", "offset", "metadata", "glance_metadata", "size", "size_min",
              "size_max", "os_hidden", "protected", "disk_format", "bootable", "availability_zone",
              "type", "interface", "service_id", "region_id", "parent_region_id",
              "revision_number", "description", "security_group_id", "direction", "%ff", "",
              "\U0001f32d", "limit[]"]


_NUMBERS = ["-1", "0", "1", "abc", "1.5", "", "9223372036854775807", "9223372036854775808",
            "18446744073709551616", "-9223372036854775809", "1e999", "NaN", "%ff", "0x10"]
_TIMES = ["notadate", "gt:notadate", "lt:2020-13-45T25:61:61Z", "gte:", "gt:", "eq:x",
          "2020-01-01T00:00:00Z", "gt:2020-01-01T00:00:00Z", "lte:2020-01-01", "9999-99-99",
          "0000-00-00T00:00:00", "2020-01-01T00:00:00+99:00", "1e999", "%ff", "in:a,b",
          "neq:2020-01-01T00:00:00Z", "gt:9999-12-31T23:59:59Z", "99999999999999999999"]
_BOOLS = ["true", "false", "1", "0", "abc", "", "None", "TRUE", "yes", "%ff", "2"]
_JSONS = ['{"a":"b"}', "{}", "[]", "abc", '{"a":1}', '{"a":{"b":1}}', "null", '"x"', "{",
          '{"\\ud800":"x"}', '{"a":1e999}', "[" * 50]
# Filters by what their values mean, so that a parser of that kind meets its own nasty cases.
TYPED_QUERY: dict[str, list[str]] = {
    **{k: _NUMBERS for k in ("limit", "offset", "size", "size_min", "size_max", "minDisk",
                             "minRam", "revision_number", "ip_version", "mtu", "length")},
    **{k: _TIMES for k in ("created_at", "updated_at", "changes-since", "changes-before",
                           "expires_at")},
    **{k: _BOOLS for k in ("all_tenants", "all_projects", "is_public", "shared", "enabled",
                           "admin_state_up", "router:external", "page_reverse", "effective",
                           "with_count", "protected", "os_hidden", "bootable", "deleted",
                           "include_names", "is_domain", "locked", "detailed", "usage")},
    **{k: _JSONS for k in ("metadata", "glance_metadata", "extra_specs")},
    "marker": ["00000000-0000-0000-0000-000000000000", "abc", "", "%ff", "x" * 300, "-1", "1"],
    "sort_key": ["name", "id", "created_at", "nonexistent", "", "name:asc", "%ff", "status",
                 "size", "id,name", "__class__"],
    "sort_dir": ["asc", "desc", "sideways", "", "ASC", "asc,desc", "%ff"],
    "sort": ["name:asc", "name:sideways", "nonexistent:desc", "name,id", ":", "", "id:",
             "created_at:desc,name", "%ff:asc"],
    "fields": ["id", "name", "nonexistent", "", "id,name", "%ff", ","],
    "tags": ["a", "a,b", "", ",", "x" * 300], "tags-any": ["a", ",", ""],
    "not-tags": ["a", ""], "not-tags-any": [",", "a"],
    "fixed_ips": ["ip_address=10.0.0.1", "subnet_id=x", "ip_address_substr=1", "abc", "=", ""],
    "cidr": ["10.0.0.0/24", "10.0.0.0/33", "abc", ""], "ip": ["10.", "(", "[", "*", "\\"],
}


def _quote(text: str) -> str:
    # A value made only of %-escapes keeps them: that is how raw bytes reach the server.
    if re.fullmatch(r"(%[0-9a-fA-F]{2})+", text):
        return text
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def query_string(draw: st.DrawFn, keys: list[str]) -> str:
    """A query string of zero to four pairs: known filter keys of the resource and hostile ones,
    with hostile values; keys may repeat."""
    pairs = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 9)) < 6:
            key = draw(st.sampled_from(sorted(TYPED_QUERY)))
            value = draw(st.sampled_from(TYPED_QUERY[key]))
        else:
            key = draw(st.sampled_from(keys + QUERY_KEYS))
            value = draw(st.one_of(st.sampled_from(QUERY_VALUES), st.text(max_size=12)))
        pairs.append(f"{_quote(key)}={_quote(value)}")
    return "&".join(pairs)


PATH_SEGMENTS = ["00000000-0000-0000-0000-000000000000", "0", "-1", "9223372036854775808",
                 "1e999", "NaN", "x" * 300, "x" * 5000, "%ff", "%ed%a0%80", "%00", "%20", "..",
                 "%2e%2e", "%2F", "a%2Fb", "detail", "action", "null", "true", "\U0001f32d",
                 "' OR '1'='1", "%c3%28", "default", "admin", "RegionOne", "12", "1"]


def path_segment() -> st.SearchStrategy[str]:
    """A hostile id for a path parameter, already %-encoded for the URL."""
    return st.one_of(st.sampled_from(PATH_SEGMENTS).map(_quote),
                     st.text(min_size=1, max_size=20).map(_quote))


HEADER_VALUES: list[bytes] = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"abc\x80", b"", b"x" * 8000,
                              b"compute 2.999", b"compute latest", b"volume 3.0", b"volume 9.9",
                              b"compute abc", b"compute 2.", b"2.1", b"latest", b"volume",
                              b"compute 2.1, volume 3.0", b"\xe2\x80\xae", b"gAAAAA"]
HEADER_NAMES = ["X-Auth-Token", "OpenStack-API-Version", "X-OpenStack-Nova-API-Version",
                "X-Subject-Token", "Content-Type", "Accept", "User-Agent", "X-Fuzz",
                "X-Openstack-Request-Id", "Accept-Language", "X-Auth-Project-Id", "If-Match",
                "X-Image-Meta-Name", "Host-Fuzz"]


def header_value() -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from(HEADER_VALUES),
                     st.binary(min_size=1, max_size=16).map(
                         lambda b: bytes(c for c in b if c not in b"\r\n\x00") or b"\xff"))
