-- Tamper evidence for the event store: the events table refuses UPDATE, DELETE and TRUNCATE,
-- and every event, in global order, gets a hash chaining the previous one (written by the
-- `event_chain` follower, projections/event_chain.py). Anchors keep chain heads that were
-- handed out, so a chain rewritten after an edit is still caught.

-- Migrations run before the application creates its tables, so on a fresh database the events
-- table is created here, with exactly the eventsourcing library's DDL (it uses IF NOT EXISTS
-- too, so whichever runs first wins and the other is a no-op).
CREATE TABLE IF NOT EXISTS public.settlementledger_events (originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text, state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version)) WITH (    autovacuum_enabled = true,    autovacuum_vacuum_threshold = 100000000,    autovacuum_vacuum_scale_factor = 0.5,    autovacuum_analyze_threshold = 1000,    autovacuum_analyze_scale_factor = 0.01);
CREATE UNIQUE INDEX IF NOT EXISTS settlementledger_events_notification_id_idx ON public.settlementledger_events (notification_id ASC);

-- Append-only: changing or removing a recorded row takes a deliberate
-- `ALTER TABLE ... DISABLE TRIGGER`, which needs the table owner's privileges.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER settlementledger_events_append_only
    BEFORE UPDATE OR DELETE ON public.settlementledger_events
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER settlementledger_events_no_truncate
    BEFORE TRUNCATE ON public.settlementledger_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- One row per chained event. event_hash covers the event's row; chain_hash is
-- sha256(previous chain_hash || event_hash). recorded_at (the event's own timestamp) is an index
-- for as-of queries, not evidence: it is inside the hashed state already.
CREATE TABLE audit_event_chain (
    position bigint PRIMARY KEY,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text NOT NULL,
    recorded_at timestamptz,
    event_hash bytea NOT NULL,
    chain_hash bytea NOT NULL
);
CREATE INDEX audit_event_chain_originator ON audit_event_chain (originator_id, originator_version);
CREATE INDEX audit_event_chain_recorded_at ON audit_event_chain (recorded_at);

CREATE TRIGGER audit_event_chain_append_only
    BEFORE UPDATE OR DELETE ON audit_event_chain
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();

-- Chain heads handed out (printed, exported, sent elsewhere): `settle verify` checks each.
CREATE TABLE audit_anchors (
    position bigint PRIMARY KEY,
    chain_hash bytea NOT NULL,
    anchored_at timestamptz NOT NULL DEFAULT now(),
    note text NOT NULL DEFAULT ''
);

CREATE TRIGGER audit_anchors_append_only
    BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
