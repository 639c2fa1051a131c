//! The HS256 secrets of signed-token SSO (SPEC §5.4): at most two per site, each
//! named by a `kid`. The secret is handed to its creator once; afterwards only the
//! login that verifies a token reads it, and nothing prints it.

use secrecy::{ExposeSecret, SecretSlice};

use super::audit::NewAuditEvent;
use super::{audited_change, on_store, Store, StoreResult};
use crate::clock::Millis;

/// Live secrets a site may have: one in use and the next one, so a rotation never
/// breaks logins.
pub const MAX_LIVE_SECRETS: i64 = 2;

/// A secret as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SsoSecretInfo {
    pub kid: String,
    pub created_at: Millis,
}

/// The key a token's signature is checked with. `Debug` shows the kid only.
pub struct SsoSigningKey {
    pub kid: String,
    pub secret: SecretSlice<u8>,
}

impl std::fmt::Debug for SsoSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// What became of a request to store a new secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCreated {
    Created,
    NoSuchSite,
    /// The site already has [`MAX_LIVE_SECRETS`]: one must be deleted first.
    TooMany,
}

const SECRET_BY_KID: &str = "SELECT secret FROM sso_secrets WHERE site_id = $1 AND kid = $2";

impl Store {
    /// Stores a new secret of `site_id` with `event` in the same transaction,
    /// unless the site already has [`MAX_LIVE_SECRETS`].
    pub async fn create_sso_secret(
        &self,
        site_id: i64,
        kid: &str,
        secret: &SecretSlice<u8>,
        now: Millis,
        event: &NewAuditEvent,
    ) -> StoreResult<SecretCreated> {
        let created = audited_change!(self, |tx| {
            // Touching the site's row first makes concurrent creations of one site
            // (several nodes) wait for each other, so the count below stays true.
            let site = sqlx::query("UPDATE sites SET updated_at = $1 WHERE site_id = $2")
                .bind(now)
                .bind(site_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if site == 0 {
                (SecretCreated::NoSuchSite, None)
            } else {
                let live: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM sso_secrets WHERE site_id = $1")
                        .bind(site_id)
                        .fetch_one(&mut *tx)
                        .await?;
                if live >= MAX_LIVE_SECRETS {
                    (SecretCreated::TooMany, None)
                } else {
                    sqlx::query(
                        "INSERT INTO sso_secrets (site_id, kid, secret, created_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(site_id)
                    .bind(kid)
                    .bind(secret.expose_secret())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    (SecretCreated::Created, Some(event))
                }
            }
        });
        Ok(created)
    }

    /// The site's secrets, oldest first (never their values).
    pub async fn list_sso_secrets(&self, site_id: i64) -> StoreResult<Vec<SsoSecretInfo>> {
        let list = on_store!(self, read, |pool| {
            sqlx::query_as::<_, SsoSecretInfo>(
                "SELECT kid, created_at FROM sso_secrets WHERE site_id = $1 \
                 ORDER BY created_at, kid",
            )
            .bind(site_id)
            .fetch_all(pool)
            .await?
        });
        Ok(list)
    }

    /// The secret named `kid` of `site_id`, for verifying a token.
    pub async fn sso_signing_key(
        &self,
        site_id: i64,
        kid: &str,
    ) -> StoreResult<Option<SsoSigningKey>> {
        let secret: Option<Vec<u8>> =
            match self.direct_row(SECRET_BY_KID, (site_id, kid), |r| r.get::<_, Vec<u8>>(0)) {
                Some(found) => found,
                None => on_store!(self, read, |pool| {
                    sqlx::query_scalar(SECRET_BY_KID)
                        .bind(site_id)
                        .bind(kid)
                        .fetch_optional(pool)
                        .await?
                }),
            };
        Ok(secret.map(|secret| SsoSigningKey {
            kid: kid.to_string(),
            secret: secret.into(),
        }))
    }

    /// Deletes a secret (tokens it signed are refused from now on) with `event` in
    /// the same transaction; false when the site has no such secret.
    pub async fn delete_sso_secret(
        &self,
        site_id: i64,
        kid: &str,
        event: &NewAuditEvent,
    ) -> StoreResult<bool> {
        let deleted = audited_change!(self, |tx| {
            let deleted = sqlx::query("DELETE FROM sso_secrets WHERE site_id = $1 AND kid = $2")
                .bind(site_id)
                .bind(kid)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            (deleted == 1, (deleted == 1).then_some(event))
        });
        Ok(deleted)
    }
}
