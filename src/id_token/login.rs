//! `POST /rest/v1/users/login/id-token` (SPEC §5.3): a configured site, every check
//! of the token ([`super::verify`]), single use, then the sign-in pipeline. Nothing
//! is written before the token has passed.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::verify::{self, Failure};
use crate::app::AppState;
use crate::http::{ApiError, ClientIp};
use crate::signin::{Attempt, Flow};
use crate::store::sessions::SessionKind;
use crate::token_login::{self, Codes, TokenLoginResponse};

/// Longest nonce accepted.
const MAX_NONCE_CHARS: usize = 1024;

const CODES: Codes = Codes {
    not_configured: "id_token_login_not_configured",
    invalid: "invalid_id_token",
    what: "ID token",
    kind: SessionKind::IdToken,
};

/// The request body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdTokenLoginRequest {
    #[schema(minimum = 1)]
    pub site_id: i64,
    /// The ID token the site's OpenID provider issued (compact JWS, at most 16 KiB).
    #[schema(max_length = 16384)]
    pub id_token: String,
    /// When given, the token's `nonce` claim must equal it.
    #[schema(max_length = 1024)]
    pub nonce: Option<String>,
}

#[utoipa::path(
    post,
    path = "/rest/v1/users/login/id-token",
    tag = "token login",
    request_body(content = IdTokenLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = TokenLoginResponse),
        (status = 400, description = "`id_token_login_not_configured` or `invalid_request`", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`invalid_id_token` (the precise reason is in the site's audit log)", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`user_banned` (ban body), `user_inactive`, `user_deleted` or `site_disabled`"),
        (status = 413, description = "`invalid_request`: body over 64 KiB", body = crate::openapi::ErrorSchema),
        (status = 502, description = "`issuer_unavailable`: the provider's keys cannot be had; nothing was created", body = crate::openapi::ErrorSchema),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn login_id_token(
    State(state): State<AppState>,
    client_ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (site, result) = match token_login::read_request(&headers, body).await {
        Ok(request) => login(&state, &client_ip, &request).await,
        Err(e) => (None, Err(e)),
    };
    token_login::answer(&state, &headers, site, result).await
}

/// The login; with the site id when that site exists (for CORS).
async fn login(
    state: &AppState,
    client_ip: &ClientIp,
    request: &IdTokenLoginRequest,
) -> (Option<i64>, Result<Response, ApiError>) {
    let site_id = match token_login::site_id(request.site_id) {
        Ok(id) => id,
        Err(e) => return (None, Err(e)),
    };
    let site = match state.store.get_site(site_id).await {
        Ok(Some(site)) => site,
        Ok(None) => return (None, Err(CODES.not_configured())),
        Err(e) => return (None, Err(e.into())),
    };
    let settings = site
        .settings
        .id_token_login
        .as_ref()
        .filter(|s| site.active && s.configured().is_some());
    let Some(settings) = settings else {
        state.metrics.login("id_token_not_configured");
        return (Some(site_id), Err(CODES.not_configured()));
    };
    if request
        .nonce
        .as_deref()
        .is_some_and(|n| n.chars().count() > MAX_NONCE_CHARS)
    {
        let e = ApiError::bad_request("invalid_request", "nonce must be at most 1024 characters");
        return (Some(site_id), Err(e));
    }
    let attempt = Attempt::new(site_id, Flow::IdToken, client_ip);
    let nonce = request.nonce.as_deref().filter(|n| !n.is_empty());
    let verified = verify::verify(
        &state.id_token,
        site_id,
        settings,
        &request.id_token,
        nonce,
        state.now(),
    )
    .await;
    let result = match verified {
        Ok(token) => {
            CODES
                .sign_in_once(
                    state,
                    &attempt,
                    &token.replay_key,
                    token.remember_until,
                    token.profile,
                )
                .await
        }
        Err(Failure::Invalid(refusal)) => Err(CODES.refuse(state, &attempt, &refusal).await),
        Err(Failure::Unavailable(why)) => {
            attempt
                .failed(state, "issuer_unavailable", json!({ "detail": why }))
                .await;
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "issuer_unavailable",
                "the site's OpenID provider cannot be reached to check this token; try again later",
            ))
        }
    };
    (Some(site_id), result)
}
