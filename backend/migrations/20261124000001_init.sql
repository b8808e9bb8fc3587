-- Portable SQL: the same migration runs on SQLite and PostgreSQL.
-- Times are Unix seconds (BIGINT); ids are random UUID strings.

-- Accounts. `email` holds the canonical form (trimmed, NFKC, lower-cased; see
-- shared::validation), so UNIQUE makes the canonical form unique.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    -- argon2id PHC string; the parameters travel with the hash.
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    BIGINT NOT NULL,
    -- Set by `backend user disable`; a disabled account cannot sign in or refresh.
    disabled_at   BIGINT
);

-- One row per login. A session ends at `expires_at` (absolute, fixed at login) or when
-- revoked. Access tokens carry the session id (`sid`), so revoking a session revokes them.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    -- Every instance polls for recent revocations by this column to reject access
    -- tokens of revoked sessions without a database read per request.
    revoked_at   BIGINT,
    user_agent   TEXT,
    ip           TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_revoked_at ON sessions (revoked_at);

-- Every refresh token a session has been given, as a SHA-256 hash; the token itself is
-- never stored. The current one has `rotated_at` NULL; older ones are kept so that a
-- replay of any of them is recognised as reuse.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);
-- At most one usable refresh token per session, whatever races happen.
CREATE UNIQUE INDEX refresh_tokens_one_current ON refresh_tokens (session_id) WHERE rotated_at IS NULL;

-- Failed logins, counted per account (canonical email, whether or not it exists) and per
-- client IP, in the database so that limits hold across instances.
CREATE TABLE login_failures (
    scope     TEXT NOT NULL CHECK (scope IN ('account', 'ip')),
    subject   TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_lookup ON login_failures (scope, subject, failed_at);
