-- Support console (issue 5): replay restarts the retry budget, window statistics, failure dashboard, audit log.

-- A staff replay restarts the retry budget from here instead of created_at.
ALTER TABLE messages ADD COLUMN replayed_at double precision;

-- Counts by status, channel and vendor over a time window: an index-only range scan.
CREATE INDEX messages_window ON messages (created_at, status, channel, vendor);

-- Recent failures by vendor code: only failed attempts, in time order.
CREATE INDEX attempts_failed ON attempts (started_at, message_id) WHERE outcome <> 'accepted';

-- Who revealed, replayed or erased what, and when; newest first by id.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at double precision NOT NULL,
    staff text NOT NULL,
    role text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    detail text NOT NULL
);
