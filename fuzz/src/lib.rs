//! What the fuzz targets share: the real server's state, built once per process on a
//! throw-away SQLite database and a clock that stands still, with signing keys whose
//! secrets the targets know (so they can sign tokens of their own making); and the small
//! conversions from fuzz bytes to requests.
//!
//! Only [`app`] touches the database, once, while building; nothing a target calls on
//! each input does.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use backend::app::Application;
use backend::auth::jwt::{Key, KeySet};
use backend::cli::{Cli, Command};
use backend::clock::Clock;
use backend::config::Config;
use backend::http::HttpState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use hmac::{Hmac, Mac};

/// The time every target runs at (2027-01-15), so the committed seed tokens stay valid.
pub const NOW_MS: i64 = 1_800_000_000_000;
/// The HS256 key's id and secret.
pub const HS256_KID: &str = "fuzz-hs256";
/// The HS256 key's secret.
pub const HS256_SECRET: &[u8] = b"fuzz-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
/// The Ed25519 key's id.
pub const ED25519_KID: &str = "fuzz-ed25519";
/// The Ed25519 key's private seed.
pub const ED25519_SEED: [u8; 32] = [7; 32];
/// The server's signing secret (refresh-token rotation and device cookies derive from it).
pub const SERVER_SECRET: &str = "fuzz-server-secret-0123456789-abcdefghijklmnop";
/// Proxies the server believes about `X-Forwarded-For`.
pub const TRUSTED_PROXIES: &str = "10.0.0.0/8,127.0.0.1,fd00::/8";

/// A clock that always reads [`NOW_MS`].
struct StillClock;

impl Clock for StillClock {
    fn now_ms(&self) -> i64 {
        NOW_MS
    }
}

struct Server {
    runtime: tokio::runtime::Runtime,
    state: HttpState,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a Tokio runtime");
        let dir = std::env::temp_dir().join(format!("backend-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let database_url = format!("sqlite://{}/app.db", dir.display());
        let mail_url = format!("file://{}/outbox", dir.display());
        let static_dir = dir.display().to_string();
        let argv = [
            "backend",
            "serve",
            "--bind-addr",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
            "--jwt-secret",
            SERVER_SECRET,
            "--static-dir",
            &static_dir,
            "--mail-url",
            &mail_url,
            "--trusted-proxies",
            TRUSTED_PROXIES,
            // Nothing keeps the revoked set fresh here; it must not expire mid-run.
            "--revocation-max-staleness",
            "0",
            "--rust-log",
            "off",
        ];
        let Some(Command::Serve(args)) = Cli::try_parse_from(argv).expect("flags").command else {
            unreachable!("serve was given")
        };
        let config = Config::from_args(args).expect("a valid configuration");
        let app = runtime
            .block_on(Application::build(config, Arc::new(StillClock)))
            .expect("the server builds");
        let state = HttpState::new(app.state().clone());
        // The database was needed only to build; the connections stay open on the
        // unlinked files.
        let _ = std::fs::remove_dir_all(&dir);
        state.jwt.install(KeySet::new(vec![
            Key::hs256(HS256_KID.into(), HS256_SECRET, 0),
            Key::ed25519(ED25519_KID.into(), &ED25519_SEED, 0).expect("an Ed25519 key"),
        ]));
        Server { runtime, state }
    })
}

/// The server's state, as handlers see it, with the two keys above installed.
pub fn app() -> &'static HttpState {
    &server().state
}

/// Runs a future to completion on the server's runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    server().runtime.block_on(future)
}

/// base64url without padding, as JWTs encode their parts.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of one base64url part, as JWTs encode them.
pub fn unb64(part: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(part)
}

/// A JWT over exactly these header and claims bytes, signed with the HS256 key or the
/// Ed25519 key.
pub fn sign_raw(header: &[u8], claims: &[u8], ed25519: bool) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = if ed25519 {
        use ed25519_dalek::Signer;
        ed25519_dalek::SigningKey::from_bytes(&ED25519_SEED)
            .sign(input.as_bytes())
            .to_bytes()
            .to_vec()
    } else {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(HS256_SECRET).expect("any key size");
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    format!("{input}.{}", b64(&signature))
}

/// Headers from raw lines `Name: value` (lines that are no valid header are skipped, as a
/// server would never see them).
pub fn headers_from_lines(lines: &[&[u8]]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    headers
}
