-- RFC 0038: engine-instructed settlements released to payable that the engine has still to try
-- again, each with the time its retry is due (decided from recorded events; see
-- application/engine_retries.py). A row leaves once its retry is requested or not needed.
CREATE TABLE engine_settlement_retries (
    settlement_id uuid PRIMARY KEY,
    account_id uuid NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error text
);
CREATE INDEX engine_settlement_retries_due ON engine_settlement_retries (next_attempt_at);
