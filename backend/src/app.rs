//! Building and running the server: connect, migrate, self-test, bind, serve, shut down.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::auth::accounts::Accounts;
use crate::auth::audit::{self, Audit};
use crate::auth::device::DeviceCookies;
use crate::auth::jwt::JwtKeys;
use crate::auth::mfa::Mfa;
use crate::auth::passkeys::{self, Passkeys};
use crate::auth::password::PasswordHasher;
use crate::auth::recovery::{Recovery, RecoveryParts};
use crate::auth::refresh_token::RefreshTokens;
use crate::auth::revocation::{self, RevokedSessions};
use crate::auth::sessions::{Lifetimes, Sessions};
use crate::auth::signing_keys::{self, SigningKeys};
use crate::auth::throttle;
use crate::clock::{Clock, millis};
use crate::config::Config;
use crate::crypto::{Sealer, derive_key};
use crate::http::connections::{self, Limits};
use crate::mail::{MailTransport, Outbox};
use crate::state::AppState;
use crate::store::Store;

/// How often expired sessions and old login failures are deleted.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(600);
/// Revoked and expired sessions are kept this long for the sessions history (ms).
const SESSION_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

/// Reset and verification tokens are deleted this long after they expire (ms).
const LINK_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// A server that is bound and ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// The workers that make and send emails, started with the state.
    mail: MailWorkers,
}

/// The outbox and the workers behind it.
struct MailWorkers {
    outbox: Outbox,
    /// Making reset links, and sending.
    workers: [JoinHandle<()>; 2],
}

/// How long a stopping server waits for emails still being sent.
const MAIL_DRAIN_LIMIT: Duration = Duration::from_secs(5);

impl Application {
    /// Connects to the database, runs migrations, checks the signing key, loads the
    /// revoked sessions and binds the listener.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = Store::connect(config.database_url.expose_secret())
            .await
            .with_context(|| {
                format!(
                    "cannot open the database {}",
                    config.database_url_for_logs()
                )
            })?;
        store.migrate().await.context("cannot apply migrations")?;

        // A few tries: one slow round trip is too imprecise to align on.
        for _ in 0..5 {
            if revocation::align_clock(&store, clock.as_ref())
                .await
                .context("cannot read the database clock")?
            {
                break;
            }
        }

        let secret = config.jwt_secret.expose_secret();
        let signing_keys = SigningKeys::new(
            store.clone(),
            secret,
            config.jwt_alg,
            config.access_token_ttl,
        );
        signing_keys
            .bootstrap(clock.now_ms())
            .await
            .context("cannot create the first signing key")?;
        let (_, key_set) = signing_keys
            .load()
            .await
            .context("cannot read the signing keys")?;
        let jwt = Arc::new(JwtKeys::new(key_set));
        jwt.self_test(clock.now_ms())
            .context("no signing key works with this JWT_SECRET (run `backend keys rotate`)")?;
        if let Some(active) = jwt.current().signing(clock.now_ms())
            && format!("{:?}", active.alg) != config.jwt_alg.as_str()
        {
            tracing::warn!(
                active = ?active.alg,
                configured = config.jwt_alg.as_str(),
                "the active signing key is not of JWT_ALG: run `backend keys rotate` to switch"
            );
        }
        let refresh_tokens = RefreshTokens::new(secret);
        let devices = DeviceCookies::new(secret);
        let hasher = PasswordHasher::new(config.hash_workers, config.hash_queue_timeout).await?;

        let revoked = RevokedSessions::default();
        let keep = revoked_keep_ms(&config);
        revoked
            .load(&store, clock.now_ms() - keep, keep)
            .await
            .context("cannot load revoked sessions")?;

        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind_addr))?;
        let accounts = Accounts {
            store: store.clone(),
            hasher,
            devices: Arc::new(devices),
            clock: Arc::clone(&clock),
        };
        let audit = Audit::new(store.clone(), Arc::clone(&clock));
        let sessions = Sessions {
            store: store.clone(),
            jwt: Arc::clone(&jwt),
            refresh_tokens: Arc::new(refresh_tokens),
            revoked: revoked.clone(),
            clock: Arc::clone(&clock),
            lifetimes: Lifetimes {
                access: config.access_token_ttl,
                session: config.refresh_token_ttl,
                reuse_grace: config.refresh_reuse_grace,
            },
            audit: audit.clone(),
        };
        let transport = MailTransport::new(&config.mail_url)?;
        tracing::info!(to = %config.mail_url.describe(), "emails go");
        let (outbox, mail_worker) = Outbox::start(
            transport,
            config.mail_from.clone(),
            config.mail_retry_delays.clone(),
        );
        let (recovery, reset_worker) = Recovery::start(RecoveryParts {
            store: store.clone(),
            hasher: accounts.hasher.clone(),
            outbox: outbox.clone(),
            clock: Arc::clone(&clock),
            public_url: config.public_url.clone(),
        });
        let mfa = Mfa {
            store: store.clone(),
            sealer: Arc::new(Sealer::new(&derive_key(secret, b"totp secret sealing"))),
            clock: Arc::clone(&clock),
            issuer: url::Url::parse(&config.public_url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_else(|| config.public_url.clone()),
        };
        let webauthn = passkeys::relying_party(&config.public_url)
            .context("PUBLIC_URL cannot be the passkeys' relying party")?;
        if webauthn.is_none() {
            tracing::warn!(
                "passkeys are off: PUBLIC_URL names an IP address, which browsers refuse as a relying party"
            );
        }
        let passkeys = Passkeys {
            store: store.clone(),
            webauthn: webauthn.map(Arc::new),
            clock: Arc::clone(&clock),
        };
        let state = AppState {
            config: Arc::new(config),
            store,
            jwt,
            revoked,
            clock,
            accounts,
            sessions,
            recovery,
            mfa,
            passkeys,
            audit,
            signing_keys,
        };
        Ok(Self {
            listener,
            state,
            mail: MailWorkers {
                outbox,
                workers: [reset_worker, mail_worker],
            },
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.config.bind_addr)
    }

    /// The state handlers see.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        let background = spawn_background_tasks(&self.state);
        let app = crate::http::router(self.state.clone());
        let limits = Limits::new(
            self.state.config.max_connections,
            self.state.config.header_read_timeout,
            self.state.config.write_timeout,
        );
        // The address last: scripts read the line's end.
        tracing::info!(
            max_connections = limits.max_connections,
            %addr,
            "listening"
        );
        connections::serve(self.listener, app, limits, shutdown).await;
        for task in background {
            task.abort();
        }
        let unsent = self.mail.outbox.drain(MAIL_DRAIN_LIMIT).await;
        if unsent > 0 {
            tracing::warn!(unsent, "stopping with emails not sent");
        }
        for worker in self.mail.workers {
            worker.abort();
        }
        self.state.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// How long a revoked session is remembered: its access tokens' lifetime and a margin.
fn revoked_keep_ms(config: &Config) -> i64 {
    millis(config.access_token_ttl) + revocation::POLL_OVERLAP_MS
}

fn spawn_background_tasks(state: &AppState) -> Vec<JoinHandle<()>> {
    let sync = tokio::spawn(revocation::sync(
        state.revoked.clone(),
        state.store.clone(),
        Arc::clone(&state.clock),
        revoked_keep_ms(&state.config),
        state.config.revocation_poll_interval,
    ));
    let keys = tokio::spawn(signing_keys::sync(
        state.signing_keys.clone(),
        Arc::clone(&state.jwt),
        Vec::new(),
    ));
    let state = state.clone();
    let cleanup = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(CLEANUP_INTERVAL);
        loop {
            ticker.tick().await;
            if let Err(error) = housekeeping(&state).await {
                tracing::warn!(%error, "cleanup failed; will retry");
            }
        }
    });
    vec![sync, keys, cleanup]
}

/// Deletes login failures past their retention (never a failure that still counts
/// towards a streak), link tokens and sign-in tickets long expired, and sessions long
/// ended, and audit events older than a year. Runs every 10 minutes.
pub async fn housekeeping(state: &AppState) -> sqlx::Result<()> {
    let now = state.clock.now_ms();
    state
        .store
        .delete_failures_before(now - throttle::RETENTION_MS)
        .await?;
    state
        .store
        .delete_account_tokens_expired_before(now - LINK_RETENTION_MS)
        .await?;
    state
        .store
        .delete_mfa_tickets_expired_before(now - LINK_RETENTION_MS)
        .await?;
    state.store.delete_ceremonies_expired_before(now).await?;
    state
        .store
        .delete_sessions_ended_before(now - SESSION_RETENTION_MS)
        .await?;
    state
        .store
        .delete_audit_events_before(now - audit::RETENTION_MS)
        .await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled, so a signal that arrives as the server starts is not
/// lost (nor fatal).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (mut interrupt, mut terminate) = signals;
            let interrupt = async {
                match interrupt.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            let terminate = async {
                match terminate.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = interrupt => {},
                _ = terminate => {},
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
