"""Images (Glance v2 semantics): records, visibility and sharing, data in a file store."""
