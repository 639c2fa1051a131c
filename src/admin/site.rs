//! A site's own settings: name, origins, *API key mandatory*, the account-handling
//! switches, cookie login and ID-token login. The body of `GET /admin/api/v1/site` is the shape
//! `tessera site configure --json` prints.

use serde::{Deserialize, Serialize};

use super::{validate, AdminError, AdminResult, Ctx};
use crate::cookie_login::patch::{CookieLoginPatch, EndpointPolicy};
use crate::id_token::patch::IdTokenLoginPatch;
use crate::settings::cookie_login::CookieLoginView;
use crate::settings::id_token::IdTokenLoginView;
use crate::store::sites::{AccountHandling, Site};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SiteView {
    pub site_id: i64,
    pub name: String,
    pub active: bool,
    pub origins: Vec<String>,
    pub api_key_mandatory: bool,
    pub account_handling: AccountHandling,
    /// Null until cookie login was first configured.
    pub cookie_login: Option<CookieLoginView>,
    /// Null until ID-token login was first configured.
    pub id_token_login: Option<IdTokenLoginView>,
}

impl From<&Site> for SiteView {
    fn from(site: &Site) -> Self {
        let cookie = site.settings.cookie_login.as_ref().map(|c| c.view());
        Self {
            site_id: site.site_id,
            name: site.name.clone(),
            active: site.active,
            origins: site.origins.clone(),
            api_key_mandatory: site.settings.api_key_mandatory,
            account_handling: site.settings.account_handling,
            cookie_login: cookie,
            id_token_login: site.settings.id_token_login.as_ref().map(|s| s.view()),
        }
    }
}

/// `PATCH /admin/api/v1/site` (and `tessera site configure`): absent fields keep
/// their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitePatch {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Replaces the allowed browser origins, e.g. `["https://www.example.com"]`.
    pub origins: Option<Vec<String>>,
    pub api_key_mandatory: Option<bool>,
    pub account_handling: Option<AccountHandlingPatch>,
    pub cookie_login: Option<CookieLoginPatch>,
    pub id_token_login: Option<IdTokenLoginPatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountHandlingPatch {
    pub disable_account_handling: Option<bool>,
    pub disable_avatar_changing: Option<bool>,
    pub disable_display_name_changing: Option<bool>,
}

/// Most allowed origins per site.
const MAX_ORIGINS: usize = 100;

async fn current(ctx: &Ctx<'_>) -> AdminResult<Site> {
    ctx.store
        .get_site(ctx.site_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("there is no site {}", ctx.site_id)))
}

pub async fn get(ctx: &Ctx<'_>) -> AdminResult<SiteView> {
    Ok(SiteView::from(&current(ctx).await?))
}

/// Validates every field first (400 naming the first bad one, nothing written), then
/// writes them all in one transaction with one `site.configured` event.
pub async fn patch(
    ctx: &Ctx<'_>,
    patch: &SitePatch,
    policy: EndpointPolicy,
) -> AdminResult<SiteView> {
    let name = patch
        .name
        .as_deref()
        .map(validate::site_name)
        .transpose()
        .map_err(|m| AdminError::invalid("name", m))?;
    let origins = match &patch.origins {
        Some(list) if list.len() > MAX_ORIGINS => {
            return Err(AdminError::invalid(
                "origins",
                format!("at most {MAX_ORIGINS} origins can be allowed"),
            ))
        }
        Some(list) => Some(validate::origins(list).map_err(|m| AdminError::invalid("origins", m))?),
        None => None,
    };
    let edited = ctx
        .store
        .edit_site(ctx.site_id, ctx.event("site.configured"), |site| {
            if let Some(name) = &name {
                site.name.clone_from(name);
            }
            if let Some(origins) = &origins {
                site.origins.clone_from(origins);
            }
            let settings = &mut site.settings;
            if let Some(on) = patch.api_key_mandatory {
                settings.api_key_mandatory = on;
            }
            if let Some(switches) = &patch.account_handling {
                let a = &mut settings.account_handling;
                for (given, slot) in [
                    (
                        switches.disable_account_handling,
                        &mut a.disable_account_handling,
                    ),
                    (
                        switches.disable_avatar_changing,
                        &mut a.disable_avatar_changing,
                    ),
                    (
                        switches.disable_display_name_changing,
                        &mut a.disable_display_name_changing,
                    ),
                ] {
                    if let Some(on) = given {
                        *slot = on;
                    }
                }
            }
            if let Some(cookie) = &patch.cookie_login {
                // Validated against the stored settings inside the transaction: a
                // header value kept as `****` is the one stored now.
                settings.cookie_login = cookie.apply_to(settings.cookie_login.as_ref(), policy)?;
            }
            if let Some(id_token) = &patch.id_token_login {
                settings.id_token_login =
                    id_token.apply_to(settings.id_token_login.as_ref(), policy)?;
            }
            Ok::<(), AdminError>(())
        })
        .await?;
    match edited {
        Ok(true) => get(ctx).await,
        Ok(false) => Err(AdminError::NotFound(format!(
            "there is no site {}",
            ctx.site_id
        ))),
        Err(e) => Err(e),
    }
}
