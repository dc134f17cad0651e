"""Compute (Nova semantics): flavors, keypairs, servers, scheduling, hosts, quotas."""
