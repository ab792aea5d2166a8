-- Checkpoints of the read models at exact positions of the event log: a point-in-time query
-- restores the nearest one at or below its position and replays only the events after it.
-- Each table's rows are kept as one JSONB array; `columns` fingerprints the read-model tables'
-- columns when the checkpoint was taken, so one taken before a migration changed them is never
-- restored into tables of another shape.
CREATE TABLE read_model_checkpoints (
    position bigint PRIMARY KEY CHECK (position > 0),
    columns text NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE read_model_checkpoint_rows (
    position bigint NOT NULL REFERENCES read_model_checkpoints (position) ON DELETE CASCADE,
    table_name text NOT NULL,
    rows jsonb NOT NULL,
    PRIMARY KEY (position, table_name)
);
