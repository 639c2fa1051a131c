//! Changing a local user's password hash.

use super::audit::{Actor, NewAuditEvent};
use super::{audited_change, Store, StoreResult};
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
        let found = audited_change!(self, |tx| {
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
            let event = (changed == 1).then(|| {
                NewAuditEvent::new(Some(site_id), now, actor, "user.password_set")
                    .with_detail(serde_json::json!({ "user_id": user_id }))
            });
            (changed == 1, event)
        });
        Ok(found)
    }
}
