//! A site's signed-token SSO secrets (SPEC §5.4): create (the secret shown once),
//! list (never the secrets), delete. At most two are live, so a site rotates by
//! creating the next one, moving its servers to it, then deleting the old one.

use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::Serialize;

use super::{time, AdminError, AdminResult, Ctx};
use crate::secrets::random_urlsafe;
use crate::store::sso_secrets::{SecretCreated, MAX_LIVE_SECRETS};

/// Longest kid accepted in a path (the ones made here are 8 characters).
const MAX_KID_CHARS: usize = 64;

/// A secret as listed (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SsoSecretView {
    /// The `kid` a token's header names to be checked with this secret.
    pub kid: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SsoSecretList {
    pub secrets: Vec<SsoSecretView>,
}

/// A secret just created: the only time it is shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedSsoSecret {
    pub kid: String,
    /// 256 random bits as base64url text; the site signs with this text's bytes (HS256).
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String)]
    pub secret: SecretString,
    pub created_at: String,
}

fn expose<S: serde::Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

impl std::fmt::Debug for CreatedSsoSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedSsoSecret")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

pub async fn list(ctx: &Ctx<'_>) -> AdminResult<SsoSecretList> {
    let secrets = ctx.store.list_sso_secrets(ctx.site_id).await?;
    Ok(SsoSecretList {
        secrets: secrets
            .iter()
            .map(|s| SsoSecretView {
                kid: s.kid.clone(),
                created_at: time(s.created_at),
            })
            .collect(),
    })
}

/// Makes a new secret; 409 when the site already has two.
pub async fn create(ctx: &Ctx<'_>) -> AdminResult<CreatedSsoSecret> {
    let kid = random_urlsafe(6);
    let secret = SecretString::from(random_urlsafe(32));
    let bytes: SecretSlice<u8> = secret.expose_secret().as_bytes().to_vec().into();
    let event = ctx
        .event("sso_secret.created")
        .with_detail(serde_json::json!({ "kid": kid }));
    match ctx
        .store
        .create_sso_secret(ctx.site_id, &kid, &bytes, ctx.now, &event)
        .await?
    {
        SecretCreated::Created => Ok(CreatedSsoSecret {
            kid,
            secret,
            created_at: time(ctx.now),
        }),
        SecretCreated::NoSuchSite => Err(AdminError::NotFound(format!(
            "there is no site {}",
            ctx.site_id
        ))),
        SecretCreated::TooMany => Err(AdminError::Conflict(format!(
            "site {} already has {MAX_LIVE_SECRETS} SSO secrets; delete the one no longer in use first",
            ctx.site_id
        ))),
    }
}

/// Deletes a secret: tokens signed with it are refused from now on.
pub async fn delete(ctx: &Ctx<'_>, kid: &str) -> AdminResult<()> {
    let missing =
        || AdminError::NotFound(format!("site {} has no SSO secret {kid:?}", ctx.site_id));
    if kid.is_empty() || kid.chars().count() > MAX_KID_CHARS {
        return Err(missing());
    }
    let event = ctx
        .event("sso_secret.deleted")
        .with_detail(serde_json::json!({ "kid": kid }));
    if ctx
        .store
        .delete_sso_secret(ctx.site_id, kid, &event)
        .await?
    {
        Ok(())
    } else {
        Err(missing())
    }
}
