"""The controller's authoritative DNS server: a real PowerDNS it runs and publishes zones into.

Knows nothing of the database or the API. ``published`` holds the desired state as plain frozen
types, ``plan`` computes what PowerDNS must do to hold exactly that, ``powerdns`` talks to its
HTTP API, ``probe`` asks the server itself over DNS, ``reconciler`` runs observe → plan → act →
probe, and ``server`` runs and supervises the ``pdns_server`` process.
"""
