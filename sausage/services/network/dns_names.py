"""Neutron's DNS integration (``dns-integration``, ``dns-domain-ports``,
``dns-integration-domain-keywords``): the names of ports, networks and floating IPs.

Called by ``networks``, ``ports`` and ``floatingips`` to check what a request sets (400
InvalidInput as Neutron words it, before anything is written), by the port view for
``dns_assignment``, by ``desired`` for the names the networks' dnsmasq answers, and by the
DNS service's glue through ``published`` (which names and addresses a port or floating IP
should have in its zone).

The rules (neutron-lib's DNS validators, ML2's dns_integration):
- a domain (network, port, floating IP ``dns_domain``) is an FQDN: it ends with a dot, labels of
  1-63 letters, digits or hyphens (neither first nor last), a TLD not all digits, at most 253
  characters so a name still fits; a label may be a keyword ``<project_id>``,
  ``<project_name>``, ``<user_id>`` or ``<user_name>``, replaced where the name is used;
- a port's ``dns_name`` is a label (a PQDN) or an FQDN under the port's domain; everything is
  lower-cased;
- a port's hostname is its ``dns_name``, else ``host-<address with dashes>``; its fqdn is that
  under its own ``dns_domain``, else its network's, else the cloud's (``Settings.dns_domain``,
  Neutron's ``openstacklocal.``).

The cloud's domain and resolvers reach the services in each session's ``info``
(``session_info``, given to the ``Database`` by the runtime).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sausage import errors
from sausage.config import Settings
from sausage.db.models import identity as im
from sausage.db.models import network as nm
from sausage.services.context import Context

__all__ = ["DEFAULT_DOMAIN", "session_info", "cloud_domain", "cloud_resolvers", "check_domain",
           "check_port_name", "check_floating", "is_name", "host_label", "assignment",
           "port_domain", "expand", "project_names", "Publication", "published"]

DEFAULT_DOMAIN = "openstacklocal."
FQDN_MAX = 255
KEYWORDS = ("project_id", "project_name", "user_id", "user_name")
_LABEL = re.compile(r"([a-z0-9-]{1,63}|" + "|".join(f"<{k}>" for k in KEYWORDS) + ")")


def session_info(settings: Settings) -> dict[str, Any]:
    """What the services read from ``Session.info``: the cloud's DNS domain and resolvers."""
    return {"dns_domain": settings.dns_domain, "dns_resolvers": list(settings.dns_resolvers)}


def cloud_domain(s: Session) -> str:
    value = s.info.get("dns_domain")
    return value if isinstance(value, str) and value else DEFAULT_DOMAIN


def cloud_resolvers(s: Session) -> list[str]:
    value = s.info.get("dns_resolvers")
    return [str(v) for v in value] if isinstance(value, list) else []


# --- checks ----------------------------------------------------------------------------------

def _invalid(field: str, reason: str) -> errors.BadRequest:
    return errors.BadRequest(f"Invalid input for {field}. Reason: {reason}.", kind="InvalidInput")


def _text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(field, f"'{value}' is not a valid string")
    return value.lower()


def _format(data: str) -> str | None:
    """Why ``data`` is no PQDN or FQDN (None: it is one, or empty)."""
    if not data:
        return None
    trimmed = data[:-1] if data.endswith(".") else data
    reason = None
    labels = trimmed.split(".")
    if len(trimmed) > FQDN_MAX:
        reason = f"'{trimmed}' exceeds the {FQDN_MAX} character FQDN limit"
    else:
        for label in labels:
            if not label:
                reason = "Encountered an empty component"
            elif label.startswith("-") or label.endswith("-"):
                reason = f"Name '{label}' must not start or end with a hyphen"
            elif not _LABEL.fullmatch(label):
                reason = (f"Name '{label}' must be 1-63 characters long, each of which can "
                          "only be alphanumeric or a hyphen")
            if reason:
                break
        if reason is None and len(labels) > 1 and labels[-1].isdigit():
            reason = f"TLD '{labels[-1]}' must not be all numeric"
    return None if reason is None else f"'{data}' not a valid PQDN or FQDN. Reason: {reason}"


def is_name(value: str) -> bool:
    """Whether ``value`` may be a port's ``dns_name`` as far as its form goes."""
    return bool(value) and _format(value.lower()) is None


def check_domain(value: Any, field: str = "dns_domain") -> str:
    """A network's, port's or floating IP's ``dns_domain``, lower-cased ('' clears it)."""
    data = _text(field, value)
    if not data:
        return ""
    if not data.endswith("."):
        raise _invalid(field, f"'{data}' is not a FQDN")
    reason = _format(data)
    if reason:
        raise _invalid(field, reason)
    if len(data) > FQDN_MAX - 2:
        raise _invalid(field, f"'{data}' contains {len(data)} characters. Adding a sub-domain "
                       f"will cause it to exceed the maximum length of a FQDN of '{FQDN_MAX}'")
    return data


def check_port_name(value: Any, domain: str) -> str:
    """A port's ``dns_name``: a label, or an FQDN whose higher labels are ``domain`` (the
    port's effective domain, keywords replaced)."""
    data = _text("dns_name", value)
    reason = _format(data)
    if reason:
        raise _invalid("dns_name", reason)
    if not data:
        return ""
    suffix = f".{domain}"
    if not data.endswith("."):
        if len(data) + len(suffix) > FQDN_MAX:
            raise _invalid("dns_name", f"The dns_name passed is a PQDN and its size is "
                           f"'{len(data)}'. The dns_domain '{domain}' has a length of "
                           f"'{len(suffix)}'. When the two are concatenated to form a FQDN "
                           f"(with a '.' at the end), the resulting length exceeds the maximum "
                           f"size of '{FQDN_MAX}'")
        return data
    if len(data) <= len(suffix) or not data.endswith(suffix):
        raise _invalid("dns_name", f"The dns_name passed is a FQDN. Its higher level labels "
                       f"must be equal to the dns_domain '{domain}'. It must also include one "
                       f"or more valid DNS labels to the left of '{domain}'")
    return data


def check_floating(values: Mapping[str, Any]) -> tuple[str, str]:
    """A floating IP's (``dns_name``, ``dns_domain``) at create: a relative name and a
    domain, both or neither."""
    name = _text("dns_name", values.get("dns_name"))
    if name.endswith("."):
        raise _invalid("dns_name", f"'{name}' is a FQDN. It should be a relative domain name")
    reason = _format(name)
    if reason:
        raise _invalid("dns_name", reason)
    if len(name) > FQDN_MAX - 3:
        raise _invalid("dns_name", f"'{name}' contains {len(name)} characters. Adding a domain "
                       f"name will cause it to exceed the maximum length of a FQDN of "
                       f"'{FQDN_MAX}'")
    domain = check_domain(values.get("dns_domain"))
    if domain and not name:
        raise errors.BadRequest("Bad floatingip request: dns_domain cannot be specified "
                                "without a dns_name.", kind="BadRequest")
    if name and not domain:
        raise errors.BadRequest("Bad floatingip request: dns_name cannot be specified "
                                "without a dns_domain.", kind="BadRequest")
    return name, domain


# --- names -----------------------------------------------------------------------------------

def expand(domain: str, project_id: str, project_name: str | None,
           ctx: Context | None = None, user_name: str | None = None) -> str:
    """``domain`` with its keywords replaced; a keyword without a value stays as it is."""
    if "<" not in domain:
        return domain
    values = {"project_id": project_id, "project_name": project_name,
              "user_id": ctx.user_id if ctx is not None else None, "user_name": user_name}
    for key, value in values.items():
        if value:
            domain = domain.replace(f"<{key}>", value.lower())
    return domain


def project_names(s: Session, project_ids: Sequence[str]) -> dict[str, str]:
    """Project id → name, for the projects whose domains name ``<project_name>``."""
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    return dict(s.execute(select(im.Project.id, im.Project.name).where(
        im.Project.id.in_(ids))).tuples().all())


def port_domain(s: Session, port_dns_domain: str, network_dns_domain: str) -> str:
    """The domain a port's names are under (keywords not yet replaced)."""
    return port_dns_domain or network_dns_domain or cloud_domain(s)


def host_label(address: str) -> str:
    return "host-" + address.replace(".", "-").replace(":", "-")


def assignment(dns_name: str, addresses: Sequence[str], domain: str) -> list[dict[str, str]]:
    """Neutron's ``dns_assignment``: per fixed IP its hostname and fqdn."""
    out = []
    for address in addresses:
        hostname = dns_name or host_label(address)
        fqdn = hostname if hostname.endswith(".") else f"{hostname}.{domain}"
        out.append({"hostname": hostname, "ip_address": address, "fqdn": fqdn})
    return out


# --- what the DNS service publishes ----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Publication:
    """One name to publish: ``name`` (relative, as given) in ``domain`` (an FQDN, keywords
    replaced), i.e. ``fqdn``, with an A/AAAA record per address (and a PTR back)."""

    name: str
    domain: str
    fqdn: str
    addresses: list[str]


def _publication(name: str, domain: str, addresses: Sequence[str]) -> Publication | None:
    if not name or not domain or not addresses:
        return None
    relative = name[:-len(domain) - 1] if name.endswith("." + domain) else name.rstrip(".")
    return Publication(relative, domain, f"{relative}.{domain}",
                       sorted(addresses, key=lambda a: (ipaddress.ip_address(a).version,
                                                        int(ipaddress.ip_address(a)))))


def published(s: Session, resource: nm.Port | nm.FloatingIP,
              ctx: Context | None = None) -> Publication | None:
    """What the cloud's DNS should hold for ``resource`` now (None: nothing), as Neutron's
    external DNS integration decides:

    - a floating IP with its own ``dns_name``/``dns_domain``: that name → its address;
      otherwise, while associated, its port's ``dns_name`` under the port's (else network's)
      ``dns_domain`` → the floating address;
    - a port with a ``dns_name`` and a domain (its own, else its network's): that name → its
      fixed IPs, but only on a provider (flat) network that is not external — ports of tenant
      (VXLAN) networks are reached through their floating IPs, as in Neutron.

    ``ctx`` (the caller) fills ``<user_id>`` and ``<user_name>``; project keywords come from the
    resource's project. The glue calls this before and after a change and replaces records."""
    if isinstance(resource, nm.FloatingIP):
        if resource.dns_name and resource.dns_domain:
            return _publication(resource.dns_name, _expanded(s, resource.dns_domain,
                                                             resource.project_id, ctx),
                                [resource.floating_ip_address])
        port = s.get(nm.Port, resource.fixed_port_id) if resource.fixed_port_id else None
        if port is None or not port.dns_name:
            return None
        network = s.get(nm.Network, port.network_id)
        domain = port.dns_domain or (network.dns_domain if network is not None else "")
        return _publication(port.dns_name, _expanded(s, domain, resource.project_id, ctx),
                            [resource.floating_ip_address])
    network = s.get(nm.Network, resource.network_id)
    if network is None or network.external or network.network_type != "flat":
        return None
    domain = resource.dns_domain or network.dns_domain
    addresses = list(s.scalars(select(nm.IPAllocation.ip_address).where(
        nm.IPAllocation.port_id == resource.id)))
    return _publication(resource.dns_name, _expanded(s, domain, resource.project_id, ctx),
                        addresses)


def _expanded(s: Session, domain: str, project_id: str, ctx: Context | None) -> str:
    if not domain:
        return ""
    names = project_names(s, [project_id]) if "<project_name>" in domain else {}
    user = s.get(im.User, ctx.user_id) if ctx is not None and ctx.user_id and \
        "<user_name>" in domain else None
    return expand(domain, project_id, names.get(project_id), ctx,
                  user.name if user is not None else None)
