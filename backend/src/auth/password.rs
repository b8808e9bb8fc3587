//! Password hashing (argon2id) on threads of its own, and the common-password list.
//!
//! Hashing takes tens of milliseconds of CPU and 19 MiB of memory; running it on the async
//! workers would stall every other request. `workers` threads hash, one password at a time
//! each, so memory stays bounded, and a request that cannot get a thread within the queue
//! timeout is answered 503 `server_busy` instead of waiting forever.
//!
//! The hashing threads run at the same priority as the rest of the server. A lower one
//! (nice 3 or 10) shaved under a millisecond off other requests' p99 during a flood of
//! sign-ins, but starved sign-ins whenever other requests kept the cores busy: 200 users
//! beside saturating readers had 10–89 sign-ins answered 503 `server_busy` after 5 s in
//! the queue, and none at normal priority (RELIABILITY.md, Soak).
//!
//! The 19 MiB of each hash is a buffer taken from a pool and given back, never freed: the
//! allocator would otherwise keep the freed blocks in per-thread arenas, and a login flood
//! left the process at ~600 MiB where it now stays near `workers` × 19 MiB.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex, mpsc};
use std::time::Duration;

use argon2::password_hash::{Output, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{Semaphore, oneshot};

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

fn params() -> Params {
    Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant argon2 parameters are valid")
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// Hashing memory kept between hashes: at most one buffer per hash ever run at once.
static BUFFERS: Mutex<Vec<Box<[Block]>>> = Mutex::new(Vec::new());

/// Runs `hash` with a buffer of our parameters' size from the pool.
fn with_buffer<T>(hash: impl FnOnce(&mut [Block]) -> T) -> T {
    let taken = BUFFERS.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut buffer =
        taken.unwrap_or_else(|| vec![Block::default(); params().block_count()].into_boxed_slice());
    let result = hash(&mut buffer);
    // Not wiped: with two passes every block is overwritten in the second, so what is
    // left can only test a password guess by running the whole memory-hard hash again,
    // the cost the stored hash already imposes; wiping 19 MiB would add ~15% to a hash.
    BUFFERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(buffer);
    result
}

/// Our argon2id of `password` with raw `salt`, as long as `len`.
fn raw_hash(password: &str, salt: &[u8], len: usize) -> argon2::password_hash::Result<Output> {
    with_buffer(|buffer| {
        Output::init_with(len, |out| {
            argon2()
                .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut *buffer)
                .map_err(Into::into)
        })
    })
}

/// Hashes a password into a PHC string, on the calling thread.
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("random source failed: {e}"))?;
    let hash = raw_hash(password, &salt, Params::DEFAULT_OUTPUT_LEN)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(format!(
        "$argon2id$v=19$m={MEMORY_KIB},t={PASSES},p={LANES}${salt}${hash}"
    ))
}

/// Checks a password against a PHC string: with the pooled buffer when the hash has our
/// parameters, else (an older hash) through the library's own verification.
fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ours = parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed.version == Some(Version::V0x13.into())
        && Params::try_from(&parsed).is_ok_and(|p| {
            (p.m_cost(), p.t_cost(), p.p_cost()) == (MEMORY_KIB, PASSES, LANES)
                && p.keyid().is_empty()
                && p.data().is_empty()
        });
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    if !ours {
        return argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    // `Output` compares in constant time.
    raw_hash(password, salt, expected.len()).is_ok_and(|computed| computed == expected)
}

/// Work for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The bounded hashing pool (cheap to clone). Its threads end when the last clone is
/// dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    queue_timeout: Duration,
    /// Verified against when an email has no account, so that both cost the same.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// A pool of `workers` threads; computes the dummy hash once.
    pub async fn new(workers: usize, queue_timeout: Duration) -> anyhow::Result<Self> {
        let workers = workers.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is released before the job runs.
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(job) = job else { break };
                        // A panicking hash fails its one request (its result is never
                        // sent) and leaves the thread to the next.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })?;
        }
        let mut hasher = Self {
            permits: Arc::new(Semaphore::new(workers)),
            jobs,
            queue_timeout,
            dummy_hash: Arc::from(""),
        };
        let dummy_hash = hasher
            .run(|| hash_blocking(&crate::crypto::random_token(24)))
            .await
            .map_err(|e| anyhow::anyhow!("cannot hash: {e:?}"))??;
        hasher.dummy_hash = dummy_hash.into();
        Ok(hasher)
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
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            // Nobody waits for the result when the client went away.
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::internal(anyhow::anyhow!("the hashing threads are gone")))?;
        result
            .await
            .map_err(|_| Error::internal(anyhow::anyhow!("a hashing thread stopped during a hash")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes run on threads of their own; a hash that panics fails its request only, and
    /// the thread takes the next.
    #[tokio::test]
    async fn hashing_threads_are_named_and_survive_a_panic() {
        let hasher = PasswordHasher::new(1, Duration::from_secs(5))
            .await
            .unwrap();
        let name = hasher
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("argon2-0"));
        let panicked = hasher.run(|| panic!("a hash that panics")).await;
        assert!(panicked.is_err());
        assert!(hasher.verify("x".into(), None).await.is_ok());
    }

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
    fn pooled_hashes_and_the_library_agree_both_ways() {
        use argon2::password_hash::PasswordHasher as _;
        let ours = hash_blocking("a fine password").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2()
                .verify_password(b"a fine password", &parsed)
                .is_ok()
        );
        assert!(
            argon2()
                .verify_password(b"a fine passwore", &parsed)
                .is_err()
        );
        let salt = SaltString::encode_b64(&[5; 16]).unwrap();
        let theirs = argon2()
            .hash_password(b"another password", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking("another password", &theirs));
        assert!(!verify_blocking("another passworc", &theirs));
        // Other parameters (an older hash) still verify, through the library.
        let light = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"old", &salt)
        .unwrap()
        .to_string();
        assert!(verify_blocking("old", &light));
        assert!(!verify_blocking("olD", &light));
        assert!(!verify_blocking(
            "old",
            "$argon2id$v=19$m=19456,t=2,p=1$bm9zYWx0"
        ));
    }

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters() {
        let phc = hash_blocking("a fine password").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("a fine password", &phc));
        assert!(!verify_blocking("another password", &phc));
    }
}
