-- A channel's idempotency records and transaction history, out of its state (issue 14).
-- channel_observed_logs: one row per chain log a fact was recorded from, written in the
-- transaction of the fact's event (tx_hash in lower case, as logs are compared). No retention:
-- a channel has a handful of logs. channel_transactions: every transaction recorded for a
-- channel, inserted with its TransactionSigned event, its outcome set with the event that
-- confirms or drops it (succeeded NULL while pending).
CREATE TABLE channel_observed_logs (
    channel_id uuid NOT NULL,
    tx_hash text NOT NULL,
    log_index int NOT NULL,
    PRIMARY KEY (channel_id, tx_hash, log_index)
);

CREATE TABLE channel_transactions (
    channel_id uuid NOT NULL,
    tx_hash text NOT NULL,
    purpose text NOT NULL,
    raw_transaction text NOT NULL,
    sender text NOT NULL,
    nonce bigint NOT NULL,
    signed_version int NOT NULL,
    succeeded boolean,
    dropped boolean NOT NULL DEFAULT false,
    PRIMARY KEY (channel_id, tx_hash)
);
CREATE INDEX channel_transactions_by_purpose
    ON channel_transactions (channel_id, purpose, signed_version);

-- Logs and transactions recorded before these tables existed are known only from their events:
-- copy them, so a log seen again, or a transaction confirmed again, is still recognised. On a
-- new database the events table does not exist yet.
DO $$
BEGIN
    IF to_regclass('settlementledger_events') IS NOT NULL THEN
        INSERT INTO channel_observed_logs (channel_id, tx_hash, log_index)
        SELECT e.originator_id, lower(s.state ->> 'tx_hash'), (s.state ->> 'log_index')::int
        FROM settlementledger_events e,
             LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS state) s
        WHERE e.topic IN (
            'domain.channel:Channel.Opened',
            'domain.channel:Channel.DepositObserved',
            'domain.channel:Channel.Closed',
            'domain.channel:Channel.Settled',
            'domain.channel:Channel.CloserProofUpdated'
        )
        ON CONFLICT DO NOTHING;

        INSERT INTO channel_transactions
            (channel_id, tx_hash, purpose, raw_transaction, sender, nonce, signed_version)
        SELECT e.originator_id, s.state ->> 'tx_hash', s.state ->> 'purpose',
               s.state ->> 'raw_transaction', s.state ->> 'sender',
               (s.state ->> 'nonce')::bigint, e.originator_version
        FROM settlementledger_events e,
             LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS state) s
        WHERE e.topic = 'domain.channel:Channel.TransactionSigned'
        ON CONFLICT DO NOTHING;

        -- Outcomes in event order: a transaction is confirmed or dropped once.
        UPDATE channel_transactions t
        SET succeeded = CASE WHEN o.topic = 'domain.channel:Channel.TransactionDropped'
                             THEN false ELSE (o.state ->> 'succeeded')::boolean END,
            dropped = o.topic = 'domain.channel:Channel.TransactionDropped'
        FROM (
            SELECT e.originator_id, e.topic, convert_from(e.state, 'UTF8')::jsonb AS state
            FROM settlementledger_events e
            WHERE e.topic IN (
                'domain.channel:Channel.TransactionConfirmed',
                'domain.channel:Channel.TransactionDropped'
            )
        ) o
        WHERE t.channel_id = o.originator_id AND t.tx_hash = o.state ->> 'tx_hash';
    END IF;
END
$$;
