"""Side-effecting drivers the agent acts through (QEMU/QMP, netlink, nftables, dnsmasq, storage)."""
