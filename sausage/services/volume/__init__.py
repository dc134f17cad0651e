"""Block storage (Cinder v3): volumes, snapshots, types, attachments, quotas; and the volume
half of the host contract (``desired``: what each volume host must hold, and its reports)."""
