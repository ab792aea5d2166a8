-- Leadership among instances on one database: the holder of an advisory lock leads and bumps
-- the epoch when it takes over; a former leader that finds a newer epoch stops acting (fencing).
CREATE TABLE node_leadership (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    epoch bigint NOT NULL DEFAULT 0,
    holder text,
    acquired_at timestamptz
);
INSERT INTO node_leadership (id, epoch) VALUES (1, 0);
