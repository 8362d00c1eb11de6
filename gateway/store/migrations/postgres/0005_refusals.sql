-- Refused ingests (issue 11): each 4xx answered to Braze but 401 is kept for support, with its field errors,
-- Braze ids and user id and the body with phone numbers and emails masked. The message tables are untouched.

CREATE TABLE refusals (
    id text PRIMARY KEY,
    created_at double precision NOT NULL,
    http_status integer NOT NULL,
    detail text NOT NULL,
    -- JSON: [{"field", "message"}]
    errors text NOT NULL,
    user_id text,
    channel text,
    -- The recipient as ingest would have stored it, so support can search by it; erasure clears both.
    phone text,
    email text,
    campaign_id text,
    dispatch_id text,
    -- JSON: the Braze ids given (BrazeContext)
    braze text NOT NULL,
    content_type text NOT NULL,
    -- The body as received with personal data masked (or a note when it was too large to keep).
    body text NOT NULL,
    -- A 409: the message the reused idempotency key belongs to.
    message_id text
);

-- The same search as the messages': one filter column, then newest first by (created_at, id).
CREATE INDEX refusals_created ON refusals (created_at, id);
CREATE INDEX refusals_user ON refusals (user_id, created_at, id) WHERE user_id IS NOT NULL;
CREATE INDEX refusals_phone ON refusals (phone, created_at, id) WHERE phone IS NOT NULL;
CREATE INDEX refusals_email ON refusals (email, created_at, id) WHERE email IS NOT NULL;
CREATE INDEX refusals_campaign ON refusals (campaign_id, created_at, id) WHERE campaign_id IS NOT NULL;
CREATE INDEX refusals_dispatch ON refusals (dispatch_id, created_at, id) WHERE dispatch_id IS NOT NULL;
CREATE INDEX refusals_channel ON refusals (channel, created_at, id) WHERE channel IS NOT NULL;
