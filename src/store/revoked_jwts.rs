//! Revoked JWT ids, stored as SHA-256 digests so that a logout on one node holds on all.

use super::audit::NewAuditEvent;
use super::{audited_change, on_store, Store, StoreResult};
use crate::clock::Millis;
use crate::secrets::SecretHash;

impl Store {
    /// Revokes a jti until `keep_until`, recording `event` (a refresh or logout of a
    /// password-login JWT) in the same transaction. False when it was already revoked
    /// (nothing is written then), which makes refresh single-use even when two
    /// requests race with the same token.
    pub async fn revoke_jti(
        &self,
        jti: &SecretHash,
        now: Millis,
        keep_until: Millis,
        event: &NewAuditEvent,
    ) -> StoreResult<bool> {
        let revoked = audited_change!(self, |tx| {
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
            (inserted == 1, (inserted == 1).then_some(event))
        });
        Ok(revoked)
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
