//! A site's API keys: create (the secret shown once), list, delete.

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{time, validate, AdminError, AdminResult, Ctx};
use crate::store::api_keys::ApiKeyInfo;

/// A key as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    pub key_id: i64,
    /// The public start of the key, e.g. `tsk_AbCd`.
    pub prefix: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&ApiKeyInfo> for KeyView {
    fn from(k: &ApiKeyInfo) -> Self {
        Self {
            key_id: k.key_id,
            prefix: k.prefix.clone(),
            label: k.label.clone(),
            created_at: time(k.created_at),
            last_used_at: k.last_used_at.map(time),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// A key just created: the only time its secret is shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    pub key_id: i64,
    pub api_key: String,
    pub prefix: String,
    pub label: String,
    pub created_at: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key_id", &self.key_id)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// `POST /admin/api/v1/keys`
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    #[serde(default)]
    #[schema(max_length = 100)]
    pub label: String,
}

pub async fn list(ctx: &Ctx<'_>) -> AdminResult<KeyList> {
    let keys = ctx.store.list_api_keys(ctx.site_id).await?;
    Ok(KeyList {
        keys: keys.iter().map(KeyView::from).collect(),
    })
}

pub async fn create(ctx: &Ctx<'_>, new: &NewKey) -> AdminResult<CreatedKey> {
    let label = validate::key_label(&new.label).map_err(|m| AdminError::invalid("label", m))?;
    let created = ctx
        .store
        .create_api_key(ctx.site_id, &label, ctx.now, &ctx.actor)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("there is no site {}", ctx.site_id)))?;
    let api_key = created.api_key.expose_secret().to_string();
    Ok(CreatedKey {
        key_id: created.key_id,
        prefix: crate::secrets::api_key_public_prefix(&created.api_key),
        api_key,
        label,
        created_at: time(ctx.now),
    })
}

/// Deletes a key; every access token minted with it stops working.
pub async fn delete(ctx: &Ctx<'_>, key_id: i64) -> AdminResult<()> {
    if ctx
        .store
        .delete_api_key(ctx.site_id, key_id, ctx.now, &ctx.actor)
        .await?
    {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "site {} has no key {key_id}",
            ctx.site_id
        )))
    }
}
