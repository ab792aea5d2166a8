-- Channel amounts come from the chain in token units; the ledger counts the asset at its
-- scale. The postings projection converts exactly with these two, per channel.

ALTER TABLE ledger_posting_channels
    ADD COLUMN token_decimals smallint NOT NULL DEFAULT 0,
    ADD COLUMN asset_scale smallint NOT NULL DEFAULT 0;
