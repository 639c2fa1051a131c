//! Revoked JWT ids, stored as SHA-256 digests so that a logout on one node holds on all.

use super::audit::{self, NewAuditEvent};
use super::{on_store, BeginWrite, Store, StoreResult};
use crate::clock::Millis;
use crate::secrets::SecretHash;

impl Store {
    /// Revokes a jti until `keep_until`. False when it was already revoked, which makes
    /// refresh single-use even when two requests race with the same token.
    pub async fn revoke_jti(
        &self,
        jti: &SecretHash,
        now: Millis,
        keep_until: Millis,
    ) -> StoreResult<bool> {
        self.revoke_jti_audited(jti, now, keep_until, None).await
    }

    /// [`Store::revoke_jti`] recording `event` in the same transaction when it revoked
    /// (a refresh or logout of a password-login JWT).
    pub async fn revoke_jti_audited(
        &self,
        jti: &SecretHash,
        now: Millis,
        keep_until: Millis,
        event: Option<&NewAuditEvent>,
    ) -> StoreResult<bool> {
        let inserted = on_store!(self, write, |pool| {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO revoked_jwts (jti_hash, revoked_at, keep_until) VALUES ($1, $2, $3) \
                     ON CONFLICT (jti_hash) DO NOTHING",
            )
            .bind(jti.as_bytes())
            .bind(now)
            .bind(keep_until)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if let (1, Some(event)) = (inserted, event) {
                audit::insert_query(event).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            inserted
        });
        Ok(inserted == 1)
    }

    pub async fn is_jti_revoked(&self, jti: &SecretHash) -> StoreResult<bool> {
        let found = on_store!(self, read, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT revoked_at FROM revoked_jwts WHERE jti_hash = $1")
                .bind(jti.as_bytes())
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    /// Deletes revocations of tokens that can no longer be used nor refreshed.
    pub async fn purge_expired_revocations(&self, now: Millis) -> StoreResult<u64> {
        let deleted = on_store!(self, write, |pool| {
            sqlx::query("DELETE FROM revoked_jwts WHERE keep_until < $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }
}
