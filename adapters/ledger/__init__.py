"""The double-entry ledger: one port, a TigerBeetle and a PostgreSQL backend."""
