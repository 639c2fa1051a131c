//! Settings of the installation as its servers run them, recorded in the store so that
//! the operators' commands, which run in another process, apply the same policy.

use super::{on_store, Store, StoreResult};
use crate::clock::Millis;

/// Whether the servers allow `http` and internal cookie-login endpoints.
const PRIVATE_ENDPOINTS: &str = "allow_private_endpoints";

impl Store {
    /// Records what a starting server allows (the last server to start decides).
    pub async fn record_private_endpoints_policy(
        &self,
        allowed: bool,
        now: Millis,
    ) -> StoreResult<()> {
        on_store!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO installation_settings (name, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(PRIVATE_ENDPOINTS)
            .bind(allowed.to_string())
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether the last server that started allowed private endpoints (false when none
    /// has started yet).
    pub async fn private_endpoints_allowed(&self) -> StoreResult<bool> {
        let value: Option<String> = on_store!(self, read, |pool| {
            sqlx::query_scalar("SELECT value FROM installation_settings WHERE name = $1")
                .bind(PRIVATE_ENDPOINTS)
                .fetch_optional(pool)
                .await?
        });
        Ok(value.as_deref() == Some("true"))
    }
}
