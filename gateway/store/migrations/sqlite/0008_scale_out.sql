-- Several gateways on one database (issue 10): uncertain sends.

-- Set just before a call to a vendor that honours no idempotency key, cleared when its answer is recorded.
-- A message claimed again with it set was being sent when its process stopped: the vendor may have it.
-- It stays set on a message that ended `unknown` for that reason, so the vendor's lookup can resolve it later.
ALTER TABLE messages ADD COLUMN send_started_at REAL;
