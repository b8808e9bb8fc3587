-- The keys that sign access tokens, shared by every instance. A key's state follows from
-- the times alone, the same on every instance: `next` until `activates_at`, then `active`
-- until the next key activates, then `retiring` while tokens it signed may still be live
-- (the access-token lifetime and a margin), then `retired`.
--
-- `secret` is the key material sealed under a key derived from JWT_SECRET (bound to the
-- kid); NULL means JWT_SECRET itself (the first HS256 key, so a deployment that never
-- rotates signs exactly as before). `public_key` is an EdDSA key's public half
-- (base64url, the JWK `x`), which the JWKS publishes.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL CHECK (alg IN ('HS256', 'EdDSA')),
    secret       TEXT,
    public_key   TEXT,
    created_at   BIGINT NOT NULL,
    activates_at BIGINT NOT NULL
);
