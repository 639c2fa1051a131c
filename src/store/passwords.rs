//! Changing a local user's password hash.

use super::audit::{self, Actor, NewAuditEvent};
use super::{on_store, BeginWrite, Store, StoreResult};
use crate::clock::Millis;

impl Store {
    /// Replaces the password hash of a user of `site_id`; false when there is no such user.
    pub async fn set_user_password_hash(
        &self,
        site_id: i64,
        user_id: i64,
        password_hash: &str,
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<bool> {
        let found = on_store!(self, write, |pool| {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query(
                "UPDATE users SET password_hash = $1, updated_at = $2 \
                     WHERE site_id = $3 AND user_id = $4",
            )
            .bind(password_hash)
            .bind(now)
            .bind(site_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                let event = NewAuditEvent::new(Some(site_id), now, actor, "user.password_set")
                    .with_detail(serde_json::json!({ "user_id": user_id }));
                audit::insert_query(&event).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            changed == 1
        });
        Ok(found)
    }
}
