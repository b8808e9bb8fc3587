//! The server's fresh database: a SQLite file in the run's temporary folder, or a
//! PostgreSQL database made for the run and dropped after it. The server migrates it.

use std::path::Path;

use anyhow::Context as _;
use sqlx::{Connection as _, Executor as _, PgConnection};

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

    /// The server's `DATABASE_URL`.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url } => url,
            Self::Postgres { url, .. } => url.as_str(),
        }
    }

    /// What it is, without any password: `SQLite` or `PostgreSQL (host:port, name)`.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite { .. } => "SQLite".to_owned(),
            Self::Postgres { url, name, .. } => format!("PostgreSQL ({}, {name})", host(url)),
        }
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

/// `host:port` of a URL.
fn host(url: &url::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("localhost"),
        url.port().unwrap_or(5432)
    )
}
