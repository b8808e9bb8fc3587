//! The `backend` command line: `serve` (default), `migrate`, `user …`, `secret generate`.

use std::io::{IsTerminal, Read};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use shared::validation::canonical_email;
use shared::{Credentials, ErrorCode, Role};
use tracing_subscriber::EnvFilter;

use crate::app::{Application, shutdown_signal};
use crate::auth::accounts;
use crate::auth::audit::{Action, record_operator_action};
use crate::auth::password::PasswordHasher;
use crate::auth::signing_keys::SigningKeys;
use crate::clock::{DatabaseClock, millis};
use crate::config::{Config, DatabaseArgs, ServeArgs};
use crate::crypto::random_token;
use crate::store::Store;

/// JWT authentication server for browser apps.
#[derive(Parser)]
#[command(
    name = "backend",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve` flags, accepted without the subcommand too.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
// Parsed once at start; the size of the `serve` flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Serve the API and the built SPA.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Manage the keys that sign access tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the audit log, newest first.
    Audit {
        /// Only the events of the user with this email.
        #[arg(long)]
        email: Option<String>,
        /// How many events at most.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// `backend user …`.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user (the password is prompted for, or read from stdin).
    Create {
        /// Email of the new user.
        #[arg(long)]
        email: String,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
        /// Read the password from stdin (one trailing newline is removed).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Change a user's role; it applies at their next refresh at the latest.
    SetRole {
        /// Email of the user.
        #[arg(long)]
        email: String,
        /// `admin` or `user`.
        #[arg(long)]
        role: Role,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Disable an account and revoke all of its sessions.
    Disable {
        /// Email of the user.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Remove a user's second factors (a lost phone) and revoke all of their sessions.
    MfaReset {
        /// Email of the user.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Mark a user's email verified (for a user who cannot receive the link).
    VerifyEmail {
        /// Email of the user.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// `backend keys …`: they read the server's own settings (`DATABASE_URL`, `JWT_SECRET`,
/// `JWT_ALG`, `KEY_PUBLISH_DELAY`, `ACCESS_TOKEN_TTL`, …).
#[derive(Subcommand)]
pub enum KeysCommand {
    /// The signing keys: kid, algorithm, state and dates (never the key material).
    List(Box<ServeArgs>),
    /// A new key of `JWT_ALG`, published at once, signing after `KEY_PUBLISH_DELAY`; the
    /// key it replaces verifies until its last token has expired. No restart needed.
    Rotate(Box<ServeArgs>),
}

/// `backend secret …`.
#[derive(Subcommand)]
pub enum SecretCommand {
    /// Print a new random secret for JWT_SECRET (only the secret, on stdout).
    Generate,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            init_tracing("warn")?;
            open(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User(command) => {
            init_tracing("warn")?;
            user(command).await
        }
        Command::Secret(SecretCommand::Generate) => {
            println!("{}", random_token(48));
            Ok(())
        }
        Command::Keys(command) => {
            init_tracing("warn")?;
            keys(command).await
        }
        Command::Audit { email, limit, db } => {
            init_tracing("warn")?;
            audit_log(email.as_deref(), limit, &db).await
        }
    }
}

async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    let (KeysCommand::List(args) | KeysCommand::Rotate(args)) = &command;
    let config = Config::from_args(*args.clone())?;
    let store = Store::connect(config.database_url.expose_secret()).await?;
    store.migrate().await.context("cannot apply migrations")?;
    let keys = SigningKeys::new(
        store.clone(),
        config.jwt_secret.expose_secret(),
        config.jwt_alg,
        config.access_token_ttl,
    );
    let now = store.database_time_ms().await?;
    keys.create_first(now).await?;
    if let KeysCommand::Rotate(_) = command {
        let key = keys.rotate(now, config.key_publish_delay).await?;
        let detail = format!("{} {}", key.kid, key.alg);
        record_operator_action(&store, now, Action::KeyRotated, None, &detail).await;
        println!(
            "new {} key {} signs from {}",
            key.alg,
            key.kid,
            utc(key.activates_at)
        );
        return Ok(());
    }
    let rows = store.signing_keys().await?;
    for (row, state) in rows.iter().zip(keys.states(&rows, now)) {
        println!(
            "{} {:<5} {:<8} created {} signs from {}",
            row.kid,
            row.alg,
            state.as_str(),
            utc(row.created_at),
            utc(row.activates_at)
        );
    }
    Ok(())
}

/// Unix ms as an RFC 3339 UTC time.
fn utc(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0);
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// Prints the audit log, one event a line: time (UTC), action, user, IP, detail, user
/// agent.
async fn audit_log(email: Option<&str>, limit: i64, db: &DatabaseArgs) -> anyhow::Result<()> {
    let store = open(db).await?;
    let user_id = match email {
        Some(email) => {
            let email = canonical(email)?;
            let Some(user) = store.user_by_email(&email).await? else {
                bail!("no user with email {email}");
            };
            Some(user.id)
        }
        None => None,
    };
    for event in store.audit_events(user_id.as_deref(), limit.max(0)).await? {
        let at = utc(event.at);
        let dash = || "-".to_owned();
        println!(
            "{at} {} user={} ip={} detail={} user_agent={:?}",
            event.action,
            event.user_id.unwrap_or_else(dash),
            event.ip.unwrap_or_else(dash),
            // Quoted and escaped: a passkey's name is the user's text.
            event
                .detail
                .map_or_else(dash, |detail| format!("{detail:?}")),
            event.user_agent.unwrap_or_default(),
        );
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing(&args.rust_log)?;
    let skew = args
        .test_clock_skew
        .as_deref()
        .map(parse_signed_duration_ms)
        .transpose()?;
    let config = Config::from_args(args)?;
    tracing::info!(
        env = ?config.app_env,
        database = %config.database_url_for_logs(),
        cookie_secure = config.cookie_secure,
        access_token_ttl = ?config.access_token_ttl,
        refresh_token_ttl = ?config.refresh_token_ttl,
        static_dir = %config.static_dir.display(),
        "starting"
    );
    let clock = match skew {
        Some(skew) => DatabaseClock::skewed(skew),
        None => DatabaseClock::new(),
    };
    let app = Application::build(config, Arc::new(clock)).await?;
    app.run_until_stopped(shutdown_signal()).await
}

async fn open(db: &DatabaseArgs) -> anyhow::Result<Store> {
    let store = Store::connect(&db.database_url)
        .await
        .context("cannot open the database")?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store)
}

async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            email,
            admin,
            password_stdin,
            db,
        } => {
            let raw = if password_stdin {
                read_password_from_stdin()?
            } else {
                rpassword::prompt_password("Password: ").context("cannot read the password")?
            };
            // Bad input is reported before anything touches the database.
            let (email, _) = accounts::validate_new_account(&email, &raw)
                .map_err(|code| anyhow::anyhow!("{} ({code})", code.message()))?;
            let store = open(&db).await?;
            let hasher = PasswordHasher::new(1, Duration::from_secs(60)).await?;
            let now = store.database_time_ms().await?;
            let role = if admin { Role::Admin } else { Role::User };
            let credentials = Credentials {
                email: email.clone(),
                password: raw,
            };
            match accounts::create_account(&store, &hasher, &credentials, role, now).await {
                Ok(user) => {
                    let action = Action::AccountCreated;
                    record_operator_action(&store, now, action, Some(&user.email), role.as_str())
                        .await;
                    println!(
                        "created {} user {} ({})",
                        role.as_str(),
                        user.email,
                        user.id
                    );
                }
                Err(error) if error.code() == ErrorCode::EmailTaken => {
                    bail!("a user with email {email} already exists")
                }
                Err(error) => match error.cause() {
                    Some(cause) => bail!("{cause:#}"),
                    None => bail!("{} ({})", error.code().message(), error.code()),
                },
            }
        }
        UserCommand::SetRole { email, role, db } => {
            let email = canonical(&email)?;
            let store = open(&db).await?;
            if !store.set_role(&email, role).await? {
                bail!("no user with email {email}");
            }
            let now = store.database_time_ms().await?;
            record_operator_action(
                &store,
                now,
                Action::RoleChanged,
                Some(&email),
                role.as_str(),
            )
            .await;
            println!("{email} is now {}", role.as_str());
        }
        UserCommand::Disable { email, db } => {
            let email = canonical(&email)?;
            let store = open(&db).await?;
            // The database's clock, like every server instance: revocations are polled in
            // the order of these times.
            let now = store.database_time_ms().await?;
            if store.disable_user(&email, now).await?.is_none() {
                bail!("no user with email {email}");
            }
            record_operator_action(
                &store,
                now,
                Action::AccountDisabled,
                Some(&email),
                "disable",
            )
            .await;
            println!("disabled {email} and revoked its sessions");
        }
        UserCommand::MfaReset { email, db } => {
            let email = canonical(&email)?;
            let store = open(&db).await?;
            let now = store.database_time_ms().await?;
            if store.reset_mfa(&email, now).await?.is_none() {
                bail!("no user with email {email}");
            }
            record_operator_action(&store, now, Action::MfaReset, Some(&email), "mfa-reset").await;
            println!("removed the second factors of {email} and revoked its sessions");
        }
        UserCommand::VerifyEmail { email, db } => {
            let email = canonical(&email)?;
            let store = open(&db).await?;
            let now = store.database_time_ms().await?;
            if !store.mark_email_verified(&email, now).await? {
                bail!("no user with email {email}");
            }
            record_operator_action(
                &store,
                now,
                Action::EmailVerified,
                Some(&email),
                "verify-email",
            )
            .await;
            println!("{email} is verified");
        }
    }
    Ok(())
}

/// `60s`, `-1m`: a duration with an optional sign, in ms.
fn parse_signed_duration_ms(value: &str) -> anyhow::Result<i64> {
    let (sign, magnitude) = match value.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    let duration = humantime::parse_duration(magnitude)
        .with_context(|| format!("{value:?} is not a duration"))?;
    Ok(sign * millis(duration))
}

fn canonical(email: &str) -> anyhow::Result<String> {
    canonical_email(email).map_err(|_| anyhow::anyhow!("{email:?} is not a valid email address"))
}

fn read_password_from_stdin() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from stdin")?;
    if input.ends_with('\n') {
        input.pop();
        if input.ends_with('\r') {
            input.pop();
        }
    }
    Ok(input)
}

fn init_tracing(filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .with_context(|| format!("RUST_LOG {filter:?} is not a valid filter"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))
}
