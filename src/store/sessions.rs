//! Platform sessions: opaque ids stored as SHA-256, a sliding idle timeout and an
//! absolute lifetime. A session is only valid while its user may log in, so a ban
//! or deletion racing with a login can never leave a usable session behind.

use super::audit::{self, NewAuditEvent};
use super::batch::Insert;
use super::{on_store, Store, StoreResult};
use crate::clock::Millis;
use crate::secrets::TimedHash;

/// How often a session's idle expiry is pushed forward at most: lookups are the
/// hottest path of the product and must not each cost a write.
pub const SLIDE_RESOLUTION_MS: Millis = 60_000;

/// How a session was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// By the site's server through the accounts API.
    Server,
    /// By the embed script through cookie login; must be re-verified.
    Cookie,
    /// By an administrator in the console.
    Console,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Server => "server",
            SessionKind::Cookie => "cookie",
            SessionKind::Console => "console",
        }
    }
}

/// The columns every insert of a session writes, in bind order (`created_at` twice:
/// it is the first `last_seen_at`), for both batch writers.
macro_rules! session_insert_columns {
    () => {
        "INSERT INTO sessions (session_hash, site_id, user_id, kind, created_at, last_seen_at, \
         idle_expires_at, expires_at, reverify_at, client_ip) "
    };
}
pub(crate) use session_insert_columns;

/// A session about to be stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub hash: TimedHash,
    pub site_id: i64,
    pub user_id: i64,
    pub kind: SessionKind,
    pub created_at: Millis,
    pub idle_expires_at: Millis,
    pub expires_at: Millis,
    pub reverify_at: Option<Millis>,
    /// The client of the login that started it, as the audit log records it.
    pub client_ip: Option<String>,
}

/// A live session with what the widget shows of its user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRecord {
    pub site_id: i64,
    pub user_id: i64,
    pub kind: String,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub idle_expires_at: Millis,
    pub expires_at: Millis,
    pub reverify_at: Option<Millis>,
    pub display_name: String,
    pub photo_url: Option<String>,
    pub role: String,
}

impl SessionRecord {
    /// The same row as `sqlx::FromRow`, from a direct SQLite read of [`LIVE_SESSION`]
    /// (by position: name lookups cost more than the read; a test compares both paths).
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            site_id: row.get(0)?,
            user_id: row.get(1)?,
            kind: row.get(2)?,
            created_at: row.get(3)?,
            last_seen_at: row.get(4)?,
            idle_expires_at: row.get(5)?,
            expires_at: row.get(6)?,
            reverify_at: row.get(7)?,
            display_name: row.get(8)?,
            photo_url: row.get(9)?,
            role: row.get(10)?,
        })
    }
}

/// The session of a user who may still log in: active, not deleted, no ban in force,
/// on a site that is not disabled. Two primary-key joins on one indexed read.
const LIVE_SESSION: &str = "SELECT s.site_id, s.user_id, s.kind, s.created_at, s.last_seen_at, \
       s.idle_expires_at, s.expires_at, s.reverify_at, u.display_name, u.photo_url, u.role \
     FROM sessions s JOIN users u ON u.user_id = s.user_id JOIN sites st ON st.site_id = s.site_id \
     WHERE s.session_hash = $1 AND s.idle_expires_at > $2 AND s.expires_at > $2 \
       AND u.active AND NOT u.deleted AND st.active \
       AND (u.banned_at IS NULL OR (u.ban_ends_at IS NOT NULL AND u.ban_ends_at <= $2))";

impl Store {
    /// Stores a new session (group commit, like access tokens).
    pub async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        self.batcher
            .insert(Insert::Session(session.clone(), None))
            .await
            .map(drop)
    }

    /// The live session with this hash, if any (no write; see [`Store::slide_session`]).
    pub async fn find_session(
        &self,
        hash: &TimedHash,
        now: Millis,
    ) -> StoreResult<Option<SessionRecord>> {
        let params = (hash.as_bytes(), now);
        if let Some(found) = self.direct_row(LIVE_SESSION, params, SessionRecord::from_direct) {
            return Ok(found);
        }
        let found = on_store!(self, read, |pool| {
            sqlx::query_as::<_, SessionRecord>(LIVE_SESSION)
                .bind(hash.as_bytes())
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        Ok(found)
    }

    /// Pushes the idle expiry of a session that was just used, at most once per
    /// [`SLIDE_RESOLUTION_MS`]; never past its absolute expiry. Returns the new idle expiry.
    pub async fn slide_session(
        &self,
        hash: &TimedHash,
        session: &SessionRecord,
        now: Millis,
        idle_timeout_ms: Millis,
    ) -> StoreResult<Millis> {
        if now - session.last_seen_at < SLIDE_RESOLUTION_MS {
            return Ok(session.idle_expires_at);
        }
        let idle_expires_at = (now + idle_timeout_ms).min(session.expires_at);
        on_store!(self, write, |pool| {
            // The condition keeps concurrent slides on several nodes from moving it backwards.
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 \
                 WHERE session_hash = $3 AND last_seen_at < $1",
            )
            .bind(now)
            .bind(idle_expires_at)
            .bind(hash.as_bytes())
            .execute(pool)
            .await?;
        });
        Ok(idle_expires_at)
    }

    /// Deletes sessions past their idle or absolute expiry; returns how many.
    pub async fn purge_expired_sessions(&self, now: Millis) -> StoreResult<u64> {
        let purged = on_store!(self, write, |pool| {
            sqlx::query("DELETE FROM sessions WHERE idle_expires_at <= $1 OR expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(purged)
    }
}

/// A session that a logout just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct EndedSession {
    pub site_id: i64,
    pub user_id: i64,
}

/// Adds `key: value` to an audit event's detail object.
fn add_detail(event: &mut NewAuditEvent, key: &str, value: serde_json::Value) {
    if let serde_json::Value::Object(map) = &mut event.detail {
        map.insert(key.to_string(), value);
    }
}

/// Session changes that are recorded in the audit log, in the same transaction.
impl Store {
    /// Stores a session together with the audit event of the login that started it:
    /// one commit, so a login is never recorded without its session or the reverse.
    /// The commit is shared with the other logins and tokens of the same moment
    /// (group commit, `store::batch`), so a flush is paid per batch, not per login.
    pub async fn create_session_audited(
        &self,
        session: &NewSession,
        event: &NewAuditEvent,
    ) -> StoreResult<()> {
        self.batcher
            .insert(Insert::Session(session.clone(), Some(event.clone())))
            .await
            .map(drop)
    }

    /// Ends one session: of `site_id` only when it is given (a site's server can never
    /// end another site's session), of any site when `None` (the browser holding the id
    /// logs itself out). When a session ended, the event `audit_event` makes of it is
    /// recorded in the same transaction.
    pub async fn end_session_audited(
        &self,
        hash: &TimedHash,
        site_id: Option<i64>,
        audit_event: impl FnOnce(EndedSession) -> NewAuditEvent,
    ) -> StoreResult<Option<EndedSession>> {
        let ended = on_store!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            let ended =
                match site_id {
                    Some(site_id) => {
                        sqlx::query_as::<_, EndedSession>(
                            "DELETE FROM sessions WHERE session_hash = $1 AND site_id = $2 \
                             RETURNING site_id, user_id",
                        )
                        .bind(hash.as_bytes())
                        .bind(site_id)
                        .fetch_optional(&mut *tx)
                        .await?
                    }
                    None => sqlx::query_as::<_, EndedSession>(
                        "DELETE FROM sessions WHERE session_hash = $1 RETURNING site_id, user_id",
                    )
                    .bind(hash.as_bytes())
                    .fetch_optional(&mut *tx)
                    .await?,
                };
            if let Some(ended) = ended {
                let event = audit_event(ended);
                audit::insert_query(&event).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            ended
        });
        Ok(ended)
    }

    /// Ends every session of the user that `site_id` knows as `external_id`; records
    /// `event` (with the user and the count added) when any ended. Returns how many ended.
    pub async fn end_external_user_sessions_audited(
        &self,
        site_id: i64,
        external_id: &str,
        mut event: NewAuditEvent,
    ) -> StoreResult<u64> {
        let ended = on_store!(self, write, |pool| {
            let mut tx = pool.begin().await?;
            let users: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM sessions WHERE site_id = $1 AND user_id IN \
                       (SELECT user_id FROM users WHERE site_id = $1 AND external_id = $2) \
                     RETURNING user_id",
            )
            .bind(site_id)
            .bind(external_id)
            .fetch_all(&mut *tx)
            .await?;
            if let Some(user_id) = users.first() {
                add_detail(&mut event, "user_id", (*user_id).into());
                add_detail(&mut event, "sessions_ended", users.len().into());
                audit::insert_query(&event).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            users.len() as u64
        });
        Ok(ended)
    }

    /// The site of a live session, for checking a browser's Origin before acting on it.
    pub async fn session_site(&self, hash: &TimedHash, now: Millis) -> StoreResult<Option<i64>> {
        const SESSION_SITE: &str = "SELECT site_id FROM sessions WHERE session_hash = $1 \
                                    AND idle_expires_at > $2 AND expires_at > $2";
        if let Some(site) = self.direct_row(SESSION_SITE, (hash.as_bytes(), now), |r| r.get(0)) {
            return Ok(site);
        }
        let site = on_store!(self, read, |pool| {
            sqlx::query_scalar::<_, i64>(SESSION_SITE)
                .bind(hash.as_bytes())
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        Ok(site)
    }
}

impl Store {
    /// How many session rows a site has (expired ones not yet purged included).
    pub async fn count_site_sessions(&self, site_id: i64) -> StoreResult<i64> {
        let count = on_store!(self, read, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE site_id = $1")
                .bind(site_id)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}
