"""The hosts domain: what each host runs and what it says it runs.

- ``registry``: hosts, their agents' credentials, liveness and the operator's switches;
- ``changes``: the one way to mark hosts changed (their revisions move once, at commit);
- ``document``: each host's desired document, assembled from the sections the other domains
  contribute (``Section``), and its agent's reports folded back through the same sections.

This package imports no other service domain: compute, network and volume hand it their
sections (``sausage.services.runtime`` lists them), and call ``changes.changed``.
"""
