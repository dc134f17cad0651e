"""``/v2.0/extensions``: the Neutron API extensions this cloud really implements.

Helper modules add nothing here at run time: the list is declared, and an alias belongs in it
only when its attributes and calls work end to end.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sausage import errors
from sausage.api import wire

__all__ = ["ROUTES", "EXTENSIONS", "aliases"]

UPDATED = "2026-11-24T00:00:00-00:00"

# alias → (name, description)
EXTENSIONS: dict[str, tuple[str, str]] = {
    "allowed-address-pairs": ("Allowed Address Pairs",
                              "Provides allowed address pairs"),
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external "
                "application"),
    "default-subnetpools": ("Default Subnetpools", "Provides ability to mark and use a "
                            "subnetpool as the default."),
    "external-net": ("Neutron external network", "Adds external network attribute to "
                     "network resource."),
    "dns-domain-ports": ("dns_domain for ports", "Allows the DNS domain to be specified for "
                         "a network port."),
    "dns-integration": ("DNS Integration", "Provides integration with DNS."),
    "dns-integration-domain-keywords": ("DNS domain names with keywords allowed", "Allows to "
                                        "use keywords like <project_id>, <project_name>, "
                                        "<user_id> and <user_name> as DNS domain name"),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode", "Extension of the "
                    "router abstraction for specifying whether SNAT should occur on the "
                    "external gateway"),
    "extraroute": ("Neutron Extra Route", "Extra routes configuration for L3 router"),
    "ip-substring-filtering": ("IP address substring filtering", "Provides IP address "
                               "substring filtering when listing ports"),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource."),
    "net-mtu-writable": ("Network MTU (writable)", "Provides a writable MTU attribute for a "
                         "network resource."),
    "pagination": ("Pagination support", "Extension that indicates that pagination is "
                   "enabled."),
    "port-security": ("Port Security", "Provides port security"),
    "project-id": ("project_id field enabled", "Extension that indicates that project_id "
                   "field is enabled."),
    "provider": ("Provider Network", "Expose mapping of virtual networks to physical "
                 "networks"),
    "quotas": ("Quota management support", "Expose functions for quotas management per "
               "project"),
    "quota_details": ("Quota details management support", "Expose functions for quotas "
                      "usage statistics per project"),
    "router": ("Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 "
               "Neutron networks and access to external networks via a NAT gateway."),
    "security-group": ("security-group", "The security groups extension."),
    "sorting": ("Sorting support", "Extension that indicates that sorting is enabled."),
    "standard-attr-description": ("standard-attr-description", "Extension to add "
                                  "descriptions to standard attributes"),
    "standard-attr-revisions": ("Resource revision numbers", "This extension will display "
                                "the revision number of neutron resources."),
    "tag": ("Tag support", "Enables to set tag on resources."),
    "tag-ext": ("Tag support for resources: subnet, subnetpool, port, router",
                "Extends tag support to more L2 and L3 resources."),
    "standard-attr-tag": ("Tag support for resources with standard attribute: subnet, "
                          "trunk, network_segment_range, router, network, policy, "
                          "subnetpool, port, security_group, floatingip",
                          "Enables to set tag on resources with standard attribute."),
    "standard-attr-timestamp": ("Resource timestamps", "Adds created_at and updated_at "
                                "fields to all Neutron resources that have Neutron standard "
                                "attributes."),
    "subnet-external-network": ("Subnet External Network", "Informs if the subnet is "
                                "visible to every project because its network is external."),
    "subnet_allocation": ("Subnet Allocation", "Enables allocation of subnets from a subnet "
                          "pool"),
}


def aliases() -> list[str]:
    return sorted(EXTENSIONS)


def _body(alias: str) -> dict[str, object]:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description, "updated": UPDATED,
            "links": []}


async def listing(request: Request) -> Response:
    await wire.call(request, lambda s, ctx: None)
    return wire.json({"extensions": [_body(a) for a in aliases()]})


async def show(request: Request) -> Response:
    await wire.call(request, lambda s, ctx: None)
    alias = request.path_params["alias"]
    if alias not in EXTENSIONS:
        raise errors.NotFound(f"Extension with alias {alias} does not exist",
                              kind="HTTPNotFound")
    return wire.json({"extension": _body(alias)})


ROUTES = [
    Route("/extensions", listing, methods=["GET"]),
    Route("/extensions/{alias}", show, methods=["GET"]),
]
