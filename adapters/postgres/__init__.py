"""PostgreSQL: the one store for events, read models and the embedded ledger backend."""
