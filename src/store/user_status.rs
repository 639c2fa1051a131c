//! Bans, deactivation and deletion of users: each change ends the user's sessions and
//! records its audit event in the same transaction.

use super::audit::{Actor, NewAuditEvent};
use super::users::Ban;
use super::{audited_change, on_store, Store, StoreResult};
use crate::clock::Millis;

impl Store {
    /// Bans a user and ends all of their sessions, in one transaction.
    /// False when the site has no such user.
    pub async fn ban_user(
        &self,
        site_id: i64,
        user_id: i64,
        ban: &Ban,
        actor: &Actor,
    ) -> StoreResult<bool> {
        let now = ban.banned_at;
        let found = audited_change!(self, |tx| {
            let changed = sqlx::query(
                "UPDATE users SET banned_at = $1, ban_ends_at = $2, ban_reason = $3, ban_note = $4, updated_at = $1 \
                 WHERE site_id = $5 AND user_id = $6",
            )
            .bind(ban.banned_at)
            .bind(ban.ends_at)
            .bind(&ban.reason)
            .bind(&ban.note)
            .bind(site_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let mut event = None;
            if changed == 1 {
                let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                event = Some(
                    NewAuditEvent::new(Some(site_id), now, actor, "user.banned").with_detail(
                        serde_json::json!({
                            "user_id": user_id, "ends_at": ban.ends_at, "reason": ban.reason,
                            "sessions_ended": ended,
                        }),
                    ),
                );
            }
            (changed == 1, event)
        });
        Ok(found)
    }

    /// Lifts a ban; false when the site has no such user or it is not banned
    /// (then nothing is written, not even an audit event).
    pub async fn unban_user(
        &self,
        site_id: i64,
        user_id: i64,
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<bool> {
        let found = audited_change!(self, |tx| {
            let changed = sqlx::query(
                "UPDATE users SET banned_at = NULL, ban_ends_at = NULL, ban_reason = NULL, ban_note = NULL, \
                 updated_at = $1 WHERE site_id = $2 AND user_id = $3 AND banned_at IS NOT NULL",
            )
            .bind(now)
            .bind(site_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let event = (changed == 1).then(|| {
                NewAuditEvent::new(Some(site_id), now, actor, "user.unbanned")
                    .with_detail(serde_json::json!({ "user_id": user_id }))
            });
            (changed == 1, event)
        });
        Ok(found)
    }
}

/// Deactivation, deletion and counts: each status change ends the user's sessions in
/// the same transaction (a session is only live while its user may log in anyway;
/// ending them keeps the sessions table honest).
impl Store {
    /// Activates or deactivates a user; false when the site has no such user or it
    /// already is in that state (nothing is written then).
    pub async fn set_user_active(
        &self,
        site_id: i64,
        user_id: i64,
        active: bool,
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<bool> {
        let action = if active {
            "user.activated"
        } else {
            "user.deactivated"
        };
        let changed = self
            .change_user_status(
                "UPDATE users SET active = $1, updated_at = $2 WHERE site_id = $3 AND user_id = $4 AND active <> $1",
                active,
                (site_id, user_id, now),
                NewAuditEvent::new(Some(site_id), now, actor, action),
            )
            .await?;
        Ok(changed.is_some())
    }

    /// Marks a user deleted and erases its profile (the row is kept for the audit
    /// trail; it can never log in again); false when the site has no such user or it
    /// already was deleted.
    pub async fn mark_user_deleted(
        &self,
        site_id: i64,
        user_id: i64,
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<bool> {
        let changed = self.change_user_status(
            // The row stays (the id is never reused, and the site's external id keeps
            // being refused); everything personal is erased.
            "UPDATE users SET deleted = $1, updated_at = $2, username = NULL, username_key = NULL, \
               email = NULL, email_key = NULL, display_name = '', first_name = '', last_name = '', \
               photo_url = NULL, social_data = NULL, password_hash = NULL, language = NULL \
             WHERE site_id = $3 AND user_id = $4 AND NOT deleted",
            true,
            (site_id, user_id, now),
            NewAuditEvent::new(Some(site_id), now, actor, "user.deleted"),
        )
        .await?;
        Ok(changed.is_some())
    }

    /// Runs `update` (binds: `$1` flag, `$2` now, `$3` site, `$4` user) and, when it
    /// changed the user, ends all of its sessions and records `event`, in one
    /// transaction. `Some(sessions ended)`, or `None` when nothing changed.
    pub(super) async fn change_user_status(
        &self,
        update: &'static str,
        flag: bool,
        (site_id, user_id, now): (i64, i64, Millis),
        event: NewAuditEvent,
    ) -> StoreResult<Option<u64>> {
        let found = audited_change!(self, |tx| {
            let changed = sqlx::query(update)
                .bind(flag)
                .bind(now)
                .bind(site_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 1 {
                let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let event = event.with_detail(
                    serde_json::json!({ "user_id": user_id, "sessions_ended": ended }),
                );
                (Some(ended), Some(event))
            } else {
                (None, None)
            }
        });
        Ok(found)
    }

    /// How many users a site has (deleted ones included).
    pub async fn count_site_users(&self, site_id: i64) -> StoreResult<i64> {
        let count = on_store!(self, read, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE site_id = $1")
                .bind(site_id)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}
