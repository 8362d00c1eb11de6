-- Messages, their attempts and timeline events, and the idempotency keys of ingest.
-- Times are POSIX seconds (double precision), the same as the models.

CREATE TABLE messages (
    id text PRIMARY KEY,
    idempotency_key text NOT NULL,
    channel text NOT NULL,
    vendor text NOT NULL,
    status text NOT NULL,
    user_id text NOT NULL,
    phone text,
    email text,
    campaign_id text,
    dispatch_id text,
    canvas_id text,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    next_attempt_at double precision,
    lease_until double precision,
    attempt_count integer NOT NULL DEFAULT 0,
    vendor_message_id text,
    vendor_request jsonb,
    message jsonb NOT NULL,
    raw_body bytea NOT NULL,
    parent_id text,
    child_id text
);

-- The claim reads these two in due order with a LIMIT: an index range scan, never the whole queue.
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status IN ('queued', 'retrying', 'held');
CREATE INDEX messages_lease ON messages (lease_until) WHERE status = 'sending';

-- Support search: one filter column, then newest first by (created_at, id).
CREATE INDEX messages_created ON messages (created_at, id);
CREATE INDEX messages_user ON messages (user_id, created_at, id);
CREATE INDEX messages_status ON messages (status, created_at, id);
CREATE INDEX messages_channel ON messages (channel, created_at, id);
CREATE INDEX messages_vendor ON messages (vendor, created_at, id);
CREATE INDEX messages_phone ON messages (phone, created_at, id) WHERE phone IS NOT NULL;
CREATE INDEX messages_email ON messages (email, created_at, id) WHERE email IS NOT NULL;
CREATE INDEX messages_campaign ON messages (campaign_id, created_at, id) WHERE campaign_id IS NOT NULL;
CREATE INDEX messages_dispatch ON messages (dispatch_id, created_at, id) WHERE dispatch_id IS NOT NULL;
-- Receipts match on the vendor's message id.
CREATE INDEX messages_vendor_message ON messages (vendor_message_id) WHERE vendor_message_id IS NOT NULL;

CREATE TABLE attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    number integer NOT NULL,
    started_at double precision NOT NULL,
    duration_ms double precision NOT NULL,
    outcome text NOT NULL,
    http_status integer,
    vendor_code text,
    detail text NOT NULL
);
CREATE INDEX attempts_message ON attempts (message_id, id);

CREATE TABLE events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    at double precision NOT NULL,
    status text NOT NULL,
    reason text NOT NULL
);
CREATE INDEX events_message ON events (message_id, id);

-- The key row is written before its message in the same statement, so the reference is checked at commit.
CREATE TABLE idempotency_keys (
    key text PRIMARY KEY,
    message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    created_at double precision NOT NULL
);
CREATE INDEX idempotency_keys_message ON idempotency_keys (message_id);
