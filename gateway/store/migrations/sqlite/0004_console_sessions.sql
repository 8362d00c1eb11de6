-- Console sessions held server-side (issue 18): sign-out deletes the row, and every console request checks it,
-- so a copied cookie ends with its session in every gateway process sharing this database.
-- id is a SHA-256 of the session's random id: the table alone cannot be turned into cookies.
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY,
    staff TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
