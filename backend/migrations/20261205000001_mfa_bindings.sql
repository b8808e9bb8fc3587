-- A sign-in ticket is good only for the password that earned it: the SHA-256 of the
-- password hash its password step checked (a change or reset of the password ends it).
ALTER TABLE mfa_tickets ADD COLUMN password_fingerprint TEXT;

-- A passkey's signature counter, kept apart from the stored credential so that one guarded
-- UPDATE only ever raises it: two sign-ins racing with one counter value (a cloned
-- authenticator) cannot both succeed.
ALTER TABLE passkeys ADD COLUMN sign_count BIGINT NOT NULL DEFAULT 0;
