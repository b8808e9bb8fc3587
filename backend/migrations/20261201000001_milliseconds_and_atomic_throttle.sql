-- Times become Unix milliseconds: rotation grace, revocation order and throttle delays are
-- decided on them, and whole seconds made those windows up to a second wrong.
UPDATE users SET created_at = created_at * 1000, disabled_at = disabled_at * 1000;
UPDATE sessions SET created_at = created_at * 1000, last_used_at = last_used_at * 1000,
    expires_at = expires_at * 1000, revoked_at = revoked_at * 1000;
UPDATE refresh_tokens SET issued_at = issued_at * 1000, rotated_at = rotated_at * 1000;

-- Sign-in attempts are now counted *before* the password is checked, as a failure that a
-- success takes back (`attempt` names the rows one attempt wrote), and per device as well
-- as per account and per IP. The old rows (at most a day of failures) are not carried over.
DROP TABLE login_failures;
CREATE TABLE login_failures (
    scope     TEXT NOT NULL CHECK (scope IN ('account', 'device', 'ip')),
    subject   TEXT NOT NULL,
    failed_at BIGINT NOT NULL,
    attempt   TEXT NOT NULL
);
CREATE INDEX login_failures_lookup ON login_failures (scope, subject, failed_at);
CREATE INDEX login_failures_by_attempt ON login_failures (attempt);

-- One row per throttled subject, written first by every attempt on it: the write lock
-- (SQLite) or row lock (PostgreSQL) it takes makes "read the failures, decide, count the
-- attempt" one step for concurrent attempts, on one instance or several.
CREATE TABLE throttle_locks (
    scope      TEXT NOT NULL,
    subject    TEXT NOT NULL,
    touched_at BIGINT NOT NULL,
    PRIMARY KEY (scope, subject)
);
