-- Polled receipts as a vendor capability (issue 8): the result poll index covers every vendor and channel, and a
-- receipt keeps the reason its vendor's parser gave it.

-- Accepted messages of one (vendor, channel) whose results are polled, by next poll time (kept in
-- next_attempt_at, which nothing else reads for an accepted message; NULL until the first poll).
DROP INDEX IF EXISTS messages_result_poll;
CREATE INDEX messages_result_poll ON messages (vendor, channel, next_attempt_at, updated_at)
    WHERE status = 'accepted';

-- delivered, pending, unreachable, retry_later, blocked, invalid, bounced or other; NULL for receipts stored
-- before reasons were (the vendor's mapping of their code gives it).
ALTER TABLE receipts ADD COLUMN reason TEXT;
