"""The domain: aggregates, their events and invariants. Pure: no I/O, no clock, no randomness."""
