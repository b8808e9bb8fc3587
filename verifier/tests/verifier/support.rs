//! What the tests share: a clock they move, Ed25519 keys of their own to sign any token
//! with, and a JWKS server they script (what it answers, how slowly) and count requests on.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer;
use hmac::{Hmac, Mac};
use jwt_verifier::{
    AUTH_SERVER_AUDIENCE, AUTH_SERVER_ISSUER, Clock, SystemClock, Verifier, VerifierBuilder,
    VerifyError,
};
use serde_json::{Value, json};

/// A clock that moves only when told; starts at the system's time.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Now, by the system.
    pub fn new() -> Self {
        Self(Arc::new(AtomicI64::new(SystemClock.now_ms())))
    }

    /// Moves it forward.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap();
        self.0.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets it to `ms` (Unix ms).
    pub fn set_ms(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    /// Now, in whole seconds.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// base64url of a JSON value: one part of a JWT.
pub fn part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// `claims` under an HS256 header naming `kid`, with a genuine HMAC-SHA256 under `secret`
/// (an algorithm-confusion forgery when the secret is a public key).
pub fn hs256(kid: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        part(&json!({"typ": "JWT", "alg": "HS256", "kid": kid})),
        part(claims)
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// The header and claims of a token, decoded.
pub fn parts(token: &str) -> (Value, Value) {
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let mut parts = token.split('.');
    let header = decode(parts.next().unwrap());
    (header, decode(parts.next().unwrap()))
}

/// An Ed25519 key of the test's own.
pub struct TestKey {
    /// Its `kid`.
    pub kid: String,
    key: ed25519_dalek::SigningKey,
}

impl TestKey {
    /// A random key named `kid`.
    pub fn new(kid: &str) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        Self {
            kid: kid.to_owned(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    /// Its public key as a JWK, as the backend publishes one.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }

    /// `claims` under the header the backend writes.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }

    /// `claims` under any header, signed with this key.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", part(header), part(claims));
        let signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// The claims of a valid access token issued at `now` (Unix seconds), as the backend
/// writes them.
pub fn claims(now: i64) -> Value {
    json!({
        "sub": "user-1",
        "sid": "session-1",
        "role": "user",
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "iss": AUTH_SERVER_ISSUER,
        "aud": AUTH_SERVER_AUDIENCE,
        "jti": "token-1",
    })
}

/// A key, a JWKS server publishing it, a clock the test moves, and a verifier of that
/// JWKS on that clock.
pub struct Fixture {
    /// The published key.
    pub key: TestKey,
    /// Its JWKS server.
    pub jwks: JwksServer,
    /// The verifier's clock.
    pub clock: ManualClock,
    /// The verifier.
    pub verifier: Verifier,
}

impl Fixture {
    /// A fresh one: nothing fetched yet.
    pub async fn start() -> Self {
        let key = TestKey::new("key-1");
        let jwks = JwksServer::start(&[&key]).await;
        let clock = ManualClock::new();
        let verifier = jwks.verifier(&clock);
        Self {
            key,
            jwks,
            clock,
            verifier,
        }
    }

    /// A valid token, issued now by the clock.
    pub fn token(&self) -> String {
        self.key.sign(&claims(self.clock.now_secs()))
    }

    /// Verifies `claims` signed with the key.
    pub async fn verify_claims(&self, claims: &Value) -> Result<jwt_verifier::Claims, VerifyError> {
        self.verifier.verify(&self.key.sign(claims)).await
    }
}

/// What the scripted JWKS server answers.
struct Script {
    status: StatusCode,
    cache_control: Option<String>,
    body: String,
    delay: Duration,
}

/// A JWKS server on a free port, answering what the test scripts.
pub struct JwksServer {
    url: String,
    script: Arc<Mutex<Script>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    /// Serves `keys` with `Cache-Control: public, max-age=60`.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let script = Arc::new(Mutex::new(Script {
            status: StatusCode::OK,
            cache_control: Some("public, max-age=60".to_owned()),
            body: String::new(),
            delay: Duration::ZERO,
        }));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (answer, count) = (Arc::clone(&script), Arc::clone(&fetches));
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                count.fetch_add(1, Ordering::SeqCst);
                let (response, delay) = {
                    let script = answer.lock().unwrap();
                    (response(&script), script.delay)
                };
                async move {
                    tokio::time::sleep(delay).await;
                    response
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let server = Self {
            url,
            script,
            fetches,
        };
        server.publish(keys);
        server
    }

    /// Its JWKS URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many requests it has had.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Answers 200 with `keys` from now on.
    pub fn publish(&self, keys: &[&TestKey]) {
        let keys: Vec<Value> = keys.iter().map(|key| key.jwk()).collect();
        self.answer(StatusCode::OK, &json!({ "keys": keys }).to_string());
    }

    /// Answers `status` with `body` from now on.
    pub fn answer(&self, status: StatusCode, body: &str) {
        let mut script = self.script.lock().unwrap();
        script.status = status;
        script.body = body.to_owned();
    }

    /// Sends `Cache-Control: value` (or none) from now on.
    pub fn cache_control(&self, value: Option<&str>) {
        self.script.lock().unwrap().cache_control = value.map(str::to_owned);
    }

    /// Waits this long before each answer.
    pub fn delay(&self, delay: Duration) {
        self.script.lock().unwrap().delay = delay;
    }

    /// A verifier of its keys for the backend's issuer and audience, on `clock`.
    pub fn verifier(&self, clock: &ManualClock) -> Verifier {
        self.builder(clock).build().unwrap()
    }

    /// [`Self::verifier`] with settings still to choose.
    pub fn builder(&self, clock: &ManualClock) -> VerifierBuilder {
        Verifier::builder(&self.url, AUTH_SERVER_ISSUER, AUTH_SERVER_AUDIENCE).clock(clock.clone())
    }
}

fn response(script: &Script) -> Response {
    let mut response = (script.status, script.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(value) = &script.cache_control {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
    }
    if script.status.is_redirection() {
        headers.insert(header::LOCATION, HeaderValue::from_static("/elsewhere"));
    }
    response
}

/// A URL on a port nothing listens on.
pub async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/.well-known/jwks.json")
}
