//! The server's fresh database: a SQLite file in the run's temporary folder, or a
//! PostgreSQL database made for the run and dropped after it. The server migrates it (or
//! the tool does, when it writes rows before the server starts), and the tool reads it
//! back after a run.

use std::path::Path;

use anyhow::Context as _;
use sqlx::{AnyConnection, Connection as _, Executor as _, PgConnection, Row as _};

use crate::options::DatabaseKind;

/// Prefix of the PostgreSQL databases runs create, so that leftovers can be recognised.
const POSTGRES_PREFIX: &str = "loadtest_";

/// A database no server has used yet.
pub enum FreshDatabase {
    /// A SQLite file (removed with its folder).
    Sqlite {
        /// `sqlite://…`.
        url: String,
    },
    /// A PostgreSQL database of this run's own.
    Postgres {
        /// `postgres://…/<name>`.
        url: url::Url,
        /// Where it was created from, and is dropped from.
        admin_url: String,
        /// Its name.
        name: String,
    },
}

impl FreshDatabase {
    /// A SQLite file in `dir`, or a new database on the PostgreSQL server at `admin_url`.
    pub async fn create(kind: DatabaseKind, dir: &Path, admin_url: &str) -> anyhow::Result<Self> {
        match kind {
            DatabaseKind::Sqlite => Ok(Self::Sqlite {
                url: format!("sqlite://{}/app.db", dir.display()),
            }),
            DatabaseKind::Postgres => {
                let mut url = url::Url::parse(admin_url)
                    .with_context(|| "--postgres-url is not a URL".to_owned())?;
                let mut random = [0u8; 8];
                getrandom::fill(&mut random)
                    .map_err(|e| anyhow::anyhow!("random source failed: {e}"))?;
                let name = format!("{POSTGRES_PREFIX}{}", backend::crypto::hex(random));
                let mut admin = PgConnection::connect(admin_url)
                    .await
                    .with_context(|| format!("PostgreSQL at {} does not answer", host(&url)))?;
                admin
                    .execute(format!("CREATE DATABASE \"{name}\"").as_str())
                    .await
                    .with_context(|| format!("cannot create database {name}"))?;
                let _ = admin.close().await;
                url.set_path(&name);
                Ok(Self::Postgres {
                    url,
                    admin_url: admin_url.to_owned(),
                    name,
                })
            }
        }
    }

    /// Which kind it is.
    pub fn kind(&self) -> DatabaseKind {
        match self {
            Self::Sqlite { .. } => DatabaseKind::Sqlite,
            Self::Postgres { .. } => DatabaseKind::Postgres,
        }
    }

    /// The server's `DATABASE_URL`.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url } => url,
            Self::Postgres { url, .. } => url.as_str(),
        }
    }

    /// Applies the backend's migrations, as the server would at start.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let store = backend::store::Store::connect(self.url())
            .await
            .context("cannot open the fresh database")?;
        let migrated = store.migrate().await;
        store.close().await;
        migrated.context("cannot migrate the fresh database")
    }

    /// A connection of the tool's own (migrated first: a SQLite file exists from then on).
    pub async fn connect(&self) -> anyhow::Result<AnyConnection> {
        sqlx::any::install_default_drivers();
        AnyConnection::connect(self.url())
            .await
            .context("cannot connect to the run's database")
    }

    /// How many audit events of `action` (`refresh_token_reuse`) the servers recorded.
    pub async fn count_audit_events(&self, action: &str) -> anyhow::Result<i64> {
        let mut conn = self.connect().await?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE action = $1")
                .bind(action)
                .fetch_one(&mut conn)
                .await
                .context("cannot count audit events")?;
        let _ = conn.close().await;
        Ok(count)
    }

    /// What SQLite says of the file (`PRAGMA integrity_check`, `PRAGMA
    /// foreign_key_check`), read with no server running; `None` on PostgreSQL, whose
    /// server does its own recovery and enforces its foreign keys on every write.
    pub async fn check_integrity(&self) -> anyhow::Result<Option<Integrity>> {
        if self.kind() != DatabaseKind::Sqlite {
            return Ok(None);
        }
        // A file too damaged to read is answered with an error rather than rows: that
        // error is the verdict.
        let mut conn = self.connect().await?;
        let integrity = match sqlx::query_as::<_, (String,)>("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
        {
            Ok(lines) => lines.into_iter().map(|(line,)| line).collect(),
            Err(error) => vec![format!("error: {error}")],
        };
        let dangling = match sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut conn)
            .await
        {
            Ok(rows) => rows.iter().map(describe_dangling).collect(),
            Err(error) => vec![format!("error: {error}")],
        };
        let _ = conn.close().await;
        Ok(Some(Integrity {
            integrity,
            dangling,
        }))
    }

    /// Drops a PostgreSQL database (the server must have stopped); a SQLite file goes with
    /// its folder.
    pub async fn remove(self) -> anyhow::Result<()> {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
        {
            let mut admin = PgConnection::connect(&admin_url).await?;
            admin
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await
                .with_context(|| format!("cannot drop database {name}"))?;
            let _ = admin.close().await;
        }
        Ok(())
    }
}

/// What SQLite found checking a database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integrity {
    /// The lines of `PRAGMA integrity_check` (`ok` alone when the file is sound), or the
    /// error it answered.
    pub integrity: Vec<String>,
    /// The rows of `PRAGMA foreign_key_check` (rows naming a row that does not exist), or
    /// the error it answered.
    pub dangling: Vec<String>,
}

impl Integrity {
    /// The file is sound and every reference resolves.
    pub fn is_sound(&self) -> bool {
        self.integrity == ["ok"] && self.dangling.is_empty()
    }
}

/// A row of `PRAGMA foreign_key_check`: `table`, `rowid`, `parent`, `fkid`.
fn describe_dangling(row: &sqlx::any::AnyRow) -> String {
    let table: String = row.try_get(0).unwrap_or_default();
    let rowid: Option<i64> = row.try_get(1).unwrap_or_default();
    let parent: String = row.try_get(2).unwrap_or_default();
    let rowid = rowid.map_or("?".to_owned(), |rowid| rowid.to_string());
    format!("{table} row {rowid} names a missing {parent} row")
}

/// What `kind` of database runs use, before one is made: `SQLite` or `PostgreSQL (host:port)`.
pub fn describe_kind(kind: DatabaseKind, admin_url: &str) -> String {
    match kind {
        DatabaseKind::Sqlite => "SQLite".to_owned(),
        DatabaseKind::Postgres => url::Url::parse(admin_url).map_or_else(
            |_| "PostgreSQL".to_owned(),
            |url| format!("PostgreSQL ({})", host(&url)),
        ),
    }
}

/// `host:port` of a URL.
fn host(url: &url::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("localhost"),
        url.port().unwrap_or(5432)
    )
}
