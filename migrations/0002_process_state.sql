-- State kept by process policies, written in the same transaction as their tracking record.

CREATE TABLE monitor_active_settlements (
    account_id uuid PRIMARY KEY,
    settlement_id uuid NOT NULL
);
