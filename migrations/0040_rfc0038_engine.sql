-- RFC 0038 settlement engine: responses kept per idempotency key (for at least the retention
-- window since the key was last used), the engine accounts by peer account, and the incoming
-- settlements the connector has still to acknowledge, with their persisted retry schedule.
CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    status integer,
    body bytea,
    content_type text,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_last_seen ON idempotency_keys (last_seen);

CREATE TABLE engine_accounts (
    peer_account_id uuid PRIMARY KEY,
    engine_id uuid NOT NULL,
    account_id text NOT NULL,
    asset_scale integer NOT NULL
);

CREATE TABLE engine_notices (
    key text PRIMARY KEY,
    engine_id uuid NOT NULL,
    account_id text NOT NULL,
    amount numeric(80, 0) NOT NULL,
    scale integer NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error text
);
CREATE INDEX engine_notices_due ON engine_notices (next_attempt_at);
