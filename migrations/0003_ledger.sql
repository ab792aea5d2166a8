-- The embedded double-entry ledger (PostgreSQL backend of the ledger port), with
-- TigerBeetle's data model: 128-bit ids as uuid, u128 amounts as numeric(39, 0).

-- Unique, increasing timestamps for accounts and transfers (not wall-clock time; pending
-- timeouts use the database clock, see expires_at_ns).
CREATE SEQUENCE ledger_timestamps;

CREATE TABLE ledger_accounts (
    id uuid PRIMARY KEY,
    ledger bigint NOT NULL CHECK (ledger > 0 AND ledger < 4294967296),
    code integer NOT NULL CHECK (code > 0 AND code < 65536),
    flags integer NOT NULL,
    user_data_128 uuid NOT NULL,
    user_data_64 numeric(20, 0) NOT NULL,
    user_data_32 bigint NOT NULL,
    debits_pending numeric(39, 0) NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted numeric(39, 0) NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending numeric(39, 0) NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted numeric(39, 0) NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    timestamp bigint NOT NULL UNIQUE
);

CREATE TABLE ledger_transfers (
    id uuid PRIMARY KEY,
    debit_account_id uuid NOT NULL,
    credit_account_id uuid NOT NULL,
    amount numeric(39, 0) NOT NULL,
    pending_id uuid NOT NULL,
    user_data_128 uuid NOT NULL,
    user_data_64 numeric(20, 0) NOT NULL,
    user_data_32 bigint NOT NULL,
    timeout bigint NOT NULL,
    ledger bigint NOT NULL,
    code integer NOT NULL,
    flags integer NOT NULL,
    timestamp bigint NOT NULL UNIQUE
);
CREATE INDEX ledger_transfers_debits ON ledger_transfers (debit_account_id, timestamp);
CREATE INDEX ledger_transfers_credits ON ledger_transfers (credit_account_id, timestamp);

-- The state of every pending transfer; expires_at_ns is database-clock nanoseconds.
CREATE TABLE ledger_pending (
    id uuid PRIMARY KEY REFERENCES ledger_transfers (id),
    debit_account_id uuid NOT NULL,
    credit_account_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
    expires_at_ns bigint
);
CREATE INDEX ledger_pending_due ON ledger_pending (expires_at_ns)
    WHERE status = 'pending' AND expires_at_ns IS NOT NULL;

-- Transfer ids rejected for a reason that depends on the ledger's state: such an id is
-- spent and answers `id_already_failed` (TigerBeetle's "orphaned" ids).
CREATE TABLE ledger_failed_transfers (
    id uuid PRIMARY KEY,
    result text NOT NULL
);
