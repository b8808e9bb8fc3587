//! A fresh database per test: a new SQLite file in a temporary folder (the server
//! migrates it), or a new PostgreSQL database copied from a migrated template and
//! dropped when the test ends.
//!
//! `TEST_DATABASE=postgres` runs the suites that call [`TestDatabase::fresh`] on
//! PostgreSQL; `TEST_POSTGRES_URL` names the server (default: the local one, user
//! `postgres`, trust authentication).

use std::path::PathBuf;

use sqlx::{Connection, Executor, PgConnection, Row};
use tempfile::TempDir;

/// The server used when `TEST_POSTGRES_URL` is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Prefix of the databases tests create, so that leftovers can be found and dropped.
pub const DATABASE_PREFIX: &str = "jwt_auth_test_";
/// Prefix of the migrated templates test databases are copied from.
const TEMPLATE_PREFIX: &str = "jwt_auth_template_";
/// The advisory lock under which the template is checked, made and copied.
const TEMPLATE_LOCK: i64 = 0x6a77_7461_7574;

/// The backend's migrations, to build the template with.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../backend/migrations");

/// The template for the current migrations (named by their checksums, so a changed or
/// new migration makes a new one), created if missing; older templates are dropped.
/// Runs under the advisory lock.
async fn ensure_template(admin: &mut PgConnection, base: &str) -> String {
    let mut digest = 0xcbf2_9ce4_8422_2325_u64;
    for migration in MIGRATOR.iter() {
        let version = migration.version.to_le_bytes();
        let parts = [
            &version[..],
            migration.description.as_bytes(),
            &migration.checksum,
        ];
        for byte in parts.into_iter().flatten() {
            digest = (digest ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let template = format!("{TEMPLATE_PREFIX}{digest:016x}");
    let existing: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE $1 || '%'")
            .bind(TEMPLATE_PREFIX)
            .fetch_all(&mut *admin)
            .await
            .expect("list templates");
    if existing.contains(&template) {
        return template;
    }
    for old in existing {
        let _ = admin
            .execute(format!("DROP DATABASE IF EXISTS \"{old}\" WITH (FORCE)").as_str())
            .await;
    }
    // Built under another name and renamed when complete, so a half-made template is
    // never used.
    let building = format!("{template}_building");
    let _ = admin
        .execute(format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)").as_str())
        .await;
    admin
        .execute(format!("CREATE DATABASE \"{building}\"").as_str())
        .await
        .expect("create the template");
    let mut conn = PgConnection::connect(&format!("{base}/{building}"))
        .await
        .expect("connect to the template");
    MIGRATOR.run(&mut conn).await.expect("migrate the template");
    conn.close().await.expect("disconnect from the template");
    admin
        .execute(format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\"").as_str())
        .await
        .expect("name the template");
    template
}

/// One test's database.
pub enum TestDatabase {
    /// A SQLite file.
    Sqlite {
        /// `sqlite://…`.
        url: String,
        /// The folder that holds the file (and its WAL).
        dir: TempDir,
    },
    /// A PostgreSQL database of its own.
    Postgres {
        /// `postgres://…/<name>`.
        url: String,
        /// The server's maintenance database, used to drop this one.
        admin_url: String,
        /// Database name.
        name: String,
    },
}

impl TestDatabase {
    /// SQLite, or PostgreSQL when `TEST_DATABASE=postgres`.
    pub async fn fresh() -> Self {
        match std::env::var("TEST_DATABASE").as_deref() {
            Ok("postgres") => Self::postgres().await,
            Ok("sqlite") | Err(_) => Self::sqlite(),
            Ok(other) => panic!("TEST_DATABASE={other}: expected sqlite or postgres"),
        }
    }

    /// A new SQLite file.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/app.db", dir.path().display());
        Self::Sqlite { url, dir }
    }

    /// A new PostgreSQL database with the schema already in place (copied from a migrated
    /// template, which is much faster than migrating each one).
    pub async fn postgres() -> Self {
        Self::create_postgres(true).await
    }

    /// SQLite, or PostgreSQL when `TEST_DATABASE=postgres`, with no schema at all (for
    /// tests of the migrations themselves).
    pub async fn fresh_unmigrated() -> Self {
        match std::env::var("TEST_DATABASE").as_deref() {
            Ok("postgres") => Self::create_postgres(false).await,
            Ok("sqlite") | Err(_) => Self::sqlite(),
            Ok(other) => panic!("TEST_DATABASE={other}: expected sqlite or postgres"),
        }
    }

    async fn create_postgres(migrated: bool) -> Self {
        let admin_url =
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        let name = format!("{DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin_url} is not reachable ({e}); scripts/test starts one")
        });
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base)
            .to_owned();
        if migrated {
            // Made, replaced and copied under one lock, so no test (of this checkout or
            // another on the same server) drops a template while another copies it.
            admin
                .execute(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})").as_str())
                .await
                .expect("take the template lock");
            let template = ensure_template(&mut admin, &base).await;
            admin
                .execute(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"").as_str())
                .await
                .expect("create test database");
            admin
                .execute(format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})").as_str())
                .await
                .expect("release the template lock");
        } else {
            admin
                .execute(format!("CREATE DATABASE \"{name}\"").as_str())
                .await
                .expect("create test database");
        }
        let _ = admin.close().await;
        let url = format!("{base}/{name}");
        Self::Postgres {
            url,
            admin_url,
            name,
        }
    }

    /// The URL to give the backend.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// The URL with the host and port replaced (to route it through a [`crate::TcpProxy`]).
    pub fn url_via(&self, host_port: &str) -> String {
        let url = self.url();
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let userinfo = authority
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"));
        format!(
            "{scheme}://{}{host_port}/{path}",
            userinfo.unwrap_or_default()
        )
    }

    /// The first column of the first row of `sql`, as an integer (PostgreSQL only).
    pub async fn query_i64(&self, sql: &str) -> i64 {
        let Self::Postgres { url, .. } = self else {
            panic!("query_i64 is for PostgreSQL test databases");
        };
        let mut conn = PgConnection::connect(url).await.unwrap();
        conn.fetch_one(sql).await.unwrap().get::<i64, _>(0)
    }

    /// Everything the database stores, as text, to search for values that must never be
    /// stored (such as refresh tokens).
    pub async fn dump(&self) -> String {
        match self {
            Self::Sqlite { dir, .. } => {
                let mut bytes = Vec::new();
                for entry in std::fs::read_dir(dir.path()).unwrap() {
                    let path: PathBuf = entry.unwrap().path();
                    bytes.extend(std::fs::read(path).unwrap());
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Self::Postgres { url, .. } => {
                let mut conn = PgConnection::connect(url).await.unwrap();
                let mut text = String::new();
                for table in ["users", "sessions", "refresh_tokens", "login_failures"] {
                    let row = conn
                        .fetch_one(
                            format!("SELECT COALESCE(string_agg(t::text, ' '), '') FROM {table} t")
                                .as_str(),
                        )
                        .await
                        .unwrap();
                    text.push_str(&row.get::<String, _>(0));
                }
                text
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; use a thread with a runtime of its own.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    admin.execute(sql.as_str()).await.ok()
                })
            })
            .join();
            if !matches!(dropped, Ok(Some(_))) {
                eprintln!("could not drop test database {}", self.url());
            }
        }
    }
}
