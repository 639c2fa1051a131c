//! `POST /admin/api/v1/site/id-token-login/test` and the console's Test button: every
//! check of SPEC §5.3 on a pasted ID token with the saved settings, run exactly as a
//! login runs them (same key cache, same verification) but neither using the token up
//! nor signing anyone in, and telling the administrator the precise cause a login
//! would only audit.

use serde::{Deserialize, Serialize};

use super::cookie_test::MappedView;
use super::{AdminError, AdminResult, Ctx};
use crate::id_token::verify::{self, Failure};
use crate::id_token::KeyCache;

#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdTokenTestRequest {
    /// An ID token of the site's provider (compact JWS).
    #[schema(min_length = 1, max_length = 16384)]
    pub id_token: String,
    /// When given, the token's `nonce` must equal it, as at login.
    #[schema(max_length = 1024)]
    pub nonce: Option<String>,
}

impl std::fmt::Debug for IdTokenTestRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenTestRequest").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdTokenTestReport {
    /// `ok`, `invalid_id_token` or `issuer_unavailable`: what a login would answer
    /// (a login also refuses a token used before, which a test does not record).
    pub outcome: &'static str,
    /// The precise cause (`wrong_audience`, `expired`, …) when the token is refused.
    pub cause: Option<&'static str>,
    /// Why, in one sentence.
    pub detail: String,
    /// The profile a login would store; null unless `outcome` is `ok`.
    pub mapped: Option<MappedView>,
    /// The key that verified it, when one did.
    pub kid: Option<String>,
}

pub async fn run(
    ctx: &Ctx<'_>,
    keys: &KeyCache,
    request: &IdTokenTestRequest,
) -> AdminResult<IdTokenTestReport> {
    let site = ctx
        .store
        .get_site(ctx.site_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("there is no site {}", ctx.site_id)))?;
    let settings = site
        .settings
        .id_token_login
        .filter(|s| s.configured().is_some())
        .ok_or_else(|| {
            AdminError::invalid(
                "id_token_login",
                "ID-token login is not configured: save an issuer and a client id first",
            )
        })?;
    let nonce = request.nonce.as_deref().filter(|n| !n.is_empty());
    let verified = verify::verify(
        keys,
        ctx.site_id,
        &settings,
        request.id_token.trim(),
        nonce,
        ctx.now,
    )
    .await;
    Ok(match verified {
        Ok(token) => IdTokenTestReport {
            outcome: "ok",
            cause: None,
            detail: format!(
                "the token passes every check ({}, key {})",
                token.alg.name(),
                token.kid.as_deref().unwrap_or("without kid")
            ),
            mapped: Some(token.profile.into()),
            kid: token.kid,
        },
        Err(Failure::Invalid(refusal)) => IdTokenTestReport {
            outcome: "invalid_id_token",
            cause: Some(refusal.reason()),
            detail: refusal.to_string(),
            mapped: None,
            kid: None,
        },
        Err(Failure::Unavailable(why)) => IdTokenTestReport {
            outcome: "issuer_unavailable",
            cause: None,
            detail: why,
            mapped: None,
            kid: None,
        },
    })
}
