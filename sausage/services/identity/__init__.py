"""Identity (Keystone v3 semantics): users, projects, roles, the catalog and tokens."""
