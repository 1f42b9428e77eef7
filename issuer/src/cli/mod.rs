//! Operators' command-line tools on the issuer's own store (`issuer status …`,
//! `issuer staff …`, `issuer token …`) and on a running issuer (`issuer
//! notarize …`, `issuer bulk-issue …`). The store tools find the store through one [`StoreLocation`].

pub mod accounts;
pub mod bulk;
pub mod notarize;
pub mod status;

use std::path::PathBuf;

use anyhow::Context as _;

use crate::store::Store;

/// Where the store is (the same settings as `issuer serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct StoreLocation {
    /// The issuer's data directory (its SQLite database is `issuer.sqlite3` there;
    /// `staff` and `token` create it when missing).
    #[arg(long, env = "ISSUER_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL instead of the data directory's SQLite file.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreLocation {
    /// The store, which must exist (never an empty one made by a mistyped
    /// `--data-dir`).
    ///
    /// # Errors
    /// No database in the data directory; the store cannot be opened.
    pub async fn open(&self) -> anyhow::Result<Store> {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => {
                let path = self.data_dir.join("issuer.sqlite3");
                anyhow::ensure!(path.is_file(), "no issuer database at {} (check --data-dir)", path.display());
                format!("sqlite://{}", path.display())
            }
        };
        Store::connect(&url).await.context("opening the store")
    }

    /// The store, creating the data directory and its database when missing (the
    /// first staff account is made before the first start).
    ///
    /// # Errors
    /// The directory or the store cannot be created or opened.
    pub async fn open_or_create(&self) -> anyhow::Result<Store> {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("creating {}", self.data_dir.display()))?;
                format!("sqlite://{}", self.data_dir.join("issuer.sqlite3").display())
            }
        };
        Store::connect(&url).await.context("opening the store")
    }
}
