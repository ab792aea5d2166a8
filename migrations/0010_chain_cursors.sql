-- Where the chain watcher has read up to, per chain and token network.

CREATE TABLE chain_cursors (
    chain_id bigint NOT NULL,
    token_network text NOT NULL,
    next_block bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, token_network)
);
