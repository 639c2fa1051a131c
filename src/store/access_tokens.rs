//! OAuth 2.0 access tokens, stored as SHA-256 of the opaque token.

use super::batch::Insert;
use super::node_cache::secret_key;
use super::{on_store, read_optional, Store, StoreError, StoreResult};
use crate::clock::Millis;
use crate::secrets::{SecretHash, TimedHash};

/// A token to issue to the holder of an API key: stored only if the key hashing to
/// `key_hash` belongs to `site_id` and the site is active when it is written.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    pub hash: TimedHash,
    pub key_hash: SecretHash,
    pub site_id: i64,
    pub scope: String,
    pub issued_at: Millis,
    pub expires_at: Millis,
}

/// A live token: unexpired, its key not deleted, its site active.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccessTokenRecord {
    pub site_id: i64,
    pub key_id: i64,
    pub scope: String,
    pub issued_at: Millis,
    pub expires_at: Millis,
}

impl AccessTokenRecord {
    /// The same row as `sqlx::FromRow`, from a direct SQLite read of [`LIVE_TOKEN`]
    /// (by position: name lookups cost more than the read; a test compares both paths).
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            site_id: row.get(0)?,
            key_id: row.get(1)?,
            scope: row.get(2)?,
            issued_at: row.get(3)?,
            expires_at: row.get(4)?,
        })
    }
}

const LIVE_TOKEN: &str = "SELECT t.site_id, t.key_id, t.scope, t.issued_at, t.expires_at \
     FROM access_tokens t JOIN sites s ON s.site_id = t.site_id \
     WHERE t.token_hash = $1 AND t.expires_at > $2 AND s.active";

impl Store {
    /// Authenticates the key and stores the token in one transaction, committed with
    /// whatever other tokens and sessions are being issued at the same moment (group
    /// commit); also records the key's use. False, with nothing written, when the key
    /// is unknown, belongs to another site, or its site is disabled: the caller finds
    /// out which with [`Store::find_api_key`].
    pub async fn issue_access_token(&self, token: &NewAccessToken) -> StoreResult<bool> {
        self.batcher
            .insert(Insert::AccessToken(token.clone()))
            .await
    }

    /// The live token with this hash, if any.
    pub async fn find_access_token(
        &self,
        hash: &TimedHash,
        now: Millis,
    ) -> StoreResult<Option<AccessTokenRecord>> {
        let read = async {
            Ok::<_, StoreError>(read_optional!(
                self,
                LIVE_TOKEN,
                as AccessTokenRecord,
                AccessTokenRecord::from_direct,
                (hash.as_bytes(), now)
            ))
        };
        let key = || secret_key(hash.as_bytes());
        self.read_cached(|c| &c.tokens, key, |t| t.expires_at > now, read)
            .await
    }

    /// Revokes a token of `site_id`; a token of another site is left alone.
    pub async fn revoke_access_token(&self, hash: &TimedHash, site_id: i64) -> StoreResult<bool> {
        let revoked = on_store!(self, write, |pool| {
            sqlx::query("DELETE FROM access_tokens WHERE token_hash = $1 AND site_id = $2")
                .bind(hash.as_bytes())
                .bind(site_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        self.settle_node_cache().await;
        Ok(revoked == 1)
    }

    /// Deletes tokens that expired before `now`; returns how many.
    pub async fn purge_expired_access_tokens(&self, now: Millis) -> StoreResult<u64> {
        self.purge_expired("DELETE FROM access_tokens WHERE expires_at <= $1", now)
            .await
    }
}
