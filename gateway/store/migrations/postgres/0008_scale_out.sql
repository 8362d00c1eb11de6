-- Several gateways on one database (issue 10): uncertain sends, shared rate limits and circuit breakers.

-- Set just before a call to a vendor that honours no idempotency key, cleared when its answer is recorded.
-- A message claimed again with it set was being sent when its process stopped: the vendor may have it.
-- It stays set on a message that ended `unknown` for that reason, so the vendor's lookup can resolve it later.
ALTER TABLE messages ADD COLUMN send_started_at double precision;

-- One row per vendor product, shared by every gateway process: the rate limiter's theoretical arrival time
-- (generic cell rate algorithm) and the circuit breaker. UNLOGGED: no WAL per update, and a database crash
-- empties it, which only resets the limiter and closes the breakers.
CREATE UNLOGGED TABLE vendor_gates (
    product text PRIMARY KEY,
    -- The next free slot of the rate limit (POSIX seconds).
    tat double precision NOT NULL DEFAULT 0,
    -- Transient failures in a row.
    failures integer NOT NULL DEFAULT 0,
    -- 0: closed. Otherwise open until then, and half-open after it.
    opened_until double precision NOT NULL DEFAULT 0,
    -- Half-open: the one probe call is out until then (a probe whose process died frees it at that time).
    probe_until double precision NOT NULL DEFAULT 0
);
