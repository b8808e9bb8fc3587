//! Persistence: users, sessions, refresh-token hashes, link tokens and login failures.
//!
//! One [`Store`] over sqlx's `Any` driver serves SQLite and PostgreSQL with the same,
//! portable SQL; what differs between them is confined to [`Store::connect`].

mod account_tokens;
mod audit;
mod keys;
mod mfa;
mod passkeys;
mod rotations;
mod sessions;
mod throttle;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use account_tokens::{NewAccountToken, TokenPurpose, VerificationSlot};
pub use audit::AuditRow;
pub use keys::SigningKeyRow;
pub use mfa::{NotEnabled, TicketTry, TotpConfirmation};
pub use passkeys::{NewPasskey, PasskeyRow, PasskeyUse};
pub use sessions::{ActingSession, Proof, RefreshTokenState, SessionRow};
pub use throttle::{FailureScope, Subject};
pub use users::{NewUser, UserRow};

/// Migrations embedded in the binary; they run at start.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a request waits for a pooled connection before the database counts as down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// PostgreSQL bounds on how long a statement, a lock wait and an idle transaction may
/// take. Revocations are polled with a 10 s look-back (see `auth::revocation`), so a write
/// must commit well within that of the time it carries.
const POSTGRES_TIMEOUTS: [&str; 3] = [
    "SET statement_timeout = '5s'",
    "SET lock_timeout = '3s'",
    "SET idle_in_transaction_session_timeout = '5s'",
];

/// A handle to the database (cheap to clone).
///
/// Statements that only read go to `reads`; everything that writes goes to `writes`. On
/// PostgreSQL both are one pool. SQLite lets one connection write at a time and makes any
/// other writer sleep in its busy handler (1 to 100 ms a time, then try again), which put
/// tens of milliseconds on refreshes under load; so on SQLite `writes` is a single
/// connection that writers queue for in order, and the `reads` connections are
/// `query_only`, so that a write sent to them fails loudly instead of contending.
///
/// The revoked-session poll has a connection of its own (`poller`): queued behind requests
/// in an overloaded pool, it would let the set grow older than `REVOCATION_MAX_STALENESS`
/// and every access-token request would be refused while the database is up.
#[derive(Clone)]
pub struct Store {
    reads: AnyPool,
    writes: AnyPool,
    poller: AnyPool,
    rotations: rotations::Rotations,
    is_sqlite: bool,
}

/// Connections that read, beside SQLite's one writer.
const SQLITE_READERS: u32 = 8;
/// SQLite's writer: WAL lets readers run beside it, and the busy timeout queues writers of
/// other processes (the command line beside a running server).
const SQLITE_WRITER: [&str; 4] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
];
/// SQLite's readers.
const SQLITE_READER: [&str; 2] = ["PRAGMA busy_timeout = 5000", "PRAGMA query_only = ON"];
/// Connections of the one PostgreSQL pool.
const POSTGRES_CONNECTIONS: u32 = 16;

/// Whether an insert failed because a unique value already exists.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// The unique value is taken.
    #[error("already exists")]
    Conflict,
    /// Any other database error.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Store {
    /// Connects to `sqlite://…` (creating the file and its folder) or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
        let url = if is_sqlite {
            sqlite_url(url)?
        } else {
            url.to_owned()
        };
        let options = AnyConnectOptions::from_str(&url)?;
        if !is_sqlite {
            let pool = pool(&options, POSTGRES_CONNECTIONS, &POSTGRES_TIMEOUTS).await?;
            return Ok(Self {
                reads: pool.clone(),
                rotations: rotations::Rotations::start(pool.clone()),
                writes: pool,
                poller: self::pool(&options, 1, &POSTGRES_TIMEOUTS).await?,
                is_sqlite,
            });
        }
        // The writer first: it creates the file and turns on WAL, which lets the readers
        // run beside it.
        let writes = pool(&options, 1, &SQLITE_WRITER).await?;
        let reads = pool(&options, SQLITE_READERS, &SQLITE_READER).await?;
        let poller = pool(&options, 1, &SQLITE_READER).await?;
        Ok(Self {
            reads,
            rotations: rotations::Rotations::start(writes.clone()),
            writes,
            poller,
            is_sqlite,
        })
    }

    /// Applies pending migrations.
    /// On PostgreSQL without the statement timeouts: a migration of a large table may
    /// rightly take longer than any request should.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.writes.acquire().await?;
        if !self.is_sqlite {
            conn.execute("SET statement_timeout = 0").await?;
            conn.execute("SET lock_timeout = 0").await?;
        }
        let migrated = MIGRATOR.run(&mut *conn).await;
        if !self.is_sqlite {
            // Back to the bounds every pooled connection has (or out of the pool).
            for setting in POSTGRES_TIMEOUTS {
                if conn.execute(setting).await.is_err() {
                    conn.detach();
                    break;
                }
            }
        }
        migrated?;
        Ok(())
    }

    /// Answers when the database does: on SQLite, both the readers and the one writer
    /// (which a lock held by another process, or a full disk, can leave stuck).
    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1").execute(&self.reads).await?;
        if self.is_sqlite {
            sqlx::query("SELECT 1").execute(&self.writes).await?;
        }
        Ok(())
    }

    /// The database server's clock, Unix milliseconds (SQLite's is this host's).
    pub async fn database_time_ms(&self) -> sqlx::Result<i64> {
        let sql = if self.is_sqlite {
            "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)"
        } else {
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
        };
        let (now,): (i64,) = sqlx::query_as(sql).fetch_one(&self.poller).await?;
        Ok(now)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.reads.close().await;
        self.writes.close().await;
        self.poller.close().await;
    }
}

/// A pool of up to `size` connections, each set up with `settings` when it opens.
async fn pool(
    options: &AnyConnectOptions,
    size: u32,
    settings: &'static [&'static str],
) -> sqlx::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                for setting in settings {
                    conn.execute(*setting).await?;
                }
                Ok(())
            })
        })
        .connect_with(options.clone())
        .await
}

/// Adds `mode=rwc` so that a missing database file is created, and creates its folder.
/// An in-memory database is refused: each of the server's connections would open one of
/// its own.
fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        anyhow::bail!(
            "DATABASE_URL names an in-memory SQLite database, which the server's connections \
             cannot share: name a file (sqlite://data/app.db)"
        );
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// A unique constraint, as each database names it in its errors.
struct UniqueConstraint {
    /// PostgreSQL's constraint name.
    postgres: &'static str,
    /// SQLite's `table.column` in "UNIQUE constraint failed: …".
    sqlite: &'static str,
}

/// The unique email of `users`.
const USERS_EMAIL: UniqueConstraint = UniqueConstraint {
    postgres: "users_email_key",
    sqlite: "users.email",
};

/// [`InsertError::Conflict`] when `error` violates `constraint`, and only that one: any
/// other violation is a bug, not a taken value.
fn on_constraint(error: sqlx::Error, constraint: &UniqueConstraint) -> InsertError {
    match &error {
        sqlx::Error::Database(db)
            if db.is_unique_violation()
                && (db.constraint() == Some(constraint.postgres)
                    || db
                        .message()
                        .strip_prefix("UNIQUE constraint failed: ")
                        .is_some_and(|columns| columns == constraint.sqlite)) =>
        {
            InsertError::Conflict
        }
        _ => InsertError::Db(error),
    }
}

/// A store on a SQLite file of its own, migrated, for unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Store;

    /// The URL of the database file in `dir`.
    pub fn sqlite_url(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}", dir.path().join("store.db").display())
    }

    /// A fresh, migrated store in a folder that lives as long as the returned handle.
    pub async fn fresh_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    pub use testkit::database::TestDatabase;

    /// A fresh PostgreSQL database (dropped with its handle), a migrated store on it, and
    /// a connection of another client, to take locks with.
    pub async fn fresh_postgres() -> (TestDatabase, Store, sqlx::PgConnection) {
        let database = TestDatabase::postgres().await;
        let store = Store::connect(database.url()).await.unwrap();
        store.migrate().await.unwrap();
        let other = <sqlx::PgConnection as sqlx::Connection>::connect(database.url())
            .await
            .unwrap();
        (database, store, other)
    }

    /// Returns once a statement of another connection waits for a lock that `other`
    /// holds (fails the test after 10 s).
    pub async fn until_blocked_by(other: &mut sqlx::PgConnection) {
        let blocked = async {
            while !blocked_by(other).await {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), blocked)
            .await
            .expect("nothing waited for the lock");
    }

    /// Whether a statement of another connection waits for a lock that `other` holds.
    pub async fn blocked_by(other: &mut sqlx::PgConnection) -> bool {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))",
        )
        .fetch_one(other)
        .await
        .unwrap();
        waiting > 0
    }

    /// Takes the revocation poll's one connection: the poll's next query waits until the
    /// returned connection is dropped (and fails with `PoolTimedOut` after 3 s).
    pub async fn hold_poller(store: &Store) -> sqlx::pool::PoolConnection<sqlx::Any> {
        store.poller.acquire().await.unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_in_memory_sqlite_database_is_refused_with_a_reason() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://app.db?mode=memory",
        ] {
            let error = sqlite_url(url).unwrap_err().to_string();
            assert!(error.contains("in-memory"), "{url}: {error}");
        }
        assert!(
            sqlite_url("sqlite://app.db")
                .unwrap()
                .ends_with("app.db?mode=rwc")
        );
    }

    /// On SQLite, a write sent to the readers fails instead of contending with the one
    /// writer; the writer's commits are what the readers see next.
    #[tokio::test]
    async fn sqlite_readers_only_read_and_see_the_writers_commits() {
        let (_dir, store) = testing::fresh_store().await;

        let write = "INSERT INTO throttle_locks (scope, subject, touched_at) VALUES ('ip', 'x', 1)";
        let refused = sqlx::query(write).execute(&store.reads).await.unwrap_err();
        assert!(
            refused.to_string().contains("readonly"),
            "a reader wrote: {refused}"
        );
        sqlx::query(write).execute(&store.writes).await.unwrap();
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM throttle_locks")
            .fetch_one(&store.reads)
            .await
            .unwrap();
        assert_eq!(count, 1);
        assert_eq!(store.writes.options().get_max_connections(), 1);
        store.close().await;
    }

    #[tokio::test]
    async fn the_revocation_poll_is_not_queued_behind_requests() {
        let (_dir, store) = testing::fresh_store().await;
        // Requests hold every reader and the writer.
        let mut held = vec![store.writes.acquire().await.unwrap()];
        for _ in 0..SQLITE_READERS {
            held.push(store.reads.acquire().await.unwrap());
        }
        let polled = tokio::time::timeout(Duration::from_secs(1), async {
            store.database_time_ms().await?;
            store.revoked_since(0).await
        })
        .await;
        assert!(matches!(polled, Ok(Ok(_))), "{polled:?}");
        drop(held);
        store.close().await;
    }
}
