"""The per-host agent: watch desired state → observe the host → plan (pure) → act (drivers) →
report. It talks to the API's internal endpoints only; it never imports api, services or db."""
