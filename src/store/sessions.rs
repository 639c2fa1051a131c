//! Platform sessions: opaque ids stored as SHA-256, a sliding idle timeout and an
//! absolute lifetime. A session is only valid while its user may log in, so a ban
//! or deletion racing with a login can never leave a usable session behind.

use sqlx::query_builder::Separated;

use super::audit::NewAuditEvent;
use super::batch::Insert;
use super::node_cache::secret_key;
use super::{audited_change, on_store, read_optional, Store, StoreError, StoreResult};
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
    /// By the widget's own sign-in form (account handling, SPEC §6.1).
    Native,
    /// By an ID token of the site's OpenID provider (SPEC §5.3).
    IdToken,
    /// By a token the site's server signed (SPEC §5.4).
    SsoToken,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Server => "server",
            SessionKind::Cookie => "cookie",
            SessionKind::Console => "console",
            SessionKind::Native => "native",
            SessionKind::IdToken => "id_token",
            SessionKind::SsoToken => "sso_token",
        }
    }
}

/// How a session row is inserted, written once for every path: the column list (the
/// `INSERT` head, to which each writer adds its placeholders) and, in
/// [`NewSession::values`], the values in that order. `created_at` is bound twice: it
/// is the first `last_seen_at`.
macro_rules! session_insert_columns {
    () => {
        "INSERT INTO sessions (session_hash, site_id, user_id, kind, created_at, last_seen_at, \
         idle_expires_at, expires_at, reverify_at, client_ip) "
    };
}
pub(crate) use session_insert_columns;

/// One row of [`session_insert_columns!`] for the SQLite batch writer (`?N` numbers).
pub(crate) const SESSION_INSERT_SQLITE: &str = concat!(
    session_insert_columns!(),
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
);

/// The values of one session row, in the order of [`session_insert_columns!`].
pub(crate) type SessionValues<'a> = (
    &'a [u8],
    i64,
    i64,
    &'a str,
    Millis,
    Millis,
    Millis,
    Millis,
    Option<Millis>,
    Option<&'a str>,
);

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

impl NewSession {
    /// The row's values, in column order (see [`session_insert_columns!`]).
    pub(crate) fn values(&self) -> SessionValues<'_> {
        (
            self.hash.as_bytes(),
            self.site_id,
            self.user_id,
            self.kind.as_str(),
            self.created_at,
            self.created_at,
            self.idle_expires_at,
            self.expires_at,
            self.reverify_at,
            self.client_ip.as_deref(),
        )
    }

    /// Binds [`NewSession::values`] to one row of a multi-row insert.
    pub(crate) fn push_values<'a, DB>(&'a self, row: &mut Separated<'_, 'a, DB, &'static str>)
    where
        DB: sqlx::Database,
        i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        Option<i64>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        &'a [u8]: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    {
        let v = self.values();
        row.push_bind(v.0)
            .push_bind(v.1)
            .push_bind(v.2)
            .push_bind(v.3)
            .push_bind(v.4)
            .push_bind(v.5)
            .push_bind(v.6)
            .push_bind(v.7)
            .push_bind(v.8)
            .push_bind(v.9);
    }
}

/// A public handle for a session: derived from its stored hash by another hash, so it
/// reveals neither the session id nor the stored hash, and is stable. Administrators
/// see it (admin API, console), and the audit event of the login that started the
/// session names it.
pub fn session_ref(session_hash: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::new()
        .chain_update(b"tessera session_ref\0")
        .chain_update(session_hash)
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
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
            .insert(Insert::Session(session.clone()))
            .await
            .map(drop)
    }

    /// The live session with this hash, if any (no write; see [`Store::slide_session`]).
    pub async fn find_session(
        &self,
        hash: &TimedHash,
        now: Millis,
    ) -> StoreResult<Option<SessionRecord>> {
        let read = async {
            Ok::<_, StoreError>(read_optional!(
                self,
                LIVE_SESSION,
                as SessionRecord,
                SessionRecord::from_direct,
                (hash.as_bytes(), now)
            ))
        };
        // A copy that looks expired is read again: another node may have slid it.
        let live = |s: &SessionRecord| s.idle_expires_at > now && s.expires_at > now;
        let key = || secret_key(hash.as_bytes());
        self.read_cached(|c| &c.sessions, key, live, read).await
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
        // Through the group-commit writer: every live session slides once a minute, and
        // a commit each would cost far more than the update.
        let slide = Slide {
            hash: hash.clone(),
            now,
            idle_expires_at,
        };
        self.batcher.insert(Insert::Slide(slide)).await?;
        if let Some(cache) = &self.node_cache {
            cache.sessions.update(&secret_key(hash.as_bytes()), |s| {
                s.last_seen_at = now;
                s.idle_expires_at = idle_expires_at;
            });
        }
        Ok(idle_expires_at)
    }

    /// Deletes sessions past their idle or absolute expiry; returns how many.
    pub async fn purge_expired_sessions(&self, now: Millis) -> StoreResult<u64> {
        self.purge_expired(
            "DELETE FROM sessions WHERE idle_expires_at <= $1 OR expires_at <= $1",
            now,
        )
        .await
    }
}

/// A session's idle expiry pushed forward (see [`Store::slide_session`]).
#[derive(Debug, Clone)]
pub(crate) struct Slide {
    pub hash: TimedHash,
    pub now: Millis,
    pub idle_expires_at: Millis,
}

/// Writes one [`Slide`] (binds: now, idle expiry, hash). The condition keeps concurrent
/// slides on several nodes from moving it backwards. `$N` are positional for sqlx and
/// numbered parameters for rusqlite alike.
pub(crate) const SLIDE_SESSION: &str =
    "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 \
     WHERE session_hash = $3 AND last_seen_at < $1";

/// A session that a logout just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct EndedSession {
    pub site_id: i64,
    pub user_id: i64,
}

/// Session changes that are recorded in the audit log, in the same transaction.
impl Store {
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
        let ended = audited_change!(self, |tx| {
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
            let event = ended.map(|ended| {
                let mut event = audit_event(ended);
                event.set("session_ref", session_ref(hash.as_bytes()).into());
                event
            });
            (ended, event)
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
        let ended = audited_change!(self, |tx| {
            let users: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM sessions WHERE site_id = $1 AND user_id IN \
                       (SELECT user_id FROM users WHERE site_id = $1 AND external_id = $2) \
                     RETURNING user_id",
            )
            .bind(site_id)
            .bind(external_id)
            .fetch_all(&mut *tx)
            .await?;
            let event = users.first().map(|user_id| {
                event.set("user_id", (*user_id).into());
                event.set("sessions_ended", users.len().into());
                event
            });
            (users.len() as u64, event)
        });
        Ok(ended)
    }

    /// The site of a live session, for checking a browser's Origin before acting on it.
    pub async fn session_site(&self, hash: &TimedHash, now: Millis) -> StoreResult<Option<i64>> {
        const SESSION_SITE: &str = "SELECT site_id FROM sessions WHERE session_hash = $1 \
                                    AND idle_expires_at > $2 AND expires_at > $2";
        Ok(read_optional!(self, SESSION_SITE, scalar i64, (hash.as_bytes(), now)))
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
