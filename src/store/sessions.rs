//! Platform sessions: opaque ids stored as SHA-256, a sliding idle timeout and an
//! absolute lifetime. A session is only valid while its user may log in, so a ban
//! or deletion racing with a login can never leave a usable session behind.

use super::batch::Insert;
use super::{on_store, Store, StoreResult};
use crate::clock::Millis;
use crate::secrets::SecretHash;

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

/// A session about to be stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub hash: SecretHash,
    pub site_id: i64,
    pub user_id: i64,
    pub kind: SessionKind,
    pub created_at: Millis,
    pub idle_expires_at: Millis,
    pub expires_at: Millis,
    pub reverify_at: Option<Millis>,
}

/// A live session with what the widget shows of its user.
#[derive(Debug, Clone, sqlx::FromRow)]
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

/// The session of a user who may still log in: active, not deleted, no ban in force.
const LIVE_SESSION: &str = "SELECT s.site_id, s.user_id, s.kind, s.created_at, s.last_seen_at, \
       s.idle_expires_at, s.expires_at, s.reverify_at, u.display_name, u.photo_url, u.role \
     FROM sessions s JOIN users u ON u.user_id = s.user_id \
     WHERE s.session_hash = $1 AND s.idle_expires_at > $2 AND s.expires_at > $2 \
       AND u.active AND NOT u.deleted \
       AND (u.banned_at IS NULL OR (u.ban_ends_at IS NOT NULL AND u.ban_ends_at <= $2))";

impl Store {
    /// Stores a new session (group commit, like access tokens).
    pub async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        self.batcher.insert(Insert::Session(session.clone())).await
    }

    /// The live session with this hash, if any (no write; see [`Store::slide_session`]).
    pub async fn find_session(
        &self,
        hash: &SecretHash,
        now: Millis,
    ) -> StoreResult<Option<SessionRecord>> {
        let found = on_store!(
            self,
            read | pool | {
                sqlx::query_as::<_, SessionRecord>(LIVE_SESSION)
                    .bind(hash.as_bytes())
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }
        );
        Ok(found)
    }

    /// Pushes the idle expiry of a session that was just used, at most once per
    /// [`SLIDE_RESOLUTION_MS`]; never past its absolute expiry. Returns the new idle expiry.
    pub async fn slide_session(
        &self,
        hash: &SecretHash,
        session: &SessionRecord,
        now: Millis,
        idle_timeout_ms: Millis,
    ) -> StoreResult<Millis> {
        if now - session.last_seen_at < SLIDE_RESOLUTION_MS {
            return Ok(session.idle_expires_at);
        }
        let idle_expires_at = (now + idle_timeout_ms).min(session.expires_at);
        on_store!(
            self,
            write | pool | {
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
            }
        );
        Ok(idle_expires_at)
    }

    /// Ends one session of `site_id`; a session of another site is never touched.
    pub async fn end_session(&self, hash: &SecretHash, site_id: i64) -> StoreResult<bool> {
        let ended = on_store!(
            self,
            write | pool | {
                sqlx::query("DELETE FROM sessions WHERE session_hash = $1 AND site_id = $2")
                    .bind(hash.as_bytes())
                    .bind(site_id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
        );
        Ok(ended == 1)
    }

    /// Ends every session of one user of `site_id`; returns how many ended.
    pub async fn end_user_sessions(&self, site_id: i64, user_id: i64) -> StoreResult<u64> {
        let ended = on_store!(
            self,
            write | pool | {
                sqlx::query("DELETE FROM sessions WHERE site_id = $1 AND user_id = $2")
                    .bind(site_id)
                    .bind(user_id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
        );
        Ok(ended)
    }

    /// Deletes sessions past their idle or absolute expiry; returns how many.
    pub async fn purge_expired_sessions(&self, now: Millis) -> StoreResult<u64> {
        let purged = on_store!(
            self,
            write | pool | {
                sqlx::query("DELETE FROM sessions WHERE idle_expires_at <= $1 OR expires_at <= $1")
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
        );
        Ok(purged)
    }
}
