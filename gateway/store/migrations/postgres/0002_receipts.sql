-- Delivery receipts (issue 4): vendor callbacks and polls, the Braze feedback outbox, and the indexes that find
-- accepted messages still waiting for their receipt.

-- One row per vendor event, whatever became of it: nothing a vendor reports is dropped.
CREATE TABLE receipts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor text NOT NULL,
    event_id text NOT NULL,
    outcome text NOT NULL,
    correlation_id text,
    vendor_message_id text,
    code text,
    detail text NOT NULL,
    occurred_at double precision,
    received_at double precision NOT NULL,
    -- pending, applied, progress, late or unmatched
    state text NOT NULL,
    message_id text REFERENCES messages (id) ON DELETE CASCADE,
    settled_at double precision,
    -- Pending receipts only: when to try matching again (a claim pushes it past its lease).
    next_try_at double precision,
    tries integer NOT NULL DEFAULT 0
);
-- Deduplication by the vendor's event id.
CREATE UNIQUE INDEX receipts_event ON receipts (vendor, event_id);
-- The applier's claim reads pending receipts in due order with a LIMIT.
CREATE INDEX receipts_pending ON receipts (next_try_at, id) WHERE state = 'pending';
-- A message's receipts, for the support detail view.
CREATE INDEX receipts_message ON receipts (message_id, id) WHERE message_id IS NOT NULL;

-- Final states to report to Braze: at most one row per (message, state), marked sent after Braze took it.
CREATE TABLE braze_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    state text NOT NULL,
    vendor_code text,
    at double precision NOT NULL,
    next_try_at double precision NOT NULL,
    tries integer NOT NULL DEFAULT 0,
    sent_at double precision,
    UNIQUE (message_id, state)
);
CREATE INDEX braze_outbox_due ON braze_outbox (next_try_at, id) WHERE sent_at IS NULL;

-- The unknown sweep: accepted messages of a channel, oldest acceptance (updated_at) first.
CREATE INDEX messages_accepted ON messages (channel, updated_at) WHERE status = 'accepted';
-- The index of polled results is created by 0007_polled_receipts (this one once created a narrower one that
-- 0007 replaces, so databases migrated before and after end up the same).
