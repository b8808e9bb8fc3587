//! How the `outage` scenario takes PostgreSQL away from the server and gives it back: a
//! TCP proxy between them that is cut and restored, or the local cluster itself stopped
//! and started with `pg_ctlcluster` (which every other client of that server notices).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, bail};

use crate::options::OutageKind;
use crate::proxy::Proxy;

/// Where Debian keeps its PostgreSQL clusters' configuration: `<version>/<name>/`.
const CLUSTERS: &str = "/etc/postgresql";
/// The cluster `pg_ctlcluster` stops and starts.
const CLUSTER_NAME: &str = "main";

/// The switch between the server and its database.
pub enum Switch {
    /// A proxy the server reaches PostgreSQL through.
    Proxy(Proxy),
    /// The local cluster.
    Cluster(Cluster),
}

impl Switch {
    /// The switch of `kind` for the PostgreSQL server at `admin_url`.
    pub async fn new(kind: OutageKind, admin_url: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(admin_url).context("--postgres-url is not a URL")?;
        let host = url.host_str().unwrap_or("localhost").to_owned();
        let port = url.port().unwrap_or(5432);
        match kind {
            OutageKind::Proxy => {
                let target = tokio::net::lookup_host((host.as_str(), port))
                    .await
                    .with_context(|| format!("cannot resolve {host}"))?
                    .next()
                    .with_context(|| format!("{host} has no address"))?;
                Ok(Self::Proxy(Proxy::start(target)?))
            }
            OutageKind::PgCtl => {
                if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]" | "::1") {
                    bail!(
                        "--outage pg-ctl stops the PostgreSQL cluster of this machine, but \
                         --postgres-url names {host}"
                    );
                }
                Ok(Self::Cluster(Cluster::find(Path::new(CLUSTERS))?))
            }
        }
    }

    /// The server's `DATABASE_URL` for the database at `url`: through the proxy, or as it is.
    pub fn server_url(&self, url: &str) -> anyhow::Result<String> {
        match self {
            Self::Proxy(proxy) => {
                let mut url = url::Url::parse(url).context("the database URL is not a URL")?;
                let addr = proxy.addr();
                url.set_host(Some(&addr.ip().to_string()))
                    .context("cannot point the database URL at the proxy")?;
                url.set_port(Some(addr.port()))
                    .map_err(|()| anyhow::anyhow!("cannot point the database URL at the proxy"))?;
                Ok(url.into())
            }
            Self::Cluster(_) => Ok(url.to_owned()),
        }
    }

    /// What the cut is, for the report.
    pub fn describe(&self) -> String {
        match self {
            Self::Proxy(_) => "a TCP proxy between the server and PostgreSQL cut (its \
                               connections closed, new ones refused), then restored"
                .to_owned(),
            Self::Cluster(cluster) => format!(
                "PostgreSQL {} stopped (`pg_ctlcluster {} {CLUSTER_NAME} stop`, a fast \
                 shutdown), then started",
                cluster.version, cluster.version
            ),
        }
    }

    /// Takes the database away; returns once no new connection can reach it.
    pub async fn cut(&self) -> anyhow::Result<()> {
        match self {
            Self::Proxy(proxy) => proxy.cut().await,
            Self::Cluster(cluster) => cluster.stop().await,
        }
    }

    /// Gives it back; returns once it accepts connections again.
    pub async fn restore(&self) -> anyhow::Result<()> {
        match self {
            Self::Proxy(proxy) => proxy.restore().await,
            Self::Cluster(cluster) => cluster.start().await,
        }
    }
}

/// The machine's PostgreSQL cluster, started again when dropped if the run stopped it.
pub struct Cluster {
    version: String,
    stopped: AtomicBool,
}

impl Cluster {
    /// The `main` cluster of the newest version configured under `clusters`.
    fn find(clusters: &Path) -> anyhow::Result<Self> {
        let mut versions: Vec<(Vec<u32>, String)> = std::fs::read_dir(clusters)
            .with_context(|| {
                format!(
                    "no PostgreSQL cluster is configured ({})",
                    clusters.display()
                )
            })?
            .filter_map(Result::ok)
            .filter(|entry| entry.path().join(CLUSTER_NAME).is_dir())
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let key = name
                    .split('.')
                    .map(str::parse)
                    .collect::<Result<Vec<u32>, _>>()
                    .ok()?;
                Some((key, name))
            })
            .collect();
        versions.sort();
        let (_, version) = versions
            .pop()
            .with_context(|| format!("no {CLUSTER_NAME} cluster under {}", clusters.display()))?;
        Ok(Self {
            version,
            stopped: AtomicBool::new(false),
        })
    }

    async fn stop(&self) -> anyhow::Result<()> {
        self.stopped.store(true, Ordering::SeqCst);
        self.control("stop").await
    }

    async fn start(&self) -> anyhow::Result<()> {
        self.control("start").await?;
        self.stopped.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// `pg_ctlcluster <version> main <action>`, which returns once it is done.
    async fn control(&self, action: &'static str) -> anyhow::Result<()> {
        let version = self.version.clone();
        tokio::task::spawn_blocking(move || pg_ctlcluster(&version, action))
            .await
            .context("the pg_ctlcluster task failed")?
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.stopped.load(Ordering::SeqCst) {
            eprintln!(
                "loadtest: starting PostgreSQL {} again after a failed run",
                self.version
            );
            if let Err(error) = pg_ctlcluster(&self.version, "start") {
                eprintln!("loadtest: {error:#}");
            }
        }
    }
}

fn pg_ctlcluster(version: &str, action: &str) -> anyhow::Result<()> {
    let output = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", version, CLUSTER_NAME, action])
        .output()
        .context("cannot run pg_ctlcluster")?;
    if !output.status.success() {
        bail!(
            "pg_ctlcluster {version} {CLUSTER_NAME} {action} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_version_with_a_main_cluster_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        for cluster in ["9.6/main", "15/main", "16/other", "notes/main"] {
            std::fs::create_dir_all(dir.path().join(cluster)).unwrap();
        }
        assert_eq!(Cluster::find(dir.path()).unwrap().version, "15");
        let empty = tempfile::tempdir().unwrap();
        assert!(Cluster::find(empty.path()).is_err());
    }
}
