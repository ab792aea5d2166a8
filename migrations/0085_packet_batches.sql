-- The idempotency records of packet batches, out of the peer accounts' state (issue 14): one
-- row per recorded batch, written in the transaction of its PacketsRecorded event, deleted once
-- older than the idempotency window (made_at index). `result` holds what a replay answers with
-- (totals, whether it crossed the threshold, the account's version right after it).
CREATE TABLE packet_batches (
    account_id uuid NOT NULL,
    batch_id text NOT NULL,
    digest text NOT NULL,
    result jsonb NOT NULL,
    made_at timestamptz NOT NULL,
    -- false: the batch came without made_at, so a replay of it has no age to be refused by;
    -- its record is kept for good rather than let a late replay be recorded twice.
    expires boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, batch_id)
);
CREATE INDEX packet_batches_expiring ON packet_batches (made_at) WHERE expires;

-- Batches recorded before this table existed are known only from their events: copy them, so
-- a replay of one is still recognised (until it leaves the window, like any other). Their
-- made-at is the event's time. On a new database the events table does not exist yet.
DO $$
BEGIN
    IF to_regclass('settlementledger_events') IS NOT NULL THEN
        INSERT INTO packet_batches (account_id, batch_id, digest, result, made_at, expires)
        SELECT e.originator_id,
               s.state ->> 'batch_id',
               s.state ->> 'digest',
               jsonb_build_object(
                   'version', e.originator_version,
                   'incoming_total', (s.state ->> 'incoming_total')::numeric,
                   'outgoing_total', (s.state ->> 'outgoing_total')::numeric,
                   'threshold_crossed', EXISTS (
                       SELECT 1 FROM settlementledger_events c
                       WHERE c.originator_id = e.originator_id
                         AND c.originator_version = e.originator_version + 1
                         AND c.topic = 'domain.peer_account:PeerAccount.SettlementThresholdCrossed'
                   )
               ),
               (s.state #>> '{timestamp,_data_}')::timestamptz,
               false
        FROM settlementledger_events e,
             LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS state) s
        WHERE e.topic = 'domain.peer_account:PeerAccount.PacketsRecorded'
        ON CONFLICT DO NOTHING;
    END IF;
END
$$;
