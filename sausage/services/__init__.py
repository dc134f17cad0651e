"""Domain logic: quotas, scheduling, IPAM, identity and policy. No HTTP, no host side effects.

Functions here take a database session and a ``Context`` (who is asking) and raise
``sausage.errors`` exceptions; the API layer renders what they return.
"""
