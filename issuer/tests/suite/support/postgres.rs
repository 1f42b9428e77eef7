//! A throw-away database on the `TEST_DATABASE_URL` server (scripts/test starts
//! one), for service tests that run the whole issuer on PostgreSQL.

use super::require::{require, Dep};

/// A fresh database named `<prefix>_<uuid>`: its URL, and the admin connection
/// to drop it with [`FreshDatabase::drop_now`]. `None` when PostgreSQL is
/// missing and the test may be skipped (see [`require`]).
pub struct FreshDatabase {
    pub url: String,
    name: String,
    admin: tokio_postgres::Client,
}

impl FreshDatabase {
    pub async fn create(prefix: &str) -> Option<Self> {
        let admin_url = require(Dep::Postgres)?;
        let (admin, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
        let (scheme, rest) = admin_url.split_once("://").unwrap();
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let query = tail.find('?').map_or("", |start| &tail[start..]);
        Some(Self { url: format!("{scheme}://{authority}/{name}{query}"), name, admin })
    }

    /// Best effort: other connections (the pool) may still be closing.
    pub async fn drop_now(self) {
        let _ = self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await;
    }
}
