//! The signing keys: a set in the database shared by every instance, each key `next`,
//! `active`, `retiring` or `retired` by the times alone, so every instance agrees without
//! coordination and picks up a rotation at its next poll (every second).
//!
//! With `HS256` the first key is `JWT_SECRET` itself (nothing stored but its id); keys
//! made by rotation, and every `EdDSA` private key, are random and stored sealed under a
//! key derived from `JWT_SECRET`, bound to their `kid`. A rotation publishes the new key at
//! once and lets it sign only after `KEY_PUBLISH_DELAY`, so that every instance and every
//! JWKS cache knows it before a token signed with it arrives; the key it replaces verifies
//! until the last token it signed has expired.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::jwt::{JwtKeys, Key, KeySet, LEEWAY_SECS};
use crate::clock::millis;
use crate::crypto::{Sealer, derive_key};
use crate::store::{SigningKeyRow, Store};

/// How often each instance reads the key set.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// `JWT_ALG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyAlgorithm {
    /// HMAC-SHA256 with a shared secret.
    #[value(name = "HS256")]
    Hs256,
    /// Ed25519 signatures; the public keys are at `/.well-known/jwks.json`.
    #[value(name = "EdDSA")]
    EdDsa,
}

impl KeyAlgorithm {
    /// The JWT `alg`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet.
    Next,
    /// Signing.
    Active,
    /// Replaced; verifies the tokens it signed until they have expired.
    Retiring,
    /// Verifies nothing.
    Retired,
}

impl KeyState {
    /// Its name in `keys list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }
}

/// The key set's keeper (cheap to clone).
#[derive(Clone)]
pub struct SigningKeys {
    /// The database.
    pub store: Store,
    /// Seals key material.
    sealer: Arc<Sealer>,
    /// `JWT_SECRET`, the first HS256 key.
    secret: Arc<Vec<u8>>,
    /// The algorithm of keys made here (`JWT_ALG`).
    pub algorithm: KeyAlgorithm,
    /// How long a key is retiring after its successor activates: the access-token
    /// lifetime and the leeway for clocks.
    retire_after_ms: i64,
}

impl SigningKeys {
    /// The keeper for `secret` (`JWT_SECRET`).
    pub fn new(
        store: Store,
        secret: &[u8],
        algorithm: KeyAlgorithm,
        access_token_ttl: Duration,
    ) -> Self {
        Self {
            store,
            sealer: Arc::new(Sealer::new(&derive_key(secret, b"signing key sealing"))),
            secret: Arc::new(secret.to_vec()),
            algorithm,
            retire_after_ms: millis(access_token_ttl) + LEEWAY_SECS * 1000,
        }
    }

    /// The first key of a database that has none: `JWT_SECRET` itself with `HS256`, a new
    /// Ed25519 key with `EdDSA`; active at once. Also when no stored key opens with this
    /// `JWT_SECRET` (it was changed, as after a leak): then a key of this secret signs from
    /// now, and every token of the old secret is refused.
    pub async fn bootstrap(&self, now: i64) -> anyhow::Result<()> {
        let rows = self.store.signing_keys().await?;
        if !rows.is_empty() {
            if self.build(&rows).signing(now).is_some() {
                return Ok(());
            }
            tracing::warn!(
                "no stored signing key opens with this JWT_SECRET: a new key signs from now"
            );
            let mut key = self.first_key(now);
            key.activates_at = now;
            self.store.insert_signing_key(&key, false).await?;
            return Ok(());
        }
        self.create_first(now).await
    }

    /// The first key, if the database has none yet (and nothing otherwise).
    pub async fn create_first(&self, now: i64) -> anyhow::Result<()> {
        self.store
            .insert_signing_key(&self.first_key(now), true)
            .await?;
        Ok(())
    }

    /// The key a new database starts with, active from the beginning of time.
    fn first_key(&self, now: i64) -> SigningKeyRow {
        match self.algorithm {
            KeyAlgorithm::Hs256 => SigningKeyRow {
                kid: secret_key_id(&self.secret),
                alg: KeyAlgorithm::Hs256.as_str().to_owned(),
                secret: None,
                public_key: None,
                created_at: now,
                activates_at: 0,
            },
            KeyAlgorithm::EdDsa => self.new_key(now, 0),
        }
    }

    /// A new random key of the configured algorithm that signs from `now + delay`;
    /// returns it. Refused unless the key signing now opens with this `JWT_SECRET`: a key
    /// sealed under another secret would be a key no instance can use.
    pub async fn rotate(&self, now: i64, delay: Duration) -> anyhow::Result<SigningKeyRow> {
        let rows = self.store.signing_keys().await?;
        let active = rows.iter().rev().find(|row| row.activates_at <= now);
        if let Some(active) = active
            && self.key(active, None).is_none()
        {
            anyhow::bail!(
                "the active signing key {} does not open with this JWT_SECRET: run the command with the server's settings",
                active.kid
            );
        }
        let key = self.new_key(now, now + millis(delay));
        anyhow::ensure!(
            self.store.insert_signing_key(&key, false).await?,
            "a key with this id exists already"
        );
        Ok(key)
    }

    fn new_key(&self, now: i64, activates_at: i64) -> SigningKeyRow {
        let mut kid = [0u8; 8];
        getrandom::fill(&mut kid).expect("the operating system's random source failed");
        let kid = crate::crypto::hex(kid);
        let mut material = [0u8; 32];
        getrandom::fill(&mut material).expect("the operating system's random source failed");
        let public_key = (self.algorithm == KeyAlgorithm::EdDsa).then(|| {
            let signing = ed25519_dalek::SigningKey::from_bytes(&material);
            URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes())
        });
        SigningKeyRow {
            alg: self.algorithm.as_str().to_owned(),
            secret: Some(self.sealer.seal(&material, &kid)),
            public_key,
            created_at: now,
            activates_at,
            kid,
        }
    }

    /// Each stored key with its state at `now`, in the order they activate.
    pub fn states(&self, rows: &[SigningKeyRow], now: i64) -> Vec<KeyState> {
        let active = rows.iter().rposition(|row| row.activates_at <= now);
        rows.iter()
            .enumerate()
            .map(|(i, row)| match active {
                _ if row.activates_at > now => KeyState::Next,
                Some(a) if a == i => KeyState::Active,
                _ if now < self.retires_at(rows, i).unwrap_or(i64::MAX) => KeyState::Retiring,
                _ => KeyState::Retired,
            })
            .collect()
    }

    /// When key `i` of `rows` (in activation order) stops verifying: a retirement period
    /// after its successor activates.
    fn retires_at(&self, rows: &[SigningKeyRow], i: usize) -> Option<i64> {
        rows.get(i + 1)
            .map(|next| next.activates_at + self.retire_after_ms)
    }

    /// The stored set, ready to use.
    pub async fn load(&self) -> anyhow::Result<(Vec<SigningKeyRow>, KeySet)> {
        let rows = self.store.signing_keys().await?;
        let set = self.build(&rows);
        Ok((rows, set))
    }

    /// `rows` (in activation order) ready to use. Keys whose material does not open
    /// (another `JWT_SECRET`) are left out, with a warning, and do not count as the
    /// successor that retires a key.
    pub fn build(&self, rows: &[SigningKeyRow]) -> KeySet {
        let mut keys: Vec<Key> = Vec::new();
        for row in rows {
            match self.key(row, None) {
                Some(key) => {
                    if let Some(previous) = keys.last_mut() {
                        previous.retires_at = Some(key.activates_at + self.retire_after_ms);
                    }
                    keys.push(key);
                }
                None => {
                    tracing::warn!(kid = %row.kid, "a signing key does not open with this JWT_SECRET; ignored");
                }
            }
        }
        KeySet::new(keys)
    }

    fn key(&self, row: &SigningKeyRow, retires_at: Option<i64>) -> Option<Key> {
        let material = match &row.secret {
            Some(sealed) => self.sealer.open(sealed, &row.kid)?,
            None if row.kid == secret_key_id(&self.secret) => self.secret.to_vec(),
            None => return None,
        };
        let mut key = match row.alg.as_str() {
            "HS256" => Key::hs256(row.kid.clone(), &material, row.activates_at),
            "EdDSA" => Key::ed25519(
                row.kid.clone(),
                material.as_slice().try_into().ok()?,
                row.activates_at,
            )?,
            _ => return None,
        };
        key.retires_at = retires_at;
        Some(key)
    }
}

/// The public keys that verify tokens at `now` (next, active and retiring EdDSA keys) as
/// a JWK set. HS256 keys are secrets and never published.
pub fn jwks(set: &KeySet, now: i64) -> Value {
    let keys: Vec<Value> = set
        .live(now)
        .filter_map(|key| {
            let x = key.public_x.as_ref()?;
            Some(json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": x,
                "kid": key.kid,
                "alg": "EdDSA",
                "use": "sig",
            }))
        })
        .collect();
    json!({ "keys": keys })
}

/// Reads the key set every [`POLL_INTERVAL`] and puts it in use when it changed.
pub async fn sync(keys: SigningKeys, jwt: Arc<JwtKeys>, mut seen: Vec<SigningKeyRow>) {
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    loop {
        ticker.tick().await;
        match keys.store.signing_keys().await {
            Ok(rows) if rows != seen => {
                tracing::info!(keys = rows.len(), "signing keys changed");
                jwt.install(keys.build(&rows));
                seen = rows;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot read the signing keys; will retry"),
        }
    }
}

/// The id of the key that is `JWT_SECRET` itself (the `kid` tokens have always carried).
fn secret_key_id(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"jwt-auth key id\0")
        .chain_update(secret)
        .finalize();
    crate::crypto::hex(&digest[..8])
}
