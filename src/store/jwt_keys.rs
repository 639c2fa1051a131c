//! Ed25519 signing keys of password-login JWTs, shared by every node through the store.

use super::audit::{Actor, NewAuditEvent};
use super::{audited_change, on_store, Store, StoreResult};
use crate::clock::Millis;

/// A stored key. The private half is a secret: `Debug` shows only the kid.
#[derive(Clone, sqlx::FromRow)]
pub struct StoredJwtKey {
    pub kid: String,
    pub public_key: Vec<u8>,
    pub private_key: Vec<u8>,
    pub created_at: Millis,
    pub retired_at: Option<Millis>,
}

impl std::fmt::Debug for StoredJwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredJwtKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

const KEY_COLUMNS: &str = "kid, public_key, private_key, created_at, retired_at";

impl Store {
    /// Every stored key, newest first.
    pub async fn list_jwt_keys(&self) -> StoreResult<Vec<StoredJwtKey>> {
        let keys = on_store!(self, read, |pool| {
            sqlx::query_as::<_, StoredJwtKey>(&format!(
                "SELECT {KEY_COLUMNS} FROM jwt_keys ORDER BY created_at DESC, kid"
            ))
            .fetch_all(pool)
            .await?
        });
        Ok(keys)
    }

    /// The kid of the current signing key: the newest one not retired. Several nodes
    /// creating a first key at once all agree on this one.
    pub async fn current_jwt_kid(&self) -> StoreResult<Option<String>> {
        let kid = on_store!(self, read, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT kid FROM jwt_keys WHERE retired_at IS NULL \
                     ORDER BY created_at DESC, kid LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
        });
        Ok(kid)
    }

    /// Adds `key` as the current key; with `retire_others`, every other key is retired
    /// now (a rotation), in the same transaction.
    pub async fn insert_jwt_key(
        &self,
        key: &StoredJwtKey,
        retire_others: bool,
        actor: &Actor,
    ) -> StoreResult<()> {
        let now = key.created_at;
        audited_change!(self, |tx| {
            if retire_others {
                sqlx::query("UPDATE jwt_keys SET retired_at = $1 WHERE retired_at IS NULL")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(&format!(
                "INSERT INTO jwt_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, NULL)"
            ))
            .bind(&key.kid)
            .bind(&key.public_key)
            .bind(&key.private_key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let action = if retire_others {
                "jwt_key.rotated"
            } else {
                "jwt_key.created"
            };
            let event = NewAuditEvent::new(None, now, actor, action)
                .with_detail(serde_json::json!({ "kid": key.kid }));
            ((), Some(event))
        });
        Ok(())
    }

    /// Deletes keys retired before `retired_before` (nothing they signed can be used any more).
    pub async fn purge_retired_jwt_keys(&self, retired_before: Millis) -> StoreResult<u64> {
        let deleted = on_store!(self, write, |pool| {
            sqlx::query("DELETE FROM jwt_keys WHERE retired_at IS NOT NULL AND retired_at < $1")
                .bind(retired_before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }
}
