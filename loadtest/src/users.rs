//! The people the virtual clients play: accounts with unique emails and strong passwords,
//! signed up through the API, each from an `X-Forwarded-For` address of its own.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use http::header::HeaderValue;
use http::{HeaderName, StatusCode};
use shared::Credentials;
use shared::names::paths;
use tokio::task::JoinSet;

use crate::client::{Connection, Cookies, Failure, post_json};

/// The header that carries a client's address through the trusted proxy.
pub const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// Sign-ups in flight at once while preparing a scenario (each one is an argon2 hash).
const SIGN_UP_CONCURRENCY: usize = 4;
/// 198.18.0.0/15: the range RFC 2544 sets aside for benchmarks. Only named in a header:
/// no traffic goes there.
const ADDRESS_BASE: u32 = u32::from_be_bytes([198, 18, 0, 0]);
const ADDRESS_COUNT: u32 = 1 << 17;

/// An account the tool knows the password of.
#[derive(Debug, Clone)]
pub struct Account {
    /// Email and password, as sent to register and login.
    pub credentials: Credentials,
}

/// A signed-up account and the session cookies its sign-up answered with.
#[derive(Debug, Clone)]
pub struct SignedUp {
    /// The account.
    pub account: Account,
    /// Its session's cookies.
    pub cookies: Cookies,
}

/// Makes accounts and client addresses, none used twice in a run.
#[derive(Debug)]
pub struct Population {
    /// Part of every email, so runs on a kept database would not collide.
    tag: String,
    next_account: AtomicUsize,
    next_address: AtomicU32,
}

impl Population {
    /// A population with a random tag.
    pub fn new() -> Self {
        Self {
            tag: backend::crypto::random_token(6).to_ascii_lowercase(),
            next_account: AtomicUsize::new(0),
            next_address: AtomicU32::new(0),
        }
    }

    /// A new account.
    pub fn account(&self) -> Account {
        let index = self.next_account.fetch_add(1, Ordering::Relaxed);
        Account {
            credentials: Credentials {
                email: format!("user{index}.{}@loadtest.example", self.tag),
                password: format!("Lt-{}", backend::crypto::random_token(15)),
            },
        }
    }

    /// An `X-Forwarded-For` value no other request of the run has used (until 131,072
    /// have, then they come round again).
    pub fn address(&self) -> HeaderValue {
        let offset = self.next_address.fetch_add(1, Ordering::Relaxed) % ADDRESS_COUNT;
        let ip = Ipv4Addr::from(ADDRESS_BASE + offset);
        HeaderValue::from_str(&ip.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Signs up `count` new accounts through the API, a few at a time, each from its own
    /// address.
    pub async fn sign_up(
        &self,
        server: std::net::SocketAddr,
        count: usize,
    ) -> Result<Vec<SignedUp>, Failure> {
        let mut batches: Vec<Vec<(Account, HeaderValue)>> = (0..SIGN_UP_CONCURRENCY.min(count))
            .map(|_| Vec::new())
            .collect();
        for index in 0..count {
            batches[index % SIGN_UP_CONCURRENCY].push((self.account(), self.address()));
        }
        let mut tasks = JoinSet::new();
        for batch in batches {
            tasks.spawn(async move {
                let mut connection = Connection::new(server);
                let mut done = Vec::with_capacity(batch.len());
                for (account, address) in batch {
                    let cookies = register(&mut connection, &account, address).await?;
                    done.push(SignedUp { account, cookies });
                }
                Ok::<_, Failure>(done)
            });
        }
        let mut signed_up = Vec::with_capacity(count);
        while let Some(joined) = tasks.join_next().await {
            let batch = joined.map_err(|e| Failure::new(format!("a sign-up task failed: {e}")))?;
            signed_up.extend(batch?);
        }
        Ok(signed_up)
    }
}

/// `POST /api/auth/register` from `address`: 201 and the new session's cookies.
async fn register(
    connection: &mut Connection,
    account: &Account,
    address: HeaderValue,
) -> Result<Cookies, Failure> {
    let mut request = post_json(paths::REGISTER, &account.credentials);
    request.headers_mut().insert(FORWARDED_FOR, address);
    let reply = connection
        .send(request)
        .await?
        .expect(StatusCode::CREATED)?;
    let mut cookies = Cookies::default();
    cookies.absorb(&reply.headers);
    Ok(cookies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_emails_are_never_repeated() {
        let population = Population::new();
        assert_eq!(population.address(), "198.18.0.0");
        assert_eq!(population.address(), "198.18.0.1");
        let (a, b) = (population.account(), population.account());
        assert_ne!(a.credentials.email, b.credentials.email);
        assert_ne!(a.credentials.password, b.credentials.password);
        assert!(
            shared::validation::canonical_email(&a.credentials.email).is_ok(),
            "{}",
            a.credentials.email
        );
    }
}
