-- The fraud rules follower: each peer account's (and channel's) risk state, kept beside the
-- follower's tracking row so both advance together, and every finding, for the risk score.
CREATE TABLE fraud_state (
    key text PRIMARY KEY,
    state jsonb NOT NULL
);
CREATE TABLE fraud_findings (
    finding_id text PRIMARY KEY,
    position bigint NOT NULL,
    account_id uuid NOT NULL,
    peer_id text NOT NULL,
    asset_code text NOT NULL,
    rule text NOT NULL,
    action text NOT NULL,
    facts jsonb NOT NULL,
    weight smallint NOT NULL,  -- risk score points, as the rule's settings said when found
    at timestamptz NOT NULL
);
CREATE INDEX fraud_findings_by_account_time ON fraud_findings (account_id, at);
CREATE INDEX fraud_findings_by_time ON fraud_findings (at);
