"""Pure planners: (desired, observed) → actions, unit-tested with plain data."""
