//! Password hashing (argon2id) on a bounded pool of blocking threads, and the
//! common-password list.
//!
//! Hashing takes tens of milliseconds of CPU and 19 MiB of memory; running it on the async
//! workers would stall every other request. At most `workers` hashes run at once, so memory
//! stays bounded, and a request that cannot get a thread within the queue timeout is
//! answered 503 `server_busy` instead of waiting forever.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::Error;

/// OWASP's argon2id parameters: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// Common passwords (one per line), compiled into the binary.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// Whether a (normalised) password is on the common-password list, ignoring case.
pub fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password)
        || COMMON_PASSWORDS.contains(password.to_lowercase().as_str())
}

/// How many passwords the shipped list holds.
pub fn common_password_count() -> usize {
    COMMON_PASSWORDS.len()
}

fn argon2() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string, on the calling thread.
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("random source failed: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// The bounded hashing pool (cheap to clone).
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
    /// Verified against when an email has no account, so that both cost the same.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// A pool of `workers` threads; computes the dummy hash once.
    pub async fn new(workers: usize, queue_timeout: Duration) -> anyhow::Result<Self> {
        let dummy_hash =
            tokio::task::spawn_blocking(|| hash_blocking(&crate::crypto::random_token(24)))
                .await??;
        Ok(Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            queue_timeout,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes a password.
    pub async fn hash(&self, password: String) -> Result<String, Error> {
        self.run(move || hash_blocking(&password))
            .await?
            .map_err(Error::internal)
    }

    /// Verifies a password against a stored hash, or against the dummy hash when there is
    /// no account (then always false, after the same work).
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, Error> {
        let dummy = Arc::clone(&self.dummy_hash);
        self.run(move || match phc {
            Some(phc) => verify_blocking(&password, &phc),
            None => {
                verify_blocking(&password, &dummy);
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = tokio::time::timeout(
            self.queue_timeout,
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await
        .map_err(|_| Error::server_busy(self.queue_timeout))?
        .map_err(Error::internal)?;
        // The permit moves into the thread: if the client goes away the hash still finishes
        // before its slot is given to someone else, so the bound always holds.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_has_at_least_ten_thousand_passwords() {
        assert!(
            common_password_count() >= 10_000,
            "{}",
            common_password_count()
        );
        assert!(is_common("password"));
        assert!(is_common("PassWord"));
        assert!(!is_common("correct horse battery staple 42"));
    }

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters() {
        let phc = hash_blocking("a fine password").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("a fine password", &phc));
        assert!(!verify_blocking("another password", &phc));
    }
}
