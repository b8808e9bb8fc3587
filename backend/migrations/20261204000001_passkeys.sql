-- Passkeys (WebAuthn discoverable credentials), and the state of WebAuthn ceremonies kept
-- between their start and finish, so that the two may reach different instances.

-- The user handle that passkeys carry (a random UUID, never the email or the user id),
-- given at the first passkey registration.
ALTER TABLE users ADD COLUMN webauthn_user_id TEXT;
CREATE UNIQUE INDEX users_by_webauthn_user_id ON users (webauthn_user_id);

-- One row per passkey: our id, the credential id (base64url, unique across users), the
-- name the user gave it, and the credential as webauthn-rs keeps it (public key, counter).
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- A ceremony in progress, keyed by its challenge (which the browser's answer carries back
-- in clientDataJSON); taken with DELETE … RETURNING, so each is finished at most once.
CREATE TABLE webauthn_ceremonies (
    challenge  TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('register', 'login')),
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies (expires_at);
