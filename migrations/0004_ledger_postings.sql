-- State of the ledger postings projection, advanced in the same transaction as its
-- tracking record: which peer and asset each peer account is, each channel's owner and
-- our deposit so far, and the pending transfer that holds each settlement.

CREATE TABLE ledger_posting_accounts (
    account_id uuid PRIMARY KEY,
    peer_id text NOT NULL,
    asset_code text NOT NULL
);

CREATE TABLE ledger_posting_channels (
    channel_id uuid PRIMARY KEY,
    peer_id text NOT NULL,
    asset_code text NOT NULL,
    our_address text NOT NULL,
    our_deposit numeric(78, 0) NOT NULL DEFAULT 0
);

CREATE TABLE ledger_posting_holds (
    settlement_id uuid PRIMARY KEY,
    account_id uuid NOT NULL,
    pending_id uuid NOT NULL,
    amount numeric(39, 0) NOT NULL
);
