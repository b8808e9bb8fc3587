-- Account recovery: verified emails, and the one-time tokens of reset and verification links.

-- When the user proved the address is theirs (a verification or reset link was used);
-- NULL until then, also for accounts created before this migration.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
-- When a verification email was last requested: resending is limited to one a minute,
-- decided atomically by a conditional UPDATE of this column.
ALTER TABLE users ADD COLUMN verification_sent_at BIGINT;

-- The token of each emailed link, as a SHA-256 hash; the token itself is only in the email.
-- A token is used by setting `used_at` in the statement that checks it, so it works once
-- whatever races happen.
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('reset_password', 'verify_email')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_by_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_by_expiry ON account_tokens (expires_at);
