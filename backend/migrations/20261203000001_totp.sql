-- A second factor: TOTP (RFC 6238) with single-use recovery codes, and the tickets that
-- carry a sign-in from its password to its second step.

-- The TOTP secret, sealed (XChaCha20-Poly1305 under a key derived from the signing
-- secret, bound to the user id). Set by set-up; required at sign-in only once confirmed
-- (`totp_enabled_at`). `totp_last_step` is the newest 30-second step whose code was
-- accepted: a guarded UPDATE of it accepts each code once.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Recovery codes, as SHA-256 hashes; each works once.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- A sign-in whose password was right, waiting for its second factor: the ticket's hash
-- (the ticket itself is only in the browser's `mfa_ticket` cookie), the device cookie it
-- came with, and the tries it has had (each try is counted before its code is checked).
CREATE TABLE mfa_tickets (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_id  TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    tries      BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT
);
CREATE INDEX mfa_tickets_by_expiry ON mfa_tickets (expires_at);
