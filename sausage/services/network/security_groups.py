"""Security groups and their rules (Neutron's ``security-group`` extension).

Called by ``api/network/security_groups.py``. A project's ``default`` group is made on first
use (``default_group.ensure_default``): listing the groups, creating one, or a port that needs
it. Every change a host must enforce calls ``changes.changed(everywhere=True)``: which hosts a
rule reaches (members of the group, and members of groups that name it as remote) is cheaper to
resync than to compute.

Rule validation follows Neutron's order and messages: the ethertype and protocol are converted
first, then ports, the remote prefix against the ethertype, the remote group, duplicates.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.db.models import network as nm
from sausage.services import policy
from sausage.services.context import Context
from sausage.services.hosts import changes
from sausage.services.network import default_group, query, quotas, standard

__all__ = [
    "Groups", "Rules", "list_groups", "show_group", "create_group", "update_group",
    "delete_group", "list_rules", "show_rule", "create_rules", "update_rule", "delete_rule",
    "PROTOCOLS",
    "RULE_COLUMNS", "find_group",
]

# Neutron's protocol names and their IP protocol numbers ("icmpv6" is the legacy name).
PROTOCOLS: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
    "igmp": 2, "ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
    "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
    "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
_PORT_PROTOCOLS = {6, 17, 33, 132, 136}  # tcp, udp, dccp, sctp, udplite
_ICMP_PROTOCOLS = {1, 58}
_IPV6_ONLY = {"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts",
              "ipv6-route"}
_ANY = {"IPv4": "0.0.0.0/0", "IPv6": "::/0"}

RULE_COLUMNS: dict[str, Any] = {}


@dataclasses.dataclass
class Groups:
    """Groups as the API renders them: one page, their rules and which are default groups."""

    found: query.Found[nm.SecurityGroup]
    rules: dict[str, list[nm.SecurityGroupRule]]
    defaults: set[str]


@dataclasses.dataclass
class Rules:
    """Rules as the API renders them, and which of their groups are default groups."""

    rows: list[nm.SecurityGroupRule]
    defaults: set[str]
    found: query.Found[nm.SecurityGroupRule] | None = None


def _group_missing(group_id: str) -> errors.NotFound:
    return errors.NotFound(f"Security group {group_id} does not exist",
                           kind="SecurityGroupNotFound")


def _rule_missing(rule_id: str) -> errors.NotFound:
    return errors.NotFound(f"Security group rule {rule_id} does not exist",
                           kind="SecurityGroupRuleNotFound")


def _visible(ctx: Context) -> Any:
    return query.owned_or(nm.SecurityGroup, ctx, nm.SecurityGroup.shared.is_(True))


def find_group(s: Session, ctx: Context, group_id: str) -> nm.SecurityGroup:
    """The group if ``ctx`` may see it; NotFound ``SecurityGroupNotFound`` otherwise."""
    row = s.get(nm.SecurityGroup, group_id) if isinstance(group_id, str) else None
    if row is None or not policy.allowed(ctx, "get_security_group",
                                         {"project_id": row.project_id, "public": row.shared}):
        raise _group_missing(str(group_id))
    return row


def _defaults(s: Session, group_ids: Sequence[str]) -> set[str]:
    if not group_ids:
        return set()
    return set(s.scalars(select(nm.DefaultSecurityGroup.security_group_id).where(
        nm.DefaultSecurityGroup.security_group_id.in_(list(group_ids)))))


def _rules_of(s: Session, group_ids: Sequence[str]) -> dict[str, list[nm.SecurityGroupRule]]:
    out: dict[str, list[nm.SecurityGroupRule]] = {g: [] for g in group_ids}
    if group_ids:
        for rule in s.scalars(select(nm.SecurityGroupRule).where(
                nm.SecurityGroupRule.security_group_id.in_(list(group_ids))).order_by(
                nm.SecurityGroupRule.created_at, nm.SecurityGroupRule.id)):
            out[rule.security_group_id].append(rule)
    return out


def _groups(s: Session, found: query.Found[nm.SecurityGroup]) -> Groups:
    ids = [g.id for g in found.rows]
    return Groups(found, _rules_of(s, ids), _defaults(s, ids))


def list_groups(s: Session, ctx: Context, q: query.ListQuery) -> Groups:
    """The groups ``ctx`` may see, after making sure its project has its default group (as
    Neutron does on the first list)."""
    if ctx.project_id:
        default_group.ensure_default(s, ctx.project_id)
    stmt = select(nm.SecurityGroup).where(_visible(ctx))
    return _groups(s, query.run(s, stmt, nm.SecurityGroup, q))


def show_group(s: Session, ctx: Context, group_id: str) -> Groups:
    row = find_group(s, ctx, group_id)
    return _groups(s, query.found_of(s, [row]))


def _writable(s: Session, ctx: Context, group_id: str, action: str) -> nm.SecurityGroup:
    row = find_group(s, ctx, group_id)
    policy.enforce(ctx, action, {"project_id": row.project_id})
    return row


def _default_exists() -> errors.Conflict:
    return errors.Conflict("Default security group already exists.",
                           kind="SecurityGroupDefaultAlreadyExists")


def create_group(s: Session, ctx: Context, values: Mapping[str, Any],
                 project_id: str | None = None) -> Groups:
    """A new group in ``project_id`` (default: the caller's) with Neutron's two egress rules.
    Conflict for a second ``default`` group; Forbidden for a reader or another project."""
    project = query.creating(ctx, project_id, "create_security_group")
    default_group.ensure_default(s, project)
    if values.get("name") == "default":
        raise _default_exists()
    quotas.check(s, project, "security_group")
    row = nm.SecurityGroup(id=str(uuid.uuid4()), project_id=project,
                           name=values.get("name", ""),
                           description=values.get("description", ""),
                           stateful=values.get("stateful", True))
    s.add(row)
    s.flush()
    for ethertype in ("IPv4", "IPv6"):
        s.add(nm.SecurityGroupRule(id=str(uuid.uuid4()), security_group_id=row.id,
                                   project_id=project, direction="egress",
                                   ethertype=ethertype))
    if values.get("tags"):
        standard.set_tags(s, row, "security_group", values["tags"])
    s.flush()
    return show_group(s, ctx, row.id)


def _in_use(s: Session, group_id: str) -> bool:
    return bool(s.scalar(select(exists().where(
        nm.PortSecurityGroup.security_group_id == group_id))))


def update_group(s: Session, ctx: Context, group_id: str, values: Mapping[str, Any]
                 ) -> Groups:
    """Rename, describe, or switch ``stateful``. Conflict when renaming the default group,
    renaming another group to ``default``, or switching ``stateful`` of a group in use."""
    row = _writable(s, ctx, group_id, "update_security_group")
    is_default = bool(_defaults(s, [row.id]))
    if "name" in values and values["name"] != row.name:
        if is_default:
            raise errors.Conflict("Updating default security group not allowed.",
                                  kind="SecurityGroupCannotUpdateDefault")
        if values["name"] == "default":
            raise _default_exists()
    if "stateful" in values and values["stateful"] != row.stateful:
        if _in_use(s, row.id):
            raise errors.Conflict(f"Security Group {row.id} in use.",
                                  kind="SecurityGroupInUse")
        changes.changed(s, everywhere=True)
    for key in ("name", "description", "stateful"):
        if key in values:
            setattr(row, key, values[key])
    standard.touch(row)
    s.flush()
    return show_group(s, ctx, row.id)


def delete_group(s: Session, ctx: Context, group_id: str) -> None:
    """Delete a group and its rules (and rules elsewhere that name it as remote group).
    Conflict while a port uses it, and for the default group unless the caller is admin
    (project cleanup, as Tempest does)."""
    row = _writable(s, ctx, group_id, "delete_security_group")
    if _defaults(s, [row.id]) and not policy.allowed(ctx, "delete_security_group:default"):
        raise errors.Conflict("Removing default security group not allowed.",
                              kind="SecurityGroupCannotRemoveDefault")
    if _in_use(s, row.id):
        raise errors.Conflict(f"Security Group {row.id} in use.", kind="SecurityGroupInUse")
    s.execute(delete(nm.SecurityGroupRule).where(or_(
        nm.SecurityGroupRule.security_group_id == row.id,
        nm.SecurityGroupRule.remote_group_id == row.id)))
    s.execute(delete(nm.DefaultSecurityGroup).where(
        nm.DefaultSecurityGroup.security_group_id == row.id))
    standard.drop_tags(s, [row.id])
    s.delete(row)
    s.flush()
    changes.changed(s, everywhere=True)


# --- rules --------------------------------------------------------------------------------

def _visible_rules(ctx: Context) -> Any:
    groups = select(nm.SecurityGroup.id).where(_visible(ctx))
    return query.owned_or(nm.SecurityGroupRule, ctx,
                          nm.SecurityGroupRule.security_group_id.in_(groups))


def list_rules(s: Session, ctx: Context, q: query.ListQuery) -> Rules:
    stmt = select(nm.SecurityGroupRule).where(_visible_rules(ctx))
    found = query.run(s, stmt, nm.SecurityGroupRule, q, RULE_COLUMNS)
    return Rules(found.rows, _defaults(s, sorted({r.security_group_id for r in found.rows})),
                 found)


def _find_rule(s: Session, ctx: Context, rule_id: str) -> nm.SecurityGroupRule:
    row = s.get(nm.SecurityGroupRule, rule_id)
    if row is None:
        raise _rule_missing(rule_id)
    group = s.get(nm.SecurityGroup, row.security_group_id)
    if group is None or not (
            policy.allowed(ctx, "get_security_group_rule", {"project_id": row.project_id})
            or policy.allowed(ctx, "get_security_group",
                              {"project_id": group.project_id, "public": group.shared})):
        raise _rule_missing(rule_id)
    return row


def show_rule(s: Session, ctx: Context, rule_id: str) -> Rules:
    row = _find_rule(s, ctx, rule_id)
    return Rules([row], _defaults(s, [row.security_group_id]))


def update_rule(s: Session, ctx: Context, rule_id: str, values: Mapping[str, Any]) -> Rules:
    """Describe a rule: its ``description`` is the only attribute a rule may change."""
    row = _find_rule(s, ctx, rule_id)
    group = s.get(nm.SecurityGroup, row.security_group_id)
    policy.enforce(ctx, "update_security_group_rule",
                   {"project_id": group.project_id if group else row.project_id})
    if "description" in values:
        row.description = values["description"]
    standard.touch(row)
    s.flush()
    return show_rule(s, ctx, row.id)


def delete_rule(s: Session, ctx: Context, rule_id: str) -> None:
    row = _find_rule(s, ctx, rule_id)
    group = s.get(nm.SecurityGroup, row.security_group_id)
    policy.enforce(ctx, "delete_security_group_rule",
                   {"project_id": group.project_id if group else row.project_id})
    s.delete(row)
    s.flush()
    changes.changed(s, everywhere=True)


def _bad(message: str, kind: str) -> errors.BadRequest:
    return errors.BadRequest(message, kind=kind)


def _protocol(value: Any) -> str | None:
    """Neutron's protocol conversion: a known name (any case), or 0–255 as text."""
    if value is None or value == "" or (isinstance(value, str) and value.lower() == "any"):
        return None
    names = sorted(set(PROTOCOLS))
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if 0 <= number <= 255:
            return str(number)
    elif isinstance(value, str) and value.lower() in PROTOCOLS:
        return value.lower()
    raise _bad(f"Security group rule protocol {value} not supported. Only protocol values "
               f"{names} and integer representations [0 to 255] are supported.",
               "SecurityGroupRuleInvalidProtocol")


def _number(protocol: str | None) -> int | None:
    if protocol is None:
        return None
    return int(protocol) if protocol.isdigit() else PROTOCOLS[protocol]


def _port(value: Any) -> int | None:
    """A port value as Neutron converts it: None, or an integer 0–65535."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or isinstance(value, float):
            raise ValueError(value)
        number = int(value)
    except (TypeError, ValueError) as e:
        raise _bad(f"Invalid value for port {value}.", "SecurityGroupInvalidPortValue") from e
    if not 0 <= number <= 65535:
        raise _bad(f"Invalid value for port {value}.", "SecurityGroupInvalidPortValue")
    return number


def _port_range(protocol: str | None, low: int | None, high: int | None) -> None:
    if low is None and high is None:
        return
    if protocol is None:
        raise _bad("Must also specify protocol if port range is given.",
                   "SecurityGroupProtocolRequiredWithPorts")
    number = _number(protocol)
    if number in _PORT_PROTOCOLS:
        if low == 0 or high == 0:
            raise _bad("Invalid value for port 0.", "SecurityGroupInvalidPortValue")
        if low is not None and high is not None and low <= high:
            return
        raise _bad("For TCP/UDP protocols, port_range_min must be <= port_range_max",
                   "SecurityGroupInvalidPortRange")
    if number in _ICMP_PROTOCOLS:
        for value, field, attr in ((low, "type", "port_range_min"),
                                   (high, "code", "port_range_max")):
            if value is not None and not 0 <= value <= 255:
                raise _bad(f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 "
                           "to 255.", "SecurityGroupInvalidIcmpValue")
        if low is None and high is not None:
            raise _bad(f"ICMP type (port-range-min) is missing, but ICMP code "
                       f"(port-range-max) {high} is specified.", "SecurityGroupMissingIcmpType")
        return
    if low is not None and low != high:
        raise _bad(f"Invalid protocol {number} for port range, only supported for TCP, UDP, "
                   "UDPLITE, SCTP and DCCP.", "SecurityGroupInvalidProtocolForPortRange")


def _prefix(value: Any, ethertype: str) -> tuple[str | None, str | None]:
    """(remote_ip_prefix as given, its normalized network) after checking it matches the
    ethertype."""
    if value is None:
        return None, None
    try:
        if not isinstance(value, str) or ("/" in value and not value.split("/", 1)[1].isdigit()):
            raise ValueError(value)
        network = ipaddress.ip_network(value, strict=False)
    except ValueError as e:
        raise _bad(f"Invalid input for remote_ip_prefix. Reason: '{value}' is not a valid IP "
                   "prefix.", "InvalidInput") from e
    if "/" not in value:  # a bare address means that one host
        value = f"{value}/{network.prefixlen}"
    if (network.version == 4) != (ethertype == "IPv4"):
        raise _bad(f"Conflicting value ethertype {ethertype} for CIDR {value}",
                   "SecurityGroupRuleParameterConflict")
    return value, str(network)


def _same_remote(prefix: str | None) -> str | None:
    """Duplicates compare the any-address prefix as no prefix, as Neutron does."""
    if prefix is None:
        return None
    network = ipaddress.ip_network(prefix, strict=False)
    return None if network.prefixlen == 0 else str(network)


def _duplicate(s: Session, rule: nm.SecurityGroupRule) -> None:
    for other in s.scalars(select(nm.SecurityGroupRule).where(
            nm.SecurityGroupRule.security_group_id == rule.security_group_id,
            nm.SecurityGroupRule.direction == rule.direction,
            nm.SecurityGroupRule.ethertype == rule.ethertype,
            nm.SecurityGroupRule.id != rule.id)):
        if (_number(other.protocol) == _number(rule.protocol)
                and other.port_range_min == rule.port_range_min
                and other.port_range_max == rule.port_range_max
                and other.remote_group_id == rule.remote_group_id
                and _same_remote(other.remote_ip_prefix) == _same_remote(rule.remote_ip_prefix)):
            raise errors.Conflict(f"Security group rule already exists. Rule id is {other.id}.",
                                  kind="SecurityGroupRuleExists")


def _rule(s: Session, ctx: Context, values: Mapping[str, Any]) -> nm.SecurityGroupRule:
    direction = values.get("direction")
    if direction not in ("ingress", "egress"):
        raise _bad(f"Invalid input for direction. Reason: '{direction}' is not in "
                   "['ingress', 'egress'].", "InvalidInput")
    ethertype = values.get("ethertype", "IPv4")
    for known in ("IPv4", "IPv6"):
        if isinstance(ethertype, str) and ethertype.lower() == known.lower():
            ethertype = known
    if ethertype not in ("IPv4", "IPv6"):
        raise _bad(f"Invalid input for ethertype. Reason: '{ethertype}' is not in "
                   "['IPv4', 'IPv6'].", "InvalidInput")
    protocol = _protocol(values.get("protocol"))
    low, high = _port(values.get("port_range_min")), _port(values.get("port_range_max"))
    group = find_group(s, ctx, values["security_group_id"])
    policy.enforce(ctx, "create_security_group_rule", {"project_id": group.project_id})
    if protocol in _IPV6_ONLY and ethertype == "IPv4":
        raise _bad(f"Invalid ethertype {ethertype} for protocol {protocol}.",
                   "SecurityGroupEthertypeConflictWithProtocol")
    _port_range(protocol, low, high)
    prefix, _ = _prefix(values.get("remote_ip_prefix"), ethertype)
    remote_group = values.get("remote_group_id")
    if prefix is not None and remote_group is not None:
        raise _bad("Only remote_ip_prefix or remote_group_id may be provided.",
                   "SecurityGroupRemoteGroupAndRemoteIpPrefix")
    if values.get("remote_address_group_id") is not None:
        raise _bad("Address groups are not supported.", "InvalidInput")
    if remote_group is not None:
        remote_group = find_group(s, ctx, remote_group).id
    rule = nm.SecurityGroupRule(
        id=str(uuid.uuid4()), security_group_id=group.id, project_id=group.project_id,
        direction=direction, ethertype=ethertype, protocol=protocol, port_range_min=low,
        port_range_max=high, remote_ip_prefix=prefix, remote_group_id=remote_group,
        description=values.get("description", ""))
    _duplicate(s, rule)
    return rule


def create_rules(s: Session, ctx: Context, items: Sequence[Mapping[str, Any]]) -> Rules:
    """Create one or several (bulk) rules, all or none. BadRequest with Neutron's messages for
    a bad direction, ethertype, protocol, port range or prefix; NotFound for an unknown group
    or remote group; Conflict ``SecurityGroupRuleExists`` for a duplicate."""
    made: list[nm.SecurityGroupRule] = []
    for values in items:
        rule = _rule(s, ctx, values)
        quotas.check(s, rule.project_id, "security_group_rule")
        s.add(rule)
        s.flush()
        made.append(rule)
    changes.changed(s, everywhere=True)
    return Rules(made, _defaults(s, sorted({r.security_group_id for r in made})))
