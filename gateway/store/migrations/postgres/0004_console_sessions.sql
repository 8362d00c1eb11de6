-- Console sessions held server-side (issue 18): sign-out deletes the row, and every console request checks it,
-- so a copied cookie ends with its session in every gateway process sharing this database.
-- id is a SHA-256 of the session's random id: the table alone cannot be turned into cookies.
CREATE TABLE console_sessions (
    id text PRIMARY KEY,
    staff text NOT NULL,
    created_at double precision NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
