"""Sausage Cloud: a small private IaaS cloud with OpenStack-compatible APIs."""

__version__ = "0.1.0"
