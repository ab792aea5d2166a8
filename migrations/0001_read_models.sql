-- Read models maintained by projections, and the tracking table that makes each
-- event apply exactly once per projection.

CREATE TABLE projection_tracking (
    projection text PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE balances (
    account_id uuid PRIMARY KEY,
    peer_id text NOT NULL,
    asset_code text NOT NULL,
    asset_scale smallint NOT NULL,
    peer_address text,
    payable numeric(40, 0) NOT NULL DEFAULT 0,
    receivable numeric(40, 0) NOT NULL DEFAULT 0,
    in_flight numeric(40, 0) NOT NULL DEFAULT 0,
    paused boolean NOT NULL DEFAULT false,
    last_settlement_id uuid,
    last_settlement_at timestamptz,
    version bigint NOT NULL,
    UNIQUE (peer_id, asset_code)
);

CREATE TABLE channels (
    channel_id uuid PRIMARY KEY,
    peer_id text NOT NULL,
    asset_code text NOT NULL,
    chain_id bigint NOT NULL,
    token_network text NOT NULL,
    our_address text NOT NULL,
    partner_address text NOT NULL,
    onchain_id text,
    channel_key text NOT NULL,
    state text NOT NULL,
    abandoned boolean NOT NULL DEFAULT false,
    our_deposit numeric(78, 0) NOT NULL DEFAULT 0,
    partner_deposit numeric(78, 0) NOT NULL DEFAULT 0,
    our_nonce bigint NOT NULL DEFAULT 0,
    our_transferred numeric(78, 0) NOT NULL DEFAULT 0,
    partner_nonce bigint NOT NULL DEFAULT 0,
    partner_transferred numeric(78, 0) NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE INDEX channels_peer ON channels (peer_id, asset_code);
CREATE INDEX channels_pair ON channels (chain_id, token_network, lower(partner_address));
CREATE INDEX channels_onchain ON channels (chain_id, token_network, onchain_id);

CREATE TABLE settlements (
    settlement_id uuid PRIMARY KEY,
    account_id uuid NOT NULL,
    peer_id text NOT NULL,
    asset_code text NOT NULL,
    amount numeric(40, 0) NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error text,
    rail text,
    resolution text,
    channel_id uuid,
    nonce bigint,
    tx_hash text,
    requested_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    completed_at timestamptz,
    version bigint NOT NULL
);
CREATE INDEX settlements_status ON settlements (status, updated_at);
CREATE INDEX settlements_peer ON settlements (peer_id, asset_code);
