-- The idempotency records of received claims, out of the peer accounts' state (issue 14): one
-- row per credited claim, written in the transaction of its SettlementReceived event. A row is
-- deleted once its channel is settled on chain and it is older than the idempotency window
-- (a claim on a settled channel is refused whatever its id); a row with no channel stays.
CREATE TABLE received_claims (
    account_id uuid NOT NULL,
    claim_id text NOT NULL,
    -- the claim body's hash; '' when credited before fingerprints were kept
    fingerprint text NOT NULL,
    amount numeric NOT NULL,
    -- the Channel aggregate whose proof paid the claim, when known
    channel_id uuid,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, claim_id)
);
CREATE INDEX received_claims_by_age ON received_claims (received_at) WHERE channel_id IS NOT NULL;

-- Claims credited before this table existed are known only from their events: copy them, so a
-- resent claim is still answered as a duplicate. The channel is the one whose proof was
-- accepted in the same save: `credit_claim` saves the channel's PartnerBalanceProofAccepted and
-- then the account's SettlementReceived in one transaction, whose events take consecutive
-- notification ids (the insert locks the table). On a new database the events table does not
-- exist yet.
DO $$
BEGIN
    IF to_regclass('settlementledger_events') IS NOT NULL THEN
        INSERT INTO received_claims
            (account_id, claim_id, fingerprint, amount, channel_id, received_at)
        SELECT e.originator_id,
               s.state ->> 'claim_id',
               coalesce(s.state ->> 'fingerprint', ''),
               (s.state ->> 'amount')::numeric,
               (SELECT c.originator_id FROM settlementledger_events c
                 WHERE c.notification_id = e.notification_id - 1
                   AND c.topic = 'domain.channel:Channel.PartnerBalanceProofAccepted'),
               (s.state #>> '{timestamp,_data_}')::timestamptz
        FROM settlementledger_events e,
             LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS state) s
        WHERE e.topic = 'domain.peer_account:PeerAccount.SettlementReceived'
        ON CONFLICT DO NOTHING;
    END IF;
END
$$;
