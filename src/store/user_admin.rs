//! What a site's administrators read and change about its users: search, sessions,
//! "log out everywhere", role and status changes; and the one change a user makes to
//! their own account, the profile of SPEC §6.1. Each change runs in one transaction
//! with its audit event.

use serde::{Deserialize, Serialize};

use super::audit::NewAuditEvent;
use super::users::{User, UserRow, USER_COLUMNS};
use super::{audited_change, on_store, trigrams, Backend, Store, StoreResult};
use crate::clock::Millis;

/// The state an administrator filters users by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// May log in: active, not deleted, no ban in force.
    Active,
    /// A ban is in force.
    Banned,
    /// Deactivated (and not deleted).
    Inactive,
    Deleted,
}

impl UserStatus {
    pub const ALL: [UserStatus; 4] = [
        UserStatus::Active,
        UserStatus::Banned,
        UserStatus::Inactive,
        UserStatus::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Banned => "banned",
            UserStatus::Inactive => "inactive",
            UserStatus::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The condition on `users` (with `$2` = now) that selects this status.
    fn condition(self) -> &'static str {
        match self {
            UserStatus::Active => {
                "active AND NOT deleted AND (banned_at IS NULL OR (ban_ends_at IS NOT NULL AND ban_ends_at <= $2))"
            }
            UserStatus::Banned => {
                "NOT deleted AND banned_at IS NOT NULL AND (ban_ends_at IS NULL OR ban_ends_at > $2)"
            }
            UserStatus::Inactive => "NOT active AND NOT deleted",
            UserStatus::Deleted => "deleted",
        }
    }

    /// The status of one user now.
    pub fn of(user: &User, now: Millis) -> Self {
        if user.deleted {
            UserStatus::Deleted
        } else if user.ban_in_force(now).is_some() {
            UserStatus::Banned
        } else if !user.active {
            UserStatus::Inactive
        } else {
            UserStatus::Active
        }
    }
}

/// A page of a user search, newest first.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Case-insensitive substring of the external id, user name, display name or
    /// email; a number also matches that user id.
    pub text: Option<String>,
    pub status: Option<UserStatus>,
    /// Only users with a smaller id (the last id of the previous page): new users get
    /// larger ids, so pages stay correct while users are added.
    pub before_user_id: Option<i64>,
    pub limit: i64,
}

/// `LIKE` pattern for a substring, with its wildcards escaped (`\` is the escape).
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    trigrams::push_escaped(&mut pattern, text.chars());
    pattern.push('%');
    pattern
}

/// An FTS5 phrase: the text between double quotes, inner quotes doubled.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// One session of a user, as administrators see it (never its id or hash).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserSession {
    pub session_hash: Vec<u8>,
    pub kind: String,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub idle_expires_at: Millis,
    pub expires_at: Millis,
    pub client_ip: Option<String>,
}

impl UserSession {
    /// A public handle for the session: derived from its stored hash by another hash,
    /// so it reveals neither the session id nor the stored hash, and is stable.
    pub fn session_ref(&self) -> String {
        super::sessions::session_ref(&self.session_hash)
    }
}

/// What one of the changes below did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<T> {
    /// The site has no such user: nothing changed.
    NoSuchUser,
    /// Done; the audit event was written.
    Done(T),
    /// Already in the requested state: nothing changed, nothing audited.
    Unchanged,
}

/// A user's change of their own profile (SPEC §6.1); `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    /// `Some(None)` removes the photo (the widget shows its default avatar).
    pub photo_url: Option<Option<String>>,
}

/// What the widget shows of a user, after a change.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ShownProfile {
    pub display_name: String,
    pub photo_url: Option<String>,
}

const LIVE: &str = "idle_expires_at > $3 AND expires_at > $3";

impl Store {
    /// A page of a site's users, newest first.
    pub async fn search_users(
        &self,
        site_id: i64,
        query: &UserQuery,
        now: Millis,
    ) -> StoreResult<Vec<User>> {
        // $1 site, $2 now, $3 before, $4 limit, $5 pattern, $6 user id the text names,
        // $7 the whole pattern when $5 is only its uncommon parts (PostgreSQL).
        let text = query.text.as_deref().filter(|t| !t.is_empty());
        let as_id: Option<i64> = text.and_then(|t| t.parse().ok());
        let trigram = text.is_some_and(|t| t.chars().count() >= 3);
        let sqlite = matches!(self.backend(), Backend::Sqlite { .. });
        let lower = text.map(str::to_lowercase);
        let mut pattern = lower.as_deref().map(|t| match self.backend() {
            // Trigram phrase for three characters or more (the index answers it);
            // shorter text falls back to LIKE over the indexed copies.
            Backend::Sqlite { .. } if trigram => fts_phrase(t),
            _ => like_pattern(t),
        });
        let mut whole: Option<String> = None;
        if let (Backend::Postgres(pool), Some(t), true) = (self.backend(), &lower, trigram) {
            let narrower = self
                .trigram_shares
                .shares(pool)
                .await?
                .and_then(|shares| trigrams::index_pattern(t, &shares));
            if let Some(narrower) = narrower {
                // The index is asked for the narrower pattern, the whole one checked after.
                whole = pattern.replace(narrower);
            }
        }
        // On SQLite, text that is no id walks the trigram index newest first and stops
        // at the page: a word that most users share costs a page, not a million rows
        // (the IN-list form below materialises every match before sorting them).
        let (mut sql, order) = if sqlite && trigram && as_id.is_none() {
            (
                format!(
                    "SELECT {USER_COLUMNS} FROM users_search JOIN users ON users.user_id = users_search.rowid \
                     WHERE users_search MATCH $5 AND users_search.rowid < $3 AND site_id = $1 \
                     AND $2 = $2 AND $6 IS NULL AND $7 IS NULL"
                ),
                " ORDER BY users_search.rowid DESC LIMIT $4",
            )
        } else {
            let mut sql = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE site_id = $1 AND user_id < $3 AND $2 = $2"
            );
            if text.is_some() {
                let matches = match self.backend() {
                    Backend::Sqlite { .. } if trigram => {
                        "user_id IN (SELECT rowid FROM users_search WHERE users_search MATCH $5) AND $7 IS NULL"
                    }
                    Backend::Sqlite { .. } => {
                        "user_id IN (SELECT rowid FROM users_search WHERE text LIKE $5 ESCAPE '\\') AND $7 IS NULL"
                    }
                    // The whole text is checked on another expression than the
                    // indexed one, so that the index is asked only for $5.
                    Backend::Postgres(_) if whole.is_some() => {
                        "search_text LIKE $5 ESCAPE '\\' AND (search_text || '') LIKE $7 ESCAPE '\\'"
                    }
                    Backend::Postgres(_) => "search_text LIKE $5 ESCAPE '\\' AND $7 IS NULL",
                };
                // The id branch only when the text is a number: a constant-false `OR`
                // would keep a prepared plan from using the trigram index alone.
                if as_id.is_some() {
                    sql.push_str(&format!(" AND (user_id = $6 OR ({matches}))"));
                } else {
                    sql.push_str(&format!(" AND $6 IS NULL AND {matches}"));
                }
            } else {
                sql.push_str(" AND $5 IS NULL AND $6 IS NULL AND $7 IS NULL");
            }
            (sql, " ORDER BY user_id DESC LIMIT $4")
        };
        if let Some(status) = query.status {
            sql.push_str(" AND ");
            sql.push_str(status.condition());
        }
        sql.push_str(order);
        let before = query.before_user_id.unwrap_or(i64::MAX);
        let rows = on_store!(self, read, |pool| {
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(site_id)
                .bind(now)
                .bind(before)
                .bind(query.limit)
                .bind(&pattern)
                .bind(as_id)
                .bind(&whole)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// The live sessions of a user, newest first.
    pub async fn user_sessions(
        &self,
        site_id: i64,
        user_id: i64,
        now: Millis,
    ) -> StoreResult<Vec<UserSession>> {
        let sessions = on_store!(self, read, |pool| {
            sqlx::query_as::<_, UserSession>(&format!(
                "SELECT session_hash, kind, created_at, last_seen_at, idle_expires_at, expires_at, client_ip \
                 FROM sessions WHERE site_id = $1 AND user_id = $2 AND {LIVE} \
                 ORDER BY created_at DESC"
            ))
            .bind(site_id)
            .bind(user_id)
            .bind(now)
            .fetch_all(pool)
            .await?
        });
        Ok(sessions)
    }

    /// How many live sessions a user has.
    pub async fn count_user_sessions(
        &self,
        site_id: i64,
        user_id: i64,
        now: Millis,
    ) -> StoreResult<i64> {
        let count = on_store!(self, read, |pool| {
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT COUNT(*) FROM sessions WHERE site_id = $1 AND user_id = $2 AND {LIVE}"
            ))
            .bind(site_id)
            .bind(user_id)
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// When the user last logged in successfully, from the audit log.
    pub async fn last_login_at(&self, site_id: i64, user_id: i64) -> StoreResult<Option<Millis>> {
        let at = on_store!(self, read, |pool| {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(at) FROM audit_events WHERE site_id = $1 AND user_id = $2 \
                 AND action = 'user.login' AND outcome = 'success'",
            )
            .bind(site_id)
            .bind(user_id)
            .fetch_one(pool)
            .await?
        });
        Ok(at)
    }

    /// Ends the session of `user_id` whose public handle is `session_ref`.
    pub async fn end_user_session(
        &self,
        site_id: i64,
        user_id: i64,
        session_ref: &str,
        event: NewAuditEvent,
    ) -> StoreResult<bool> {
        let now = event.at;
        let sessions = self.user_sessions(site_id, user_id, now).await?;
        let Some(session) = sessions.iter().find(|s| s.session_ref() == session_ref) else {
            return Ok(false);
        };
        let event = event.with_detail(serde_json::json!({
            "user_id": user_id, "session_ref": session_ref, "kind": session.kind,
        }));
        let ended = audited_change!(self, |tx| {
            let ended = sqlx::query(
                "DELETE FROM sessions WHERE session_hash = $1 AND site_id = $2 AND user_id = $3",
            )
            .bind(&session.session_hash)
            .bind(site_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            (ended == 1, (ended == 1).then_some(event))
        });
        Ok(ended)
    }

    /// Ends every session of a user and refuses every password-login JWT issued until
    /// now; `Done(sessions ended)`.
    pub async fn log_user_out_everywhere(
        &self,
        site_id: i64,
        user_id: i64,
        event: NewAuditEvent,
    ) -> StoreResult<Change<u64>> {
        let now = event.at;
        // `$1` is always true: the cut-off applies whatever the user's state.
        let ended = self
            .change_user_status(
                "UPDATE users SET tokens_not_before = $2 WHERE site_id = $3 AND user_id = $4 AND $1",
                true,
                (site_id, user_id, now),
                event,
            )
            .await?;
        Ok(ended.map_or(Change::NoSuchUser, Change::Done))
    }

    /// Changes a user's role; their console sessions end (they were opened with the
    /// old role). `Unchanged` when the role is already that.
    pub async fn set_user_role(
        &self,
        site_id: i64,
        user_id: i64,
        role: &str,
        event: NewAuditEvent,
    ) -> StoreResult<Change<()>> {
        let now = event.at;
        let change = audited_change!(self, |tx| {
            let current: Option<String> =
                sqlx::query_scalar("SELECT role FROM users WHERE site_id = $1 AND user_id = $2")
                    .bind(site_id)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            match current {
                None => (Change::NoSuchUser, None),
                Some(current) if current == role => (Change::Unchanged, None),
                Some(current) => {
                    sqlx::query(
                        "UPDATE users SET role = $1, updated_at = $2 WHERE site_id = $3 AND user_id = $4",
                    )
                    .bind(role)
                    .bind(now)
                    .bind(site_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "DELETE FROM sessions WHERE site_id = $1 AND user_id = $2 AND kind = 'console'",
                    )
                    .bind(site_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    let event = event.with_detail(serde_json::json!({
                        "user_id": user_id, "from": current, "to": role,
                    }));
                    (Change::Done(()), Some(event))
                }
            }
        });
        Ok(change)
    }
}

/// The user's own changes.
impl Store {
    /// Applies `change` to a user who may still log in (active, not deleted, no ban
    /// in force) and records `event`, in one transaction; `None` (nothing written)
    /// when the user may not, e.g. banned between the session check and this write.
    pub async fn change_own_profile(
        &self,
        site_id: i64,
        user_id: i64,
        change: &ProfileChange,
        event: NewAuditEvent,
    ) -> StoreResult<Option<ShownProfile>> {
        // $1 site, $2 now (as the status condition expects), $3 user.
        let sql = format!(
            "UPDATE users SET display_name = COALESCE($4, display_name), \
               photo_url = CASE WHEN $5 THEN $6 ELSE photo_url END, updated_at = $2 \
             WHERE site_id = $1 AND user_id = $3 AND {} \
             RETURNING display_name, photo_url",
            UserStatus::Active.condition()
        );
        let shown = audited_change!(self, |tx| {
            let shown = sqlx::query_as::<_, ShownProfile>(&sql)
                .bind(site_id)
                .bind(event.at)
                .bind(user_id)
                .bind(&change.display_name)
                .bind(change.photo_url.is_some())
                .bind(change.photo_url.clone().flatten())
                .fetch_optional(&mut *tx)
                .await?;
            let event = shown.is_some().then_some(event);
            (shown, event)
        });
        Ok(shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(fts_phrase("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn session_refs_are_stable_and_differ() {
        let a = crate::store::sessions::session_ref(b"one");
        assert_eq!(a, crate::store::sessions::session_ref(b"one"));
        assert_ne!(a, crate::store::sessions::session_ref(b"two"));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn statuses_parse() {
        for status in UserStatus::ALL {
            assert_eq!(UserStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(UserStatus::parse("ACTIVE"), None);
    }
}
