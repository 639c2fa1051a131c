//! `POST /rest/v1/users/login/sso-token` (SPEC §5.4): a site with SSO secrets, every
//! check of the token ([`super::verify`]), single use, then the sign-in pipeline.
//! Nothing is written before the token has passed.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::verify::{self, Failure};
use crate::app::AppState;
use crate::http::{ApiError, ClientIp};
use crate::jose::Refusal;
use crate::signin::answer::{NamesSite, SessionLogin};
use crate::signin::{Attempt, Flow};
use crate::store::sessions::SessionKind;
use crate::store::sites::Site;
use crate::token_login::{Codes, TokenRequest};

const CODES: Codes = Codes {
    flow: Flow::SsoToken,
    kind: SessionKind::SsoToken,
    not_configured: "sso_token_login_not_configured",
    invalid: "invalid_sso_token",
    what: "SSO token",
};

/// The request body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoTokenLoginRequest {
    #[schema(minimum = 1)]
    pub site_id: i64,
    /// The token the site's server signed (compact JWS, HS256, at most 16 KiB).
    #[schema(max_length = 16384)]
    pub token: String,
}

impl NamesSite for SsoTokenLoginRequest {
    fn site_id(&self) -> i64 {
        self.site_id
    }
}

impl TokenRequest for SsoTokenLoginRequest {}

#[utoipa::path(
    post,
    path = "/rest/v1/users/login/sso-token",
    tag = "token login",
    request_body(content = SsoTokenLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = SessionLogin),
        (status = 400, description = "`sso_token_login_not_configured` or `invalid_request`", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_sso_token` (the precise reason is in the site's audit log)", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`user_banned` (ban body), `user_inactive`, `user_deleted` or `site_disabled`"),
        (status = 413, description = "`invalid_request`: body over 64 KiB", body = crate::openapi::ErrorSchema),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn login_sso_token(
    State(state): State<AppState>,
    client_ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let login = async |site: &Site, attempt: &Attempt, request: &SsoTokenLoginRequest| {
        let site_id = site.site_id;
        match verify::verify(&state.store, site_id, &request.token, state.now()).await {
            Ok(token) => {
                let (key, until) = (&token.replay_key, token.remember_until);
                CODES
                    .sign_in_once(&state, attempt, key, until, token.profile)
                    .await
            }
            Err(Failure::Invalid(refusal)) => refuse(&state, attempt, site_id, &refusal).await,
            Err(Failure::Store(e)) => Err(e.into()),
        }
    };
    CODES
        .handle(&state, &client_ip, &headers, body, login)
        .await
}

/// A token the site's secrets cannot vouch for: 401, or 400 when the site has no
/// secret at all (it never set signed-token SSO up). Asked only on this failure
/// path, so a login costs no extra read.
async fn refuse(
    state: &AppState,
    attempt: &Attempt,
    site_id: i64,
    refusal: &Refusal,
) -> Result<Response, ApiError> {
    if state.store.list_sso_secrets(site_id).await?.is_empty() {
        state.metrics.login("sso_token_not_configured");
        return Err(CODES.not_configured());
    }
    Err(CODES.refuse(state, attempt, refusal).await)
}
