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
use crate::signin::answer::{NamesSite, SessionLogin};
use crate::signin::{Attempt, Flow};
use crate::store::sessions::SessionKind;
use crate::store::sites::Site;
use crate::token_login::{Codes, TokenRequest};

/// Longest nonce accepted.
const MAX_NONCE_CHARS: usize = 1024;

const CODES: Codes = Codes {
    flow: Flow::IdToken,
    kind: SessionKind::IdToken,
    not_configured: "id_token_login_not_configured",
    invalid: "invalid_id_token",
    what: "ID token",
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

impl NamesSite for IdTokenLoginRequest {
    fn site_id(&self) -> i64 {
        self.site_id
    }
}

impl TokenRequest for IdTokenLoginRequest {}

#[utoipa::path(
    post,
    path = "/rest/v1/users/login/id-token",
    tag = "token login",
    request_body(content = IdTokenLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = SessionLogin),
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
    let login = async |site: &Site, attempt: &Attempt, request: &IdTokenLoginRequest| {
        login(&state, site, attempt, request).await
    };
    CODES
        .handle(&state, &client_ip, &headers, body, login)
        .await
}

async fn login(
    state: &AppState,
    site: &Site,
    attempt: &Attempt,
    request: &IdTokenLoginRequest,
) -> Result<Response, ApiError> {
    let Some(settings) = site
        .settings
        .id_token_login
        .as_ref()
        .filter(|s| s.configured().is_some())
    else {
        state.metrics.login("id_token_not_configured");
        return Err(CODES.not_configured());
    };
    let nonce = request.nonce.as_deref().filter(|n| !n.is_empty());
    if nonce.is_some_and(|n| n.chars().count() > MAX_NONCE_CHARS) {
        return Err(ApiError::bad_request(
            "invalid_request",
            "nonce must be at most 1024 characters",
        ));
    }
    let verified = verify::verify(
        &state.id_token,
        site.site_id,
        settings,
        &request.id_token,
        nonce,
        state.now(),
    )
    .await;
    match verified {
        Ok(token) => {
            CODES
                .sign_in_once(
                    state,
                    attempt,
                    &token.replay_key,
                    token.remember_until,
                    token.profile,
                )
                .await
        }
        Err(Failure::Invalid(refusal)) => Err(CODES.refuse(state, attempt, &refusal).await),
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
    }
}
