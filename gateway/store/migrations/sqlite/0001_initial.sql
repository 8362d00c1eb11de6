-- Messages, their attempts and timeline events, and the idempotency keys of ingest.
-- Times are POSIX seconds (REAL); JSON columns hold msgspec-encoded text.

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    vendor TEXT NOT NULL,
    status TEXT NOT NULL,
    user_id TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    campaign_id TEXT,
    dispatch_id TEXT,
    canvas_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    next_attempt_at REAL,
    lease_until REAL,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    vendor_message_id TEXT,
    vendor_request TEXT,
    message TEXT NOT NULL,
    raw_body BLOB NOT NULL,
    parent_id TEXT,
    child_id TEXT
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
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    started_at REAL NOT NULL,
    duration_ms REAL NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    vendor_code TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX attempts_message ON attempts (message_id, id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX events_message ON events (message_id, id);

CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    created_at REAL NOT NULL
);
CREATE INDEX idempotency_keys_message ON idempotency_keys (message_id);
