//! [`Verifier`]: the JWKS cache and the one entry point, [`Verifier::verify`].
//!
//! The cache keeps the last key set fetched for as long as its `Cache-Control: max-age`
//! says (at least one refetch interval, at most [`VerifierBuilder::max_cache_time`]). A
//! token naming a `kid` the set lacks makes it fetch again, at most once per
//! [`VerifierBuilder::refetch_interval`], so a rotation is learnt at once while a flood
//! of made-up `kid`s costs the issuer one request per interval. Fetches are single-flight:
//! however many requests need one at the same moment, one is made and they all share it.
//!
//! A failed fetch changes nothing that was known: keys already cached keep verifying
//! until their cache time ends (an issuer's short outage does not take every service down
//! with it, and those keys were the issuer's own a moment ago); after that every token is
//! refused with [`VerifyError::JwksUnavailable`] until a fetch succeeds. Nothing is ever
//! accepted that the verifier cannot check.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::Url;
use shared::Claims;
use shared::names::paths;

use crate::clock::{Clock, SystemClock};
use crate::error::{ConfigError, VerifyError};
use crate::jwks;
use crate::token::{self, Key, Rules};

/// `iss` of the auth backend's access tokens.
pub const AUTH_SERVER_ISSUER: &str = "jwt-auth-backend";
/// `aud` of the auth backend's access tokens.
pub const AUTH_SERVER_AUDIENCE: &str = "jwt-auth-spa";

/// Verifies access tokens against a JWKS. Cheap to clone: clones share one cache.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where the keys are; the only URL ever fetched.
    url: Url,
    /// Whether the server's cookies are `Secure` (`None`: not told).
    cookie_secure: Option<bool>,
    http: reqwest::Client,
    rules: Rules,
    settings: Settings,
    clock: Arc<dyn Clock>,
    cache: Mutex<Cache>,
    /// Held while fetching, so that concurrent misses share one fetch.
    fetching: tokio::sync::Mutex<()>,
}

/// How the cache behaves.
#[derive(Debug, Clone, Copy)]
struct Settings {
    refetch_interval: Duration,
    default_cache_time: Duration,
    max_cache_time: Duration,
}

/// What is known of the JWKS.
#[derive(Default)]
struct Cache {
    /// The keys of the last successful fetch.
    keys: Arc<HashMap<String, Key>>,
    /// Unix ms until which `keys` may be used (`None`: never fetched).
    fresh_until: Option<i64>,
    /// When the last fetch started (Unix ms).
    last_attempt: Option<i64>,
    /// Why the last fetch failed, if it did.
    last_error: Option<String>,
    /// Fetches made so far, successful or not.
    attempts: u64,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("jwks_url", &self.inner.url.as_str())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier of tokens from `issuer` for `audience`, with the keys at `jwks_url`, and
    /// the default cache settings. Nothing is fetched until the first token arrives (or
    /// [`Self::fetch_keys`]).
    pub fn from_jwks_url(
        jwks_url: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, ConfigError> {
        Self::builder(jwks_url, issuer, audience).build()
    }

    /// A verifier of the auth backend's access tokens, whose origin is `public_url` (its
    /// `PUBLIC_URL`): the JWKS at `/.well-known/jwks.json`, its issuer and audience.
    pub fn for_auth_server(public_url: &str) -> Result<Self, ConfigError> {
        Self::auth_server_builder(public_url).build()
    }

    /// [`Self::for_auth_server`], with settings still to choose.
    pub fn auth_server_builder(public_url: &str) -> VerifierBuilder {
        let jwks_url = format!("{}{}", public_url.trim_end_matches('/'), paths::JWKS);
        Self::builder(&jwks_url, AUTH_SERVER_ISSUER, AUTH_SERVER_AUDIENCE)
    }

    /// [`Self::from_jwks_url`], with settings still to choose.
    pub fn builder(jwks_url: &str, issuer: &str, audience: &str) -> VerifierBuilder {
        VerifierBuilder {
            url: jwks_url.to_owned(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            settings: Settings {
                refetch_interval: Duration::from_secs(5),
                default_cache_time: Duration::from_secs(5 * 60),
                max_cache_time: Duration::from_secs(60 * 60),
            },
            fetch_timeout: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            allow_plain_http: false,
            cookie_secure: None,
        }
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> &str {
        self.inner.url.as_str()
    }

    /// Whether the server's cookies are `Secure`, if the builder was told
    /// ([`VerifierBuilder::cookie_secure`]).
    pub(crate) fn cookie_secure(&self) -> Option<bool> {
        self.inner.cookie_secure
    }

    /// How many times the JWKS has been fetched (or tried), for metrics.
    pub fn fetch_count(&self) -> u64 {
        self.cache().attempts
    }

    /// Verifies `token`: its header, its signature with the published key it names, and
    /// its claims. Fetches the JWKS when the cache needs it.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let header = token::read_header(token)?;
        let key = self.key(&header.kid).await?;
        self.inner
            .rules
            .check(token, &header, &key, self.inner.clock.now_ms())
    }

    /// Fetches the JWKS now, whatever the cache holds (at start-up, to learn early that
    /// the issuer is unreachable). Joins a fetch already under way instead of adding one.
    pub async fn fetch_keys(&self) -> Result<(), VerifyError> {
        let seen = self.cache().attempts;
        self.fetch_unless_fetched_since(seen).await;
        match &self.cache().last_error {
            Some(reason) => Err(self.unavailable(reason)),
            None => Ok(()),
        }
    }

    /// The key `kid`, from the cache or after one fetch.
    async fn key(&self, kid: &str) -> Result<Key, VerifyError> {
        match self.cached(kid) {
            Ok(key) => Ok(key),
            Err((error, None)) => Err(error),
            Err((_, Some(seen))) => {
                self.fetch_unless_fetched_since(seen).await;
                self.cached(kid).map_err(|(error, _)| error)
            }
        }
    }

    /// The key `kid` if the cache may give it; else why not, and whether a fetch may be
    /// made now (with the fetch count it has seen).
    fn cached(&self, kid: &str) -> Result<Key, (VerifyError, Option<u64>)> {
        let now = self.inner.clock.now_ms();
        let cache = self.cache();
        let fresh = cache.fresh_until.is_some_and(|until| now < until);
        if fresh && let Some(key) = cache.keys.get(kid) {
            return Ok(key.clone());
        }
        let error = match (&cache.last_error, fresh) {
            (Some(reason), _) => self.unavailable(reason),
            (None, true) => VerifyError::UnknownKey {
                kid: kid.to_owned(),
            },
            (None, false) => self.unavailable("the keys have not been fetched yet"),
        };
        let may_fetch = cache.last_attempt.is_none_or(|at| {
            // A clock set back counts as time passed rather than freezing the cache.
            now < at || now - at >= millis(self.inner.settings.refetch_interval)
        });
        Err((error, may_fetch.then_some(cache.attempts)))
    }

    /// Fetches, unless a fetch has ended since the count was `seen` (another request made
    /// the one this one needed).
    async fn fetch_unless_fetched_since(&self, seen: u64) {
        let _flight = self.inner.fetching.lock().await;
        if self.cache().attempts != seen {
            return;
        }
        let started = self.inner.clock.now_ms();
        let fetched = jwks::fetch(&self.inner.http, &self.inner.url).await;
        let mut cache = self.cache();
        cache.attempts += 1;
        cache.last_attempt = Some(started);
        match fetched {
            Ok(fetched) => {
                let settings = &self.inner.settings;
                let keep = fetched
                    .max_age
                    .unwrap_or(settings.default_cache_time)
                    .min(settings.max_cache_time)
                    .max(settings.refetch_interval);
                cache.fresh_until = Some(started.saturating_add(millis(keep)));
                cache.keys = Arc::new(fetched.keys);
                cache.last_error = None;
            }
            Err(reason) => {
                tracing::warn!(
                    url = %self.inner.url,
                    %reason,
                    "cannot fetch the JWKS; tokens it alone could verify are refused"
                );
                cache.last_error = Some(reason);
            }
        }
    }

    fn unavailable(&self, reason: &str) -> VerifyError {
        VerifyError::JwksUnavailable {
            url: self.inner.url.to_string(),
            reason: reason.to_owned(),
        }
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.inner.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Settings for a [`Verifier`]; [`Self::build`] makes it.
pub struct VerifierBuilder {
    url: String,
    issuer: String,
    audience: String,
    settings: Settings,
    fetch_timeout: Duration,
    clock: Arc<dyn Clock>,
    allow_plain_http: bool,
    cookie_secure: Option<bool>,
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("url", &self.url)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// The least time between two fetches (default 5 s): how often a token with an
    /// unknown `kid` may make one, and how soon a failed fetch is tried again.
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.settings.refetch_interval = interval;
        self
    }

    /// How long a JWKS without `max-age` is kept (default 5 minutes).
    pub fn default_cache_time(mut self, time: Duration) -> Self {
        self.settings.default_cache_time = time;
        self
    }

    /// The most a JWKS is kept, whatever its `max-age` says (default 1 hour).
    pub fn max_cache_time(mut self, time: Duration) -> Self {
        self.settings.max_cache_time = time;
        self
    }

    /// How long a fetch may take, connecting included (default 5 s); requests that wait
    /// for it wait at most this long.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// The clock (default: the system's).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Allows a plain `http` JWKS URL to any host, for a private network. Without it only
    /// loopback hosts may be reached without TLS.
    pub fn allow_plain_http(mut self) -> Self {
        self.allow_plain_http = true;
        self
    }

    /// The auth server's `COOKIE_SECURE`: read the access and CSRF cookies under exactly
    /// the names it sets (`__Secure-access_token` with `true`, `access_token` with
    /// `false`), as the server does. Untold, the verifier reads the `__Secure-` name when
    /// one was sent and the plain name otherwise; then a plain cookie that a plain-HTTP
    /// page or a sibling domain set is taken for a browser that sent no `__Secure-` one
    /// (signed out, or its access cookie expired), which the server itself would refuse.
    /// Set it in production.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie_secure = Some(secure);
        self
    }

    /// The verifier, or why these settings cannot make one.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        let bad_url = |reason: String| ConfigError::BadUrl {
            url: self.url.clone(),
            reason,
        };
        let url = Url::parse(&self.url).map_err(|error| bad_url(error.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_plain_http || is_loopback(&url) => {}
            "http" => return Err(ConfigError::InsecureUrl(url.to_string())),
            other => return Err(bad_url(format!("the scheme {other:?} is not http(s)"))),
        }
        // A new connection for each fetch: they are minutes apart, and a kept one the
        // server has since closed would fail a fetch that a new one would not.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .connect_timeout(self.fetch_timeout)
            .timeout(self.fetch_timeout)
            .build()
            .map_err(|error| ConfigError::Client(error.to_string()))?;
        Ok(Verifier {
            inner: Arc::new(Inner {
                url,
                cookie_secure: self.cookie_secure,
                http,
                rules: Rules::new(&self.issuer, &self.audience),
                settings: self.settings,
                clock: self.clock,
                cache: Mutex::default(),
                fetching: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// Whether `url`'s host is this machine.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(url: &str) -> Result<Verifier, ConfigError> {
        Verifier::from_jwks_url(url, "iss", "aud")
    }

    #[test]
    fn https_urls_and_plain_http_to_loopback_are_accepted() {
        for url in [
            "https://auth.example.com/.well-known/jwks.json",
            "http://127.0.0.1:3000/.well-known/jwks.json",
            "http://localhost:3000/.well-known/jwks.json",
            "http://[::1]:3000/.well-known/jwks.json",
        ] {
            assert_eq!(built(url).unwrap().jwks_url(), url);
        }
    }

    #[test]
    fn plain_http_elsewhere_needs_to_be_allowed() {
        let url = "http://auth.internal/.well-known/jwks.json";
        assert!(matches!(built(url), Err(ConfigError::InsecureUrl(_))));
        let allowed = Verifier::builder(url, "iss", "aud")
            .allow_plain_http()
            .build();
        assert!(allowed.is_ok());
    }

    #[test]
    fn urls_that_are_not_http_are_refused() {
        for url in ["file:///etc/jwks.json", "auth.example.com/jwks", ""] {
            let error = built(url).unwrap_err();
            assert!(
                matches!(error, ConfigError::BadUrl { .. }),
                "{url}: {error}"
            );
        }
    }

    #[test]
    fn the_auth_server_keys_are_under_its_origin() {
        for origin in ["https://auth.example.com", "https://auth.example.com/"] {
            let verifier = Verifier::for_auth_server(origin).unwrap();
            assert_eq!(
                verifier.jwks_url(),
                "https://auth.example.com/.well-known/jwks.json"
            );
        }
    }
}
