"""Network domain logic (Neutron v2.0): networks, subnets, IPAM, ports, security groups,
routers, floating IPs, and the networking half of each host's desired state."""
