"""DNS as a service (Designate v2): zones, recordsets, quotas, and the state the publisher
moves (``state``). The database is the truth; PowerDNS serves what was published."""
