-- The audit log: who did what, when, from where. Never a secret (no password, token, code
-- or link); the user agent is truncated like a session's. Rows are kept a year.
CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    action     TEXT NOT NULL,
    user_id    TEXT,
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT
);
CREATE INDEX audit_events_by_at ON audit_events (at);
CREATE INDEX audit_events_by_user ON audit_events (user_id, at);
