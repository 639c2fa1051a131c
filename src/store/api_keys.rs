//! API keys: many per site, stored as SHA-256 with a public prefix for display.

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sqlx::{Database, Encode, Type};

use super::audit::{Actor, NewAuditEvent};
use super::node_cache::secret_key;
use super::{audited_change, on_store, read_optional, Store, StoreError, StoreResult};
use crate::clock::Millis;
use crate::secrets::{self, SecretHash};

/// How often `last_used_at` is written at most: a hot key must not cost a write per token.
pub const LAST_USED_RESOLUTION_MS: Millis = 60_000;

/// A key about to be stored: the secret is handed to the caller once, only the hash is kept.
pub struct NewApiKey {
    pub secret: SecretString,
    pub prefix: String,
    pub hash: SecretHash,
    pub label: String,
}

impl NewApiKey {
    pub fn generate(label: &str) -> Self {
        let secret = secrets::new_api_key();
        Self {
            prefix: secrets::api_key_public_prefix(&secret),
            hash: SecretHash::of(secret.expose_secret()),
            secret,
            label: label.to_string(),
        }
    }
}

/// The insert of a key, returning its `key_id`; executed inside the caller's transaction.
pub(crate) fn insert_key_query<'q, DB>(
    site_id: i64,
    key: &'q NewApiKey,
    now: Millis,
) -> sqlx::query::QueryScalar<'q, DB, i64, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
    i64: for<'r> sqlx::Decode<'r, DB>,
    usize: sqlx::ColumnIndex<<DB as Database>::Row>,
{
    sqlx::query_scalar::<DB, i64>(
        "INSERT INTO api_keys (site_id, prefix, secret_hash, label, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING key_id",
    )
    .bind(site_id)
    .bind(key.prefix.as_str())
    .bind(key.hash.as_bytes())
    .bind(key.label.as_str())
    .bind(now)
}

/// What listings show of a key: never the secret.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ApiKeyInfo {
    pub key_id: i64,
    pub site_id: i64,
    pub prefix: String,
    pub label: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

/// A key found by the hash of a presented secret, with its site's state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyCredential {
    pub key_id: i64,
    pub site_id: i64,
    pub secret_hash: Vec<u8>,
    pub site_active: bool,
    pub last_used_at: Option<Millis>,
}

impl KeyCredential {
    /// The same row as `sqlx::FromRow`, from a direct SQLite read of [`KEY_BY_HASH`]
    /// (by position: name lookups cost more than the read; a test compares both paths).
    fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key_id: row.get(0)?,
            site_id: row.get(1)?,
            secret_hash: row.get(2)?,
            site_active: row.get(3)?,
            last_used_at: row.get(4)?,
        })
    }
}

const KEY_BY_HASH: &str = "SELECT k.key_id, k.site_id, k.secret_hash, s.active AS site_active, \
     k.last_used_at FROM api_keys k JOIN sites s ON s.site_id = k.site_id WHERE k.secret_hash = $1";

/// A key just created: its id and the secret, shown once.
#[derive(Debug)]
pub struct CreatedKey {
    pub key_id: i64,
    pub api_key: SecretString,
}

impl Store {
    /// Creates a key for an existing site; `None` when the site does not exist.
    pub async fn create_api_key(
        &self,
        site_id: i64,
        label: &str,
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<Option<CreatedKey>> {
        let key = NewApiKey::generate(label);
        let key_id = audited_change!(self, |tx| {
            let site: Option<i64> =
                sqlx::query_scalar("SELECT site_id FROM sites WHERE site_id = $1")
                    .bind(site_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            match site {
                None => (None, None),
                Some(_) => {
                    let key_id = insert_key_query(site_id, &key, now)
                        .fetch_one(&mut *tx)
                        .await?;
                    let event = NewAuditEvent::new(Some(site_id), now, actor, "api_key.created")
                        .with_detail(serde_json::json!({
                            "key_id": key_id, "prefix": key.prefix, "label": label
                        }));
                    (Some(key_id), Some(event))
                }
            }
        });
        Ok(key_id.map(|key_id| CreatedKey {
            key_id,
            api_key: key.secret,
        }))
    }

    pub async fn list_api_keys(&self, site_id: i64) -> StoreResult<Vec<ApiKeyInfo>> {
        let keys = on_store!(self, read, |pool| {
            sqlx::query_as::<_, ApiKeyInfo>(
                "SELECT key_id, site_id, prefix, label, created_at, last_used_at \
                 FROM api_keys WHERE site_id = $1 ORDER BY key_id",
            )
            .bind(site_id)
            .fetch_all(pool)
            .await?
        });
        Ok(keys)
    }

    /// Deletes a key of `site_id` and revokes every access token minted with it.
    /// False when the site has no such key (a key of another site is never touched).
    pub async fn delete_api_key(
        &self,
        site_id: i64,
        key_id: i64,
        now: Millis,
        actor: &Actor,
    ) -> StoreResult<bool> {
        let deleted = audited_change!(self, |tx| {
            let prefix: Option<String> = sqlx::query_scalar(
                "DELETE FROM api_keys WHERE site_id = $1 AND key_id = $2 RETURNING prefix",
            )
            .bind(site_id)
            .bind(key_id)
            .fetch_optional(&mut *tx)
            .await?;
            match prefix {
                None => (false, None),
                Some(prefix) => {
                    // Explicit rather than relying on ON DELETE CASCADE alone.
                    let revoked = sqlx::query("DELETE FROM access_tokens WHERE key_id = $1")
                        .bind(key_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    let event = NewAuditEvent::new(Some(site_id), now, actor, "api_key.deleted")
                        .with_detail(serde_json::json!({
                            "key_id": key_id, "prefix": prefix, "revoked_tokens": revoked
                        }));
                    (true, Some(event))
                }
            }
        });
        Ok(deleted)
    }

    /// Finds the key whose secret hashes to `hash`.
    pub async fn find_api_key(&self, hash: &SecretHash) -> StoreResult<Option<KeyCredential>> {
        let read = async {
            Ok::<_, StoreError>(read_optional!(
                self,
                KEY_BY_HASH,
                as KeyCredential,
                KeyCredential::from_direct,
                (hash.as_bytes(),)
            ))
        };
        self.read_cached(|c| &c.keys, || hash.0, |_| true, read)
            .await
    }

    /// Records that a key was used, at most once per [`LAST_USED_RESOLUTION_MS`].
    pub async fn touch_api_key(&self, key: &KeyCredential, now: Millis) -> StoreResult<()> {
        if key
            .last_used_at
            .is_some_and(|at| now - at < LAST_USED_RESOLUTION_MS)
        {
            return Ok(());
        }
        on_store!(self, write, |pool| {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE key_id = $2")
                .bind(now)
                .bind(key.key_id)
                .execute(pool)
                .await?;
        });
        if let Some(cache) = &self.node_cache {
            cache.keys.update(&secret_key(&key.secret_hash), |k| {
                k.last_used_at = Some(now)
            });
        }
        Ok(())
    }
}
