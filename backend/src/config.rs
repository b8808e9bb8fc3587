//! Configuration: environment variables and `backend serve` flags, validated once at start.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::builder::BoolishValueParser;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use lettre::message::Mailbox;

use crate::auth::signing_keys::{self, KeyAlgorithm};
use crate::crypto::random_token;
use crate::mail::MailUrl;

/// Where the development secret is kept when none is configured.
pub const DEV_SECRET_FILE: &str = "data/jwt-secret";
/// `PUBLIC_URL` in development.
pub const DEV_PUBLIC_URL: &str = "http://localhost:3000";
/// `MAIL_URL` in development: each email becomes a file here.
pub const DEV_MAIL_URL: &str = "file://data/outbox";
/// Fewest bytes a signing secret may have.
pub const MIN_SECRET_BYTES: usize = 32;
/// Fewest distinct bytes a signing secret may have (refuses `aaaa…`).
const MIN_DISTINCT_SECRET_BYTES: usize = 8;

/// `development` or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AppEnv {
    /// Local work: a generated secret, plain-HTTP cookies, the trunk dev server allowed.
    Development,
    /// Missing or weak secrets are fatal; cookies are `Secure`.
    Production,
}

/// The database to work on (`backend serve`, `migrate` and `user …`).
#[derive(Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `sqlite://…` or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/app.db",
        hide_env_values = true
    )]
    pub database_url: String,
}

/// Flags and environment variables of `backend serve` (see the README's table).
#[derive(Clone, clap::Args)]
pub struct ServeArgs {
    /// `development` or `production`.
    #[arg(long, env = "APP_ENV", value_enum, default_value = "development")]
    pub app_env: AppEnv,
    /// Listen address; port 0 picks a free port.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:3000")]
    pub bind_addr: String,
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// HS256 signing secret (at least 32 bytes).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// File holding the signing secret.
    #[arg(long, env = "JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// `HS256` (one shared secret) or `EdDSA` (Ed25519; public keys at
    /// `/.well-known/jwks.json`): the algorithm of new signing keys.
    #[arg(long, env = "JWT_ALG", value_enum, default_value = "HS256")]
    pub jwt_alg: KeyAlgorithm,
    /// How long a new signing key is published before it signs.
    #[arg(long, env = "KEY_PUBLISH_DELAY", default_value = "1m", value_parser = humantime::parse_duration)]
    pub key_publish_delay: Duration,
    /// Access token lifetime (`2s`, `15m`, `1h`).
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "15m", value_parser = humantime::parse_duration)]
    pub access_token_ttl: Duration,
    /// Absolute lifetime of a session's refresh chain.
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub refresh_token_ttl: Duration,
    /// How long the refresh token just rotated away may still be replayed harmlessly.
    #[arg(long, env = "REFRESH_REUSE_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub refresh_reuse_grace: Duration,
    /// `Secure` cookies with the `__Secure-` prefix (default: true in production).
    #[arg(long, env = "COOKIE_SECURE", value_parser = BoolishValueParser::new())]
    pub cookie_secure: Option<bool>,
    /// Further origins allowed to send state-changing requests, comma-separated.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,
    /// Folder of the built SPA.
    #[arg(long, env = "STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,
    /// Addresses or CIDR ranges of proxies whose `X-Forwarded-For` is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// How old the copy of revoked sessions may get (database unreachable) before access
    /// tokens are refused with 503; `0` turns the limit off.
    #[arg(long, env = "REVOCATION_MAX_STALENESS", default_value = "5s", value_parser = humantime::parse_duration)]
    pub revocation_max_staleness: Duration,
    /// The site's origin as users see it, for links in emails (required in production).
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where emails go: `smtp://user:pass@host:587`, `smtps://…` or `file://DIR`
    /// (required in production).
    #[arg(long, env = "MAIL_URL", hide_env_values = true)]
    pub mail_url: Option<String>,
    /// The From address of emails.
    #[arg(long, env = "MAIL_FROM", default_value = "no-reply@localhost")]
    pub mail_from: String,
    /// An account must verify its email before it can sign in.
    #[arg(long, env = "REQUIRE_VERIFIED_EMAIL", default_value = "false", action = clap::ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub require_verified_email: bool,
    /// Tracing filter.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub rust_log: String,
    /// For tests only: pretend this host's clock is off by this much (`60s`, `-60s`).
    /// The server aligns its clock with the database's, so this must change nothing.
    #[arg(long, env = "TEST_CLOCK_SKEW", hide = true, allow_hyphen_values = true)]
    pub test_clock_skew: Option<String>,
}

/// Validated configuration of a running server.
pub struct Config {
    /// Development or production.
    pub app_env: AppEnv,
    /// Where to listen.
    pub bind_addr: SocketAddr,
    /// Database URL (may hold a password: never logged whole).
    pub database_url: SecretString,
    /// `JWT_SECRET`: the first HS256 key, and what every stored key is sealed under.
    pub jwt_secret: SecretBox<Vec<u8>>,
    /// The algorithm of new signing keys.
    pub jwt_alg: KeyAlgorithm,
    /// How long a new signing key is published before it signs.
    pub key_publish_delay: Duration,
    /// Access token lifetime.
    pub access_token_ttl: Duration,
    /// Absolute session lifetime.
    pub refresh_token_ttl: Duration,
    /// Grace window for replaying a just-rotated refresh token.
    pub refresh_reuse_grace: Duration,
    /// `Secure` cookies with the `__Secure-` prefix.
    pub cookie_secure: bool,
    /// Origins besides the request's own that may send state-changing requests.
    pub allowed_origins: Vec<String>,
    /// Folder of the built SPA.
    pub static_dir: PathBuf,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Threads that may hash passwords at once.
    pub hash_workers: usize,
    /// How long a request waits for a hashing thread before it gets 503 `server_busy`.
    pub hash_queue_timeout: Duration,
    /// How often the revoked-session set is refreshed from the database.
    pub revocation_poll_interval: Duration,
    /// How old that set may get before access tokens are refused (zero: no limit).
    pub revocation_max_staleness: Duration,
    /// Longest time a request may take before it is answered 408 `timeout` (reading its
    /// body included).
    pub request_timeout: Duration,
    /// Longest wait for a request's head, and longest idle time of a kept-alive
    /// connection, before the connection is closed.
    pub header_read_timeout: Duration,
    /// Longest time an answer may go without the client taking any of its bytes.
    pub write_timeout: Duration,
    /// Client connections open at once (fewer when file descriptors are short).
    pub max_connections: usize,
    /// The site's origin as users see it (`https://app.example.com`), for links in emails.
    pub public_url: String,
    /// Where emails go.
    pub mail_url: MailUrl,
    /// The From address of emails.
    pub mail_from: Mailbox,
    /// Whether an account must verify its email before it can sign in.
    pub require_verified_email: bool,
    /// How long the outbox waits before each retry of a failed send.
    pub mail_retry_delays: Vec<Duration>,
}

/// The shortest `KEY_PUBLISH_DELAY`: two of the instances' reads of the key set
/// ([`signing_keys::POLL_INTERVAL`]), so that each has read it since the key was made.
const MIN_KEY_PUBLISH_DELAY: Duration = signing_keys::POLL_INTERVAL.saturating_mul(2);

impl Config {
    /// Validates the flags, loading (or, in development, creating) the secret.
    pub fn from_args(args: ServeArgs) -> anyhow::Result<Self> {
        let production = args.app_env == AppEnv::Production;
        let secret = load_secret(&args, production)?;
        let access_token_ttl = positive(args.access_token_ttl, "ACCESS_TOKEN_TTL")?;
        let refresh_token_ttl = positive(args.refresh_token_ttl, "REFRESH_TOKEN_TTL")?;
        if refresh_token_ttl <= access_token_ttl {
            bail!("REFRESH_TOKEN_TTL must be longer than ACCESS_TOKEN_TTL");
        }
        if args.key_publish_delay < MIN_KEY_PUBLISH_DELAY {
            bail!(
                "KEY_PUBLISH_DELAY must be at least {}: every instance reads the signing keys \
                 once a second and must know a key before it signs",
                humantime::format_duration(MIN_KEY_PUBLISH_DELAY)
            );
        }
        if !args.revocation_max_staleness.is_zero()
            && args.revocation_max_staleness < Duration::from_secs(1)
        {
            bail!("REVOCATION_MAX_STALENESS must be 0 (no limit) or at least 1s");
        }
        let allowed_origins = match args.allowed_origins {
            Some(list) => list
                .iter()
                .map(|o| o.trim())
                .filter(|o| !o.is_empty())
                .map(normalize_origin)
                .collect::<anyhow::Result<_>>()?,
            None if production => Vec::new(),
            None => vec![
                "http://localhost:8080".into(),
                "http://127.0.0.1:8080".into(),
            ],
        };
        let trusted_proxies = args
            .trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(parse_proxy)
            .collect::<anyhow::Result<_>>()?;
        let public_url = match args.public_url {
            Some(url) => normalize_origin(&url).map_err(|_| {
                anyhow::anyhow!("PUBLIC_URL {url:?} is not an origin like https://app.example.com")
            })?,
            None if production => bail!("PUBLIC_URL is required when APP_ENV=production"),
            None => DEV_PUBLIC_URL.to_owned(),
        };
        if production && !public_url.starts_with("https://") {
            // The reset page reads its token in the browser: served over plain HTTP,
            // anyone on the way could inject a script that reads it.
            bail!("PUBLIC_URL must be an https:// origin when APP_ENV=production");
        }
        let mail_url = match args.mail_url {
            Some(url) => MailUrl::parse(&url)?,
            None if production => bail!("MAIL_URL is required when APP_ENV=production"),
            None => MailUrl::parse(DEV_MAIL_URL)?,
        };
        let mail_from = args.mail_from.parse::<Mailbox>().map_err(|_| {
            anyhow::anyhow!("MAIL_FROM {:?} is not an email address", args.mail_from)
        })?;
        Ok(Self {
            app_env: args.app_env,
            bind_addr: parse_bind_addr(&args.bind_addr)?,
            database_url: args.db.database_url.into(),
            jwt_secret: SecretBox::new(Box::new(secret)),
            jwt_alg: args.jwt_alg,
            key_publish_delay: args.key_publish_delay,
            access_token_ttl,
            refresh_token_ttl,
            refresh_reuse_grace: args.refresh_reuse_grace,
            cookie_secure: args.cookie_secure.unwrap_or(production),
            allowed_origins,
            static_dir: args.static_dir,
            trusted_proxies,
            hash_workers: std::thread::available_parallelism().map_or(2, usize::from),
            hash_queue_timeout: Duration::from_secs(5),
            revocation_poll_interval: Duration::from_millis(500),
            revocation_max_staleness: args.revocation_max_staleness,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_connections: 16_384,
            public_url,
            mail_url,
            mail_from,
            require_verified_email: args.require_verified_email,
            mail_retry_delays: [5, 30, 120, 600].map(Duration::from_secs).to_vec(),
        })
    }

    /// The database URL with any password masked, for logs.
    pub fn database_url_for_logs(&self) -> String {
        redact_url_password(self.database_url.expose_secret())
    }
}

fn positive(duration: Duration, name: &str) -> anyhow::Result<Duration> {
    if duration.is_zero() {
        bail!("{name} must be greater than zero");
    }
    Ok(duration)
}

/// `host:port`, or `:port` for the loopback address.
fn parse_bind_addr(value: &str) -> anyhow::Result<SocketAddr> {
    let full = if value.starts_with(':') {
        format!("127.0.0.1{value}")
    } else {
        value.to_owned()
    };
    full.parse()
        .with_context(|| format!("BIND_ADDR {value:?} is not an address like 127.0.0.1:3000"))
}

fn parse_proxy(value: &str) -> anyhow::Result<IpNet> {
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from))
        .with_context(|| {
            format!("TRUSTED_PROXIES entry {value:?} is not an IP address or CIDR range")
        })
}

/// `scheme://host[:port]`, lower-cased, without a trailing slash.
fn normalize_origin(value: &str) -> anyhow::Result<String> {
    let refused = || {
        anyhow::anyhow!(
            "ALLOWED_ORIGINS entry {value:?} is not an origin like https://app.example.com"
        )
    };
    let url = url::Url::parse(value).map_err(|_| refused())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
        return Err(refused());
    }
    // The origin exactly as a browser sends it: lower-case, no default port, no slash.
    Ok(url.origin().ascii_serialization())
}

fn load_secret(args: &ServeArgs, production: bool) -> anyhow::Result<Vec<u8>> {
    let secret = match (&args.jwt_secret, &args.jwt_secret_file) {
        (Some(_), Some(_)) => bail!("set only one of JWT_SECRET and JWT_SECRET_FILE"),
        (Some(value), None) => value.clone().into_bytes(),
        (None, Some(path)) => read_secret_file(path)?,
        (None, None) if production => {
            bail!("JWT_SECRET or JWT_SECRET_FILE is required when APP_ENV=production")
        }
        (None, None) => development_secret(Path::new(DEV_SECRET_FILE))?,
    };
    check_secret_strength(&secret)?;
    Ok(secret)
}

/// Refuses secrets too short or too uniform to be random. The message never holds the value.
pub fn check_secret_strength(secret: &[u8]) -> anyhow::Result<()> {
    if secret.len() < MIN_SECRET_BYTES {
        bail!(
            "the JWT secret is too short: it needs at least {MIN_SECRET_BYTES} bytes (`backend secret generate` makes one)"
        );
    }
    let distinct = secret
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if distinct < MIN_DISTINCT_SECRET_BYTES {
        bail!(
            "the JWT secret is too weak: use a random value (`backend secret generate` makes one)"
        );
    }
    Ok(())
}

fn read_secret_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = fs::read(path)
        .with_context(|| format!("cannot read JWT_SECRET_FILE {}", path.display()))?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    Ok(bytes)
}

/// Reads the development secret, creating it (mode 0600) on first use.
fn development_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        return read_secret_file(path);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let secret = random_token(48);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    tracing::info!(path = %path.display(), "created a development JWT secret");
    Ok(secret.into_bytes())
}

/// The URL with the password masked. By hand rather than with `url::Url`: a URL parser
/// stops reading the user part at the first `/`, `?` or `#`, which generated passwords
/// often contain, and would then log them whole.
fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The host follows the last `@`; everything before it is `user:password`.
    match rest.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addr_accepts_a_bare_port() {
        assert_eq!(parse_bind_addr(":0").unwrap().to_string(), "127.0.0.1:0");
        assert!(parse_bind_addr("nonsense").is_err());
    }

    #[test]
    fn weak_secrets_are_refused_without_echoing_them() {
        let short = "short-secret-value";
        let message = check_secret_strength(short.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!message.contains(short));
        let uniform = "a".repeat(64);
        let message = check_secret_strength(uniform.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!message.contains(&uniform));
        assert!(check_secret_strength(random_token(32).as_bytes()).is_ok());
    }

    #[test]
    fn origins_are_normalised_and_paths_refused() {
        assert_eq!(
            normalize_origin("HTTPS://App.Example.com/").unwrap(),
            "https://app.example.com"
        );
        assert!(normalize_origin("https://app.example.com/path").is_err());
        assert!(normalize_origin("app.example.com").is_err());
        assert_eq!(
            normalize_origin("https://app.example.com:443").unwrap(),
            "https://app.example.com"
        );
        assert!(normalize_origin("https://app.example.com/?q").is_err());
    }

    #[test]
    fn database_passwords_are_masked_in_logs() {
        assert_eq!(
            redact_url_password("postgres://app:hunter2@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(
            redact_url_password("sqlite://data/app.db"),
            "sqlite://data/app.db"
        );
        for password in ["ab/cd", "12/cd", "a#b", "a?b", "a@b", "a:b"] {
            let url = format!("postgres://app:{password}@db:5432/app?sslmode=require");
            assert_eq!(
                redact_url_password(&url),
                "postgres://app:***@db:5432/app?sslmode=require",
                "{password}"
            );
        }
    }
}
